//! Reading and writing tensors in safetensors files, the way real data reaches the emulator: the one reader
//! of the crate, for op inputs ([`TensorFile::open`] reads a file into memory), model weights
//! ([`TensorFile::map`] memory-maps it) and the tests' goldens ([`TensorFile::raw`] for dtypes the emulator
//! does not compute in). BF16, F32, F16, F8_E4M3, F8_E5M2, I8 and I32 tensors keep their dtype; any other
//! dtype, a missing name or a corrupt file is an error that names the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

pub use super::safetensors_check::checked_len;
use super::{DType, Shape, Tensor, TensorData};
use crate::numerics::f32_to_bf16;
use crate::{Error, Result};

/// A file's bytes: read into memory, or mapped (weights of hundreds of MB).
enum Bytes {
    Owned(Vec<u8>),
    Mapped(Mmap),
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

/// A checked safetensors file.
pub struct TensorFile {
    path: PathBuf,
    bytes: Bytes,
}

impl TensorFile {
    /// Reads a safetensors file after checking it ([`checked_len`]: a regular file whose size is exactly
    /// what its header declares) and that it fits in the host's memory. The header is read first, so a
    /// file that is truncated, has trailing bytes or declares absurd sizes is refused before its data is read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let len = checked_len(&path, "tensor file")?;
        let bytes = Bytes::Owned(crate::files::read_bounded(&path, "tensor file", len)?);
        Self::checked(path, bytes)
    }

    /// Memory-maps a safetensors file after the same checks; a tensor is copied out only when asked for.
    pub fn map(path: impl AsRef<Path>, what: &'static str) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        // Before opening: a FIFO would block the open, /dev/zero would map endless zeros.
        checked_len(&path, what)?;
        let io = |action| {
            let path = path.clone();
            move |source| Error::Io {
                action,
                path,
                source,
            }
        };
        let file = std::fs::File::open(&path).map_err(io("cannot open weights file"))?;
        // SAFETY: the map is read-only and lives as long as the TensorFile; a file changed underneath while
        // mapped could give torn values, as with any reader, but never unsafety here (values are copied out).
        let map = unsafe { Mmap::map(&file) }.map_err(io("cannot map weights file"))?;
        Self::checked(path, Bytes::Mapped(map))
    }

