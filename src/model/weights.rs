//! Model weights from safetensors files, memory-mapped: a tensor is converted only when a layer asks for it
//! (f32, bf16 and f16 stored tensors, to the compute dtype). A directory is searched for `model.safetensors`
//! (or the only `*.safetensors` file in it), and its `config.json` is read when present. Errors name the
//! file, the tensor that is missing and the shape that does not match.

use std::fs::File;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use memmap2::Mmap;
use safetensors::{Dtype, SafeTensors};

use crate::numerics::f32_to_bf16;
use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// An opened weights file.
pub struct Weights {
    path: PathBuf,
    map: Mmap,
    /// A prefix every tensor name carries in this file (e.g. `bert.`), found by [`Weights::detect_prefix`].
    prefix: String,
    /// `config.json` beside the weights, if there is one.
    pub config: Option<serde_json::Value>,
}

impl Weights {
    /// Opens a safetensors file, or the model file of a directory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file_path = if path.is_dir() {
            find_model_file(path)?
        } else {
            path.to_path_buf()
        };
        // Before opening: a FIFO would block the open, /dev/zero would map endless zeros.
        crate::tensor::safetensors_io::checked_len(&file_path, "weights file")?;
        let file = File::open(&file_path).map_err(|source| Error::Io {
            action: "cannot open weights file",
            path: file_path.clone(),
            source,
        })?;
        // SAFETY: the map is read-only and lives as long as `Weights`; a file changed underneath while mapped
        // could give torn values, as with any reader, but never unsafety in this code (we copy out of it).
        let map = unsafe { Mmap::map(&file) }.map_err(|source| Error::Io {
            action: "cannot map weights file",
            path: file_path.clone(),
            source,
        })?;
        SafeTensors::deserialize(&map).map_err(|e| Error::TensorFile {
            path: file_path.clone(),
            detail: format!("not a valid safetensors file, or truncated ({e})"),
        })?;
        let dir = file_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let config = read_config(&dir.join("config.json"))?;
        Ok(Weights {
            path: file_path,
            map,
            prefix: String::new(),
            config,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parsed(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.map).map_err(|e| Error::TensorFile {
            path: self.path.clone(),
            detail: format!("not a valid safetensors file ({e})"),
        })
    }

    /// Every tensor name in the file.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .parsed()
            .map(|st| st.names().into_iter().map(str::to_string).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Uses `prefix` if the file holds `prefix + probe` but not `probe` (e.g. `bert.` in a BertModel
    /// saved inside another model).
    pub fn detect_prefix(&mut self, probe: &str, candidates: &[&str]) {
        let names = self.names();
        if names.iter().any(|n| n == probe) {
            return;
        }
        if let Some(p) = candidates
            .iter()
            .find(|p| names.iter().any(|n| *n == format!("{p}{probe}")))
        {
            self.prefix = p.to_string();
        }
    }

    /// Whether the file holds `name`.
    pub fn has(&self, name: &str) -> bool {
        let full = format!("{}{name}", self.prefix);
        self.parsed()
            .map(|st| st.tensor(&full).is_ok())
            .unwrap_or(false)
    }

    /// Tensor `name` converted to `dtype`, checked to have `shape` (if given).
    pub fn get(&self, name: &str, dtype: DType, shape: Option<&[usize]>) -> Result<Tensor> {
        let full = format!("{}{name}", self.prefix);
        let st = self.parsed()?;
        let view = st.tensor(&full).map_err(|_| Error::TensorFile {
            path: self.path.clone(),
            detail: format!(
                "the weights lack tensor '{full}' (the file holds {} tensors)",
                st.len()
            ),
        })?;
        if let Some(want) = shape
            && view.shape() != want
        {
            return Err(Error::TensorFile {
                path: self.path.clone(),
                detail: format!(
                    "tensor '{full}' has shape {:?}, but the model expects {want:?}",
                    view.shape()
                ),
            });
        }
        let bytes = view.data();
        // Converted to f32 first: up to twice the stored bytes (bf16, f16), refused up front if that
        // cannot fit (a mapped file may be far larger than memory).
        crate::files::check_host_memory(
            &format!("converting tensor '{full}' of {}", self.path.display()),
            bytes.len() as u128 * 2,
        )?;
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::TensorFile {
                    path: self.path.clone(),
                    detail: format!(
                        "tensor '{full}' is {other:?}; weights must be F32, BF16 or F16"
                    ),
                });
            }
        };
        let shape = Shape::new(view.shape().to_vec());
        match dtype {
            DType::F32 => Tensor::from_f32(shape, values),
            // bf16 and f16 values widen exactly, so this rounds only what was stored as f32.
            DType::Bf16 => {
                Tensor::from_bf16(shape, values.iter().map(|&v| f32_to_bf16(v)).collect())
            }
        }
    }
}

/// `model.safetensors` in `dir`, or its only `.safetensors` file.
fn find_model_file(dir: &Path) -> Result<PathBuf> {
    let preferred = dir.join("model.safetensors");
    if preferred.is_file() {
        return Ok(preferred);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        action: "cannot list weights directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    match files.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Invalid(format!(
            "{} holds no .safetensors file; point --weights at the model's folder or its model.safetensors",
            dir.display()
        ))),
        _ => Err(Error::Invalid(format!(
            "{} holds several .safetensors files and no model.safetensors; name the file with --weights",
            dir.display()
        ))),
    }
}

fn read_config(path: &Path) -> Result<Option<serde_json::Value>> {
    // A config.json that exists but is no regular file (a FIFO, a folder) is refused, not skipped.
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let text = crate::files::read_text_bounded(path, "config.json", crate::files::MAX_TEXT_FILE)?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::TensorFile {
            path: path.to_path_buf(),
            detail: format!("not valid JSON ({e})"),
        })
}
