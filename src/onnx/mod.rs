//! ONNX import, the way CANN's ATC takes framework graphs. This first part reads a model: the protobuf
//! file (parsed by `prost` with types generated from the official `onnx.proto`, [`proto`]: no protobuf
//! code written by hand), its opset, its graph's inputs and outputs with their symbolic dimensions, its
//! initializers (f32, f16, bf16, int8, int32, int64; inline or in external data files, [`initializer`])
//! and the op histogram ([`info`]); [`lower`] turns the graph into a recorded `Program` for given
//! inputs, binding dynamic dimensions and folding shape subgraphs on the host ([`fold`]).
//!
//! Why prost: it is the protobuf runtime the Rust ecosystem maintains (tokio's), and its message types
//! are generated once from `proto/onnx.proto` by `tools/onnx-codegen` (protox, a protobuf compiler in
//! Rust), so neither `protoc` nor a build script is needed. onnx-ir, the other candidate, brings in
//! burn's tensor crates and its own IR, far more than a reader needs.

pub mod attrs;
pub mod conformance;
pub mod fold;
pub mod fold_ops;
pub mod fuse;
mod fuse_patterns;
pub mod info;
pub mod initializer;
pub mod io;
pub mod lower;
mod lower_axes;
mod lower_fused;
mod lower_inputs;
mod lower_matmul;
mod lower_ops;
mod lower_shape;
mod mixlist;
#[rustfmt::skip]
pub mod proto;

use std::path::{Path, PathBuf};

use prost::Message;

pub use attrs::Precision;
pub use info::{Dim, ModelInfo, ValueInfo};
pub use initializer::Initializer;
pub use lower::{Lowered, lower};

use crate::files::{check_host_memory, read_bounded, regular_file_len};
use crate::{Error, Result};

/// A protobuf message is at most 2 GiB; larger models keep their weights in external data files.
pub const MAX_MODEL_FILE: u64 = 2 << 30;

/// The opsets this importer takes: written against PyTorch's exports of the last years (13-21), and
/// the older ones (6-12) with their own forms of the ops that changed since (Softmax and LogSoftmax
/// over a flattened 2-D view, Clip's and Slice's bounds as attributes, Split's sizes as an attribute,
/// the `broadcast`/`axis` attributes of opset 6's arithmetic), as ONNX's own backend tests use them.
pub const OPSETS: std::ops::RangeInclusive<i64> = 6..=21;

/// An ONNX model read from a file.
pub struct OnnxModel {
    path: PathBuf,
    proto: proto::ModelProto,
}

impl OnnxModel {
    /// Reads and decodes `path` (a regular file of at most 2 GiB); a truncated or corrupt file, one that
    /// is no ONNX model, or one without a graph is an error that names the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let len = regular_file_len(path, "ONNX model")?;
        if len > MAX_MODEL_FILE {
            return Err(Error::Invalid(format!(
                "{}: {len} bytes, more than a protobuf message may hold (2 GiB); a model this large keeps \
                 its weights in external data files beside a small .onnx",
                path.display()
            )));
        }
        check_host_memory("reading an ONNX model", 2 * len as u128)?;
        let bytes = read_bounded(path, "ONNX model", MAX_MODEL_FILE)?;
        Self::decode(&bytes, path.to_path_buf())
    }

    /// Decodes a model from bytes already in memory (`what` names it in errors; external data is
    /// looked for beside it).
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<Self> {
        Self::decode(bytes, PathBuf::from(what))
    }

    fn decode(bytes: &[u8], path: PathBuf) -> Result<Self> {
        let proto = proto::ModelProto::decode(bytes).map_err(|e| {
            Error::Invalid(format!(
                "{}: not a readable ONNX model ({e}); the file may be truncated or not an .onnx file",
                path.display()
            ))
        })?;
        if proto.graph.is_none() {
            return Err(Error::Invalid(format!(
                "{}: decodes as protobuf but holds no graph; is it an ONNX model?",
                path.display()
            )));
        }
        Ok(OnnxModel { path, proto })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The protobuf message, for what this module does not wrap.
    pub fn proto(&self) -> &proto::ModelProto {
        &self.proto
    }

    pub fn graph(&self) -> &proto::GraphProto {
        self.proto.graph.as_ref().expect("checked when opened")
    }

    /// The version of the default operator set (domain "" or "ai.onnx"), if the model imports it.
    pub fn opset(&self) -> Option<i64> {
        self.proto
            .opset_import
            .iter()
            .find(|o| matches!(o.domain.as_deref(), None | Some("") | Some("ai.onnx")))
            .and_then(|o| o.version)
    }

    /// The folder external data paths are relative to.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The initializer `name`, decoded.
    pub fn initializer(&self, name: &str) -> Result<Initializer> {
        let t = self
            .graph()
            .initializer
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: no initializer named '{name}'",
                    self.path.display()
                ))
            })?;
        initializer::decode(t, &self.base_dir())
    }

    /// Every initializer, decoded, in the graph's order.
    pub fn initializers(&self) -> Result<Vec<(String, Initializer)>> {
        let dir = self.base_dir();
        self.graph()
            .initializer
            .iter()
            .map(|t| {
                Ok((
                    t.name.clone().unwrap_or_default(),
                    initializer::decode(t, &dir)?,
                ))
            })
            .collect()
    }

    /// What the model holds (inputs, outputs, opset, op histogram).
    pub fn info(&self) -> ModelInfo {
        info::describe(self)
    }
}

/// Encodes a model (for tests and tools that build graphs with the [`proto`] types).
pub fn encode(model: &proto::ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}
