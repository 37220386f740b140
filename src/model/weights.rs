//! Model weights from safetensors files, memory-mapped: a tensor is converted only when a layer asks for it
//! (f32, bf16 and f16 stored tensors, to the compute dtype). A directory is searched for `model.safetensors`
//! (or the only `*.safetensors` file in it), and its `config.json` is read when present. Errors name the
//! file, the tensor that is missing and the shape that does not match.

use std::path::{Path, PathBuf};

use crate::tensor::safetensors_io::TensorFile;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// An opened weights file.
pub struct Weights {
    file: TensorFile,
    /// A prefix every tensor name carries in this file (e.g. `bert.`), found by [`Weights::detect_prefix`].
    prefix: String,
    /// `config.json` beside the weights, if there is one.
    pub config: Option<serde_json::Value>,
}

impl Weights {
    /// Opens (memory-maps) a safetensors file, or the model file of a directory.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file_path = if path.is_dir() {
            find_model_file(path)?
        } else {
            path.to_path_buf()
        };
        let file = TensorFile::map(&file_path, "weights file")?;
        let dir = file_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let config = read_config(&dir.join("config.json"))?;
        Ok(Weights {
            file,
            prefix: String::new(),
            config,
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Every tensor name in the file.
    pub fn names(&self) -> Vec<String> {
        self.file.names()
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
        self.file.has(&format!("{}{name}", self.prefix))
    }

    /// Tensor `name` converted to `dtype`, checked to have `shape` (if given).
    pub fn get(&self, name: &str, dtype: DType, shape: Option<&[usize]>) -> Result<Tensor> {
        self.file
            .tensor_as(&format!("{}{name}", self.prefix), Some(dtype), shape)
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
