//! The library's errors as Python exceptions: `davinci.DavinciError` and one subclass per kind (shape,
//! dtype, device, file, program, usage), each carrying the library's own message. A panic inside the
//! library (a bug: it never panics on user input) is caught here and raised as `DavinciError` too, so
//! none crosses into Python as pyo3's `PanicException`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use davinci::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    davinci,
    DavinciError,
    PyException,
    "Every error davinci raises; the message is the library's own."
);
create_exception!(
    davinci,
    ShapeError,
    DavinciError,
    "Operands whose shapes do not fit the op, empty tensors, or arrays whose layout is not C-contiguous."
);
create_exception!(
    davinci,
    DTypeError,
    DavinciError,
    "An operand of a dtype the op does not take."
);
create_exception!(
    davinci,
    DeviceError,
    DavinciError,
    "No GPU adapter, a lost device, GPU memory exhausted, or a tensor too large for one GPU binding."
);
create_exception!(
    davinci,
    FileError,
    DavinciError,
    "A file that cannot be read or written, or a corrupt tensor file."
);
create_exception!(
    davinci,
    ProgramError,
    DavinciError,
    "A program run with the wrong inputs, or a tensor id the program does not hold."
);
create_exception!(
    davinci,
    UsageError,
    DavinciError,
    "An argument outside any op: an unknown name, a value out of range."
);

/// The Python exception for a library error.
pub fn to_py(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::Shape { .. } => ShapeError::new_err(msg),
        Error::DType { .. } => DTypeError::new_err(msg),
        Error::TooLargeForBinding { .. }
        | Error::NoAdapter(_)
        | Error::Device(_)
        | Error::DeviceLost(_)
        | Error::OutOfMemory(_) => DeviceError::new_err(msg),
        Error::Io { .. } | Error::TensorFile { .. } => FileError::new_err(msg),
        Error::Program(_) => ProgramError::new_err(msg),
        Error::Invalid(_) | Error::Usage(_) => UsageError::new_err(msg),
    }
}

/// A `UsageError` with `msg`.
pub fn usage(msg: impl Into<String>) -> PyErr {
    UsageError::new_err(msg.into())
}

/// Runs `f`, turning a library error into its exception and a panic into `DavinciError`.
pub fn guard<T>(f: impl FnOnce() -> davinci::Result<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_py),
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(DavinciError::new_err(format!(
                "internal error in davinci (a bug; please report it): {what}"
            )))
        }
    }
}

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("DavinciError", py.get_type::<DavinciError>())?;
    m.add("ShapeError", py.get_type::<ShapeError>())?;
    m.add("DTypeError", py.get_type::<DTypeError>())?;
    m.add("DeviceError", py.get_type::<DeviceError>())?;
    m.add("FileError", py.get_type::<FileError>())?;
    m.add("ProgramError", py.get_type::<ProgramError>())?;
    m.add("UsageError", py.get_type::<UsageError>())?;
    Ok(())
}