    fn checked(path: PathBuf, bytes: Bytes) -> Result<Self> {
        let file = TensorFile { path, bytes };
        file.parsed()?;
        Ok(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parsed(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(self.bytes.as_ref()).map_err(|e| Error::TensorFile {
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

    /// Whether the file holds a tensor `name`.
    pub fn has(&self, name: &str) -> bool {
        self.parsed().is_ok_and(|st| st.tensor(name).is_ok())
    }

    /// The file's `__metadata__` entries.
    pub fn metadata(&self) -> HashMap<String, String> {
        SafeTensors::read_metadata(self.bytes.as_ref())
            .ok()
            .and_then(|(_, m)| m.metadata().clone())
            .unwrap_or_default()
    }

    /// The stored tensor `name`; a missing one is an error that lists what the file holds.
    fn view(&self, name: &str) -> Result<TensorView<'_>> {
        self.parsed()?.tensor(name).map_err(|_| {
            let names = self.names();
            let held = if names.len() <= 16 {
                names.join(", ")
            } else {
                format!("{} tensors", names.len())
            };
            self.bad(format!("no tensor named '{name}' (the file holds: {held})"))
        })
    }

    fn bad(&self, detail: String) -> Error {
        Error::TensorFile {
            path: self.path.clone(),
            detail,
        }
    }

    /// One tensor by name, in its stored dtype.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        self.tensor_as(name, None, None)
    }

    /// Tensor `name` converted to `dtype` (its stored dtype when `None`), checked to have `shape` when
    /// given. bf16 and f16 values widen exactly; only values stored as f32 round (to nearest even) to bf16.
    pub fn tensor_as(
        &self,
        name: &str,
        dtype: Option<DType>,
        shape: Option<&[usize]>,
    ) -> Result<Tensor> {
        let view = self.view(name)?;
        if let Some(want) = shape
            && view.shape() != want
        {
            return Err(self.bad(format!(
                "tensor '{name}' has shape {:?}, but the model expects {want:?}",
                view.shape()
            )));
        }
        // At most twice the stored bytes (f16 to f32), refused up front if that cannot fit (a mapped file
        // may be far larger than memory).
        crate::files::check_host_memory(
            &format!("converting tensor '{name}' of {}", self.path.display()),
            view.data().len() as u128 * 2,
        )?;
        let data = self.decode(name, &view)?;
        let data = match (data, dtype) {
            (d, Some(DType::F32)) if d.dtype() != DType::F32 => {
                TensorData::F32((0..d.len()).map(|i| d.f32_at(i)).collect())
            }
            (d, Some(DType::Bf16)) if d.dtype() != DType::Bf16 => {
                TensorData::Bf16((0..d.len()).map(|i| f32_to_bf16(d.f32_at(i))).collect())
            }
            (d, Some(want)) if d.dtype() != want => {
                return Err(self.bad(format!(
                    "tensor '{name}' is {}; it cannot be read as {want} (cast it in the program)",
                    d.dtype()
                )));
            }
            (d, _) => d,
        };
        Tensor::new(Shape::new(view.shape().to_vec()), data)
            .map_err(|e| self.bad(format!("tensor '{name}': {e}")))
    }

    fn decode(&self, name: &str, view: &TensorView<'_>) -> Result<TensorData> {
        let raw = view.data();
        Ok(match view.dtype() {
            Dtype::BF16 => TensorData::Bf16(
                raw.chunks_exact(2)
                    .map(|c| bf16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            Dtype::F32 => TensorData::F32(
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            Dtype::F16 => TensorData::F16(
                raw.chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            Dtype::F8_E4M3 => TensorData::F8E4M3(raw.to_vec()),
            Dtype::F8_E5M2 => TensorData::F8E5M2(raw.to_vec()),
            Dtype::I8 => TensorData::I8(raw.iter().map(|&b| b as i8).collect()),
            Dtype::I32 => TensorData::I32(
                raw.chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            other => {
                return Err(self.bad(format!(
                    "tensor '{name}' has dtype {other:?}; davinci reads BF16, F32, F16, F8_E4M3, \
                     F8_E5M2, I8 and I32 tensors"
                )));
            }
        })
    }

    /// One tensor's stored dtype (safetensors' name, e.g. `U16`), shape and little-endian bytes, for
    /// dtypes the emulator does not compute in (the goldens' raw bit patterns, token ids).
    pub fn raw(&self, name: &str) -> Result<(String, Vec<usize>, Vec<u8>)> {
        let view = self.view(name)?;
        Ok((
            format!("{:?}", view.dtype()),
            view.shape().to_vec(),
            view.data().to_vec(),
        ))
    }
}

/// Writes named tensors to a safetensors file, with optional `__metadata__`, atomically (a failed write
/// leaves no partial file and an existing file as it was).
pub fn save(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let path = path.as_ref();
    let encoded: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            let (dtype, dims, bytes) = encode(t);
            (name.to_string(), dtype, dims, bytes)
        })
        .collect();
    save_raw(path, &encoded, metadata)
}

/// A tensor as safetensors stores it: its dtype, shape and little-endian element bytes.
pub fn encode(t: &Tensor) -> (Dtype, Vec<usize>, Vec<u8>) {
    let dtype = match t.dtype() {
        DType::Bf16 => Dtype::BF16,
        DType::F32 => Dtype::F32,
        DType::F16 => Dtype::F16,
        DType::F8E4M3 => Dtype::F8_E4M3,
        DType::F8E5M2 => Dtype::F8_E5M2,
        DType::I8 => Dtype::I8,
        DType::I32 => Dtype::I32,
    };
    let size = t.dtype().size();
    let bytes: Vec<u8> = (0..t.numel())
        .flat_map(|i| t.data().bits_at(i).to_le_bytes().into_iter().take(size))
        .collect();
    (dtype, t.shape().dims().to_vec(), bytes)
}

/// Writes tensors given as safetensors dtype, shape and little-endian bytes (for dtypes the emulator
/// does not compute in, such as int64 token ids), atomically as [`save`] does.
pub fn save_raw(
    path: &Path,
    encoded: &[(String, Dtype, Vec<usize>, Vec<u8>)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
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
    crate::files::write_atomic(path, &bytes, "tensor file")
}
