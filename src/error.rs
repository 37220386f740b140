//! The library's one error type. Every failure a user can cause (a bad shape, a wrong dtype, a tensor too
//! large for the GPU, a missing or corrupt file) is a value of [`Error`] that names the op and the shapes
//! involved and says what was expected; the library never panics on user input.

use std::path::PathBuf;

/// Everything that can go wrong in davinci.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An op was given operands whose shapes do not fit together or are empty.
    #[error("{op}: {detail}")]
    Shape { op: &'static str, detail: String },

    /// An op was given an operand of a dtype it does not take.
    #[error("{op}: {detail}")]
    DType { op: &'static str, detail: String },

    /// A program referred to a tensor that it does not hold, or was run with the wrong inputs.
    #[error("program: {0}")]
    Program(String),

    /// A tensor (or a chunk of one) is larger than one GPU storage binding allows and could not be split.
    #[error(
        "{op}: {tensor} needs {bytes} bytes in one GPU binding but a binding may hold at most {limit}; \
         {hint}"
    )]
    TooLargeForBinding {
        op: &'static str,
        tensor: String,
        bytes: u64,
        limit: u64,
        hint: &'static str,
    },

    /// No GPU adapter could be found or opened.
    #[error(
        "no GPU adapter: {0}; run with --executor cpu (or install a Vulkan driver, e.g. mesa-vulkan-drivers)"
    )]
    NoAdapter(String),

    /// The GPU device was lost or reported an error while running.
    #[error(
        "GPU device error: {0}; the results of this run are discarded; retry, or use --executor cpu"
    )]
    Device(String),

    /// The GPU device was lost (a driver reset, a removed GPU, or [`crate::device::GpuContext::destroy`]).
    /// Nothing more runs on that device; the CPU twin gives the same bits.
    #[error(
        "GPU device lost while {0}; the results of this run are discarded; rerun with --executor cpu \
         (the CPU twin gives the same bits), or retry once the GPU is back"
    )]
    DeviceLost(String),

    /// The GPU ran out of memory.
    #[error("GPU out of memory while {0}; use smaller tensors or --executor cpu")]
    OutOfMemory(String),

    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A tensor file is corrupt, holds an unsupported dtype, or lacks a tensor that was asked for.
    #[error("{path}: {detail}")]
    TensorFile { path: PathBuf, detail: String },

    /// An argument outside any op (a CLI option, an executor name) is not valid.
    #[error("{0}")]
    Invalid(String),

    /// A request to a report (an option, a name, a size given by the user) is malformed: the caller's
    /// usage is wrong, not the computation (the CLI exits with 2 for it).
    #[error("{0}")]
    Usage(String),
}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn shape(op: &'static str, detail: impl Into<String>) -> Self {
        Error::Shape {
            op,
            detail: detail.into(),
        }
    }

    pub(crate) fn dtype(op: &'static str, detail: impl Into<String>) -> Self {
        Error::DType {
            op,
            detail: detail.into(),
        }
    }
}
