//! `davinci._native`: the compiled half of the Python package `davinci` (python/davinci/ is the other).
//! Everything here is a thin layer over the library: numpy arrays in and out ([`arrays`]), the executors
//! with the GIL released ([`executors`]), programs and training tapes ([`program`], [`train`]),
//! predictions ([`predict`]), presets and cluster reports ([`presets`]), and the library's errors as
//! Python exceptions ([`errors`]). The Python package adds the API people call (`davinci.matmul`,
//! `davinci.Program`, ...), its docstrings and type hints.

mod arrays;
mod errors;
mod executors;
mod io;
mod names;
mod predict;
mod presets;
mod program;
mod train;

use pyo3::prelude::*;

/// The executor `executor` runs on here (`gpu` or `cpu`; `both`), opening the GPU if it must.
#[pyfunction]
fn resolve_executor(py: Python<'_>, executor: &str) -> PyResult<&'static str> {
    executors::resolved_name(py, executors::parse(executor)?)
}

/// The GPU adapter's name, or None without one.
#[pyfunction]
fn adapter(py: Python<'_>) -> Option<String> {
    py.detach(executors::context)
        .ok()
        .map(|c| c.description().name.clone())
}

/// Destroys the process's GPU context as a driver reset would; the next GPU call fails with DeviceError
/// and the one after opens a new context. For tests of the lost-device path. Returns whether one was open.
#[pyfunction]
fn _lose_gpu() -> bool {
    executors::lose_gpu()
}

/// Every Vector op as (family, name, description); families `unary`, `binary`, `reduce`, `rows`.
#[pyfunction]
fn vector_ops() -> Vec<(&'static str, &'static str, &'static str)> {
    names::vector_ops()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<program::Recorder>()?;
    m.add_class::<train::NativeTrainer>()?;
    m.add_function(wrap_pyfunction!(resolve_executor, m)?)?;
    m.add_function(wrap_pyfunction!(adapter, m)?)?;
    m.add_function(wrap_pyfunction!(_lose_gpu, m)?)?;
    m.add_function(wrap_pyfunction!(vector_ops, m)?)?;
    m.add_function(wrap_pyfunction!(train::tape_input, m)?)?;
    m.add_function(wrap_pyfunction!(train::tape_param, m)?)?;
    m.add_function(wrap_pyfunction!(train::tape_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(train::tape_compute_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(presets::chips, m)?)?;
    m.add_function(wrap_pyfunction!(presets::clusters, m)?)?;
    m.add_function(wrap_pyfunction!(presets::models, m)?)?;
    m.add_function(wrap_pyfunction!(presets::cluster_step, m)?)?;
    m.add_function(wrap_pyfunction!(presets::compare, m)?)?;
    m.add_function(wrap_pyfunction!(presets::validate, m)?)?;
    m.add_function(wrap_pyfunction!(io::load, m)?)?;
    m.add_function(wrap_pyfunction!(io::save, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
