//! Reading and writing tensors in safetensors files, the way real data reaches the emulator. bf16 and f32
//! tensors are read; any other dtype, a missing name or a corrupt file is an error that names the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use half::bf16;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::{Shape, Tensor, TensorData};
use crate::{Error, Result};

/// A safetensors file read into memory.
pub struct TensorFile {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl TensorFile {
    /// Reads and checks the header of a safetensors file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            action: "cannot read tensor file",
            path: path.clone(),
            source,
        })?;
        let file = TensorFile { path, bytes };
        file.parsed()?;
        Ok(file)
    }

    fn parsed(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.bytes).map_err(|e| Error::TensorFile {
            path: self.path.clone(),
            detail: format!("not a valid safetensors file ({e})"),
        })
    }

    /// Names of the tensors in the file, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .parsed()
            .map(|st| st.names().into_iter().map(str::to_string).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The file's `__metadata__` entries.
    pub fn metadata(&self) -> HashMap<String, String> {
        SafeTensors::read_metadata(&self.bytes)
            .ok()
            .and_then(|(_, m)| m.metadata().clone())
            .unwrap_or_default()
    }

    /// One tensor by name, as bf16 or f32.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let st = self.parsed()?;
        let view = st.tensor(name).map_err(|_| Error::TensorFile {
            path: self.path.clone(),
            detail: format!(
                "no tensor named '{name}' (the file holds: {})",
                self.names().join(", ")
            ),
        })?;
        self.convert(name, &view)
    }

    fn convert(&self, name: &str, view: &TensorView<'_>) -> Result<Tensor> {
        let shape = Shape::new(view.shape().to_vec());
        let raw = view.data();
        let data = match view.dtype() {
            Dtype::BF16 => TensorData::Bf16(
                raw.chunks_exact(2)
                    .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                    .collect(),
            ),
            Dtype::F32 => TensorData::F32(
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            other => {
                return Err(Error::TensorFile {
                    path: self.path.clone(),
                    detail: format!(
                        "tensor '{name}' has dtype {other:?}; davinci reads BF16 and F32 tensors"
                    ),
                });
            }
        };
        Tensor::new(shape, data).map_err(|e| Error::TensorFile {
            path: self.path.clone(),
            detail: format!("tensor '{name}': {e}"),
        })
    }
}

/// Writes named tensors to a safetensors file, with optional `__metadata__`.
pub fn save(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let encoded: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            let (dtype, bytes) = match t.data() {
                TensorData::Bf16(v) => (
                    Dtype::BF16,
                    v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
                ),
                TensorData::F32(v) => {
                    (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
                }
            };
            (name.to_string(), dtype, t.shape().dims().to_vec(), bytes)
        })
        .collect();
    let views = encoded
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Invalid(format!("cannot encode tensor '{name}': {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, metadata).map_err(|e| {
        Error::Invalid(format!("cannot encode tensors for {}: {e}", path.display()))
    })?;
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        action: "cannot write tensor file",
        path: path.to_path_buf(),
        source,
    })
}
