//! safetensors files from Python, through the library's reader and writer (checked headers, bounded
//! reads, atomic writes): the same files `davinci op --in/--out` reads and writes.

use std::path::PathBuf;

use davinci::tensor::safetensors_io::{TensorFile, save as save_file};
use pyo3::prelude::*;

use crate::arrays;
use crate::errors::{guard, to_py};

/// Every tensor of a safetensors file as (name, array, dtype tag), in the file's order.
#[pyfunction]
pub fn load(py: Python<'_>, path: PathBuf) -> PyResult<Vec<(String, Py<PyAny>, &'static str)>> {
    let tensors = py.detach(|| {
        guard(|| {
            let f = TensorFile::open(&path)?;
            f.names()
                .into_iter()
                .map(|n| f.tensor(&n).map(|t| (n, t)))
                .collect::<davinci::Result<Vec<_>>>()
        })
    })?;
    tensors
        .into_iter()
        .map(|(n, t)| arrays::to_numpy(py, t).map(|(a, tag)| (n, a, tag)))
        .collect()
}

/// Writes (name, array, dtype tag) tensors to `path` atomically.
#[pyfunction]
pub fn save(
    py: Python<'_>,
    path: PathBuf,
    tensors: Vec<(String, Bound<'_, PyAny>, String)>,
) -> PyResult<()> {
    let owned = tensors
        .iter()
        .map(|(n, a, tag)| arrays::to_tensor(a, tag, n).map(|t| (n.clone(), t)))
        .collect::<PyResult<Vec<_>>>()?;
    py.detach(|| {
        let refs: Vec<(&str, &davinci::Tensor)> =
            owned.iter().map(|(n, t)| (n.as_str(), t)).collect();
        save_file(&path, &refs, None)
    })
    .map_err(to_py)
}
