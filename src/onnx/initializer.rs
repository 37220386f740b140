//! An ONNX `TensorProto` (an initializer, or a `Constant` node's value) decoded into host data: floats
//! and narrow integers as a davinci [`Tensor`], int64 and bool (shapes, axes, token ids, masks) as host
//! integers for the importer's shape folding and gathers. The data may be in `raw_data` (little-endian,
//! the usual case for PyTorch exports), in the typed fields (`float_data`, `int32_data` for every type of
//! 32 bits or fewer, `int64_data`), or in an external file beside the model (`location`, `offset`,
//! `length`), which must stay inside the model's folder.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use half::{bf16, f16};

use super::proto::TensorProto;
use super::proto::tensor_proto::{DataLocation, DataType};
use crate::files::{check_host_memory, regular_file_len};
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

/// A decoded tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Initializer {
    /// f32, f16, bf16, fp8 (e4m3fn, e5m2), int8 or int32 data.
    Tensor(Tensor),
    /// int64 data, or bool as 0 and 1 (`bool` says which).
    Int64 {
        dims: Vec<usize>,
        values: Vec<i64>,
        bool: bool,
    },
}

impl From<Tensor> for Initializer {
    fn from(t: Tensor) -> Self {
        Initializer::Tensor(t)
    }
}

impl Initializer {
    pub fn dims(&self) -> &[usize] {
        match self {
            Initializer::Tensor(t) => t.shape().dims(),
            Initializer::Int64 { dims, .. } => dims,
        }
    }

    /// The ONNX type name: `float`, `float16`, `bfloat16`, `float8e4m3fn`, `float8e5m2`, `int8`,
    /// `int32`, `int64` or `bool`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Initializer::Tensor(t) => onnx_name(t.dtype()),
            Initializer::Int64 { bool: true, .. } => "bool",
            Initializer::Int64 { .. } => "int64",
        }
    }
}

/// The ONNX name of a davinci dtype.
pub fn onnx_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float",
        DType::F16 => "float16",
        DType::Bf16 => "bfloat16",
        DType::F8E4M3 => "float8e4m3fn",
        DType::F8E5M2 => "float8e5m2",
        DType::I8 => "int8",
        DType::I32 => "int32",
    }
}

/// The name of an ONNX element type code, for messages (`type 11` where the code is unknown).
pub fn type_code_name(code: i32) -> String {
    DataType::try_from(code).map_or_else(
        |_| format!("type {code}"),
        |t| t.as_str_name().to_lowercase(),
    )
}

/// Bytes per element of an ONNX element type code (0 for strings and the sub-byte and unknown types).
pub fn elem_bytes(code: i32) -> usize {
    match DataType::try_from(code) {
        Ok(DataType::Float | DataType::Int32 | DataType::Uint32) => 4,
        Ok(DataType::Int64 | DataType::Double | DataType::Uint64 | DataType::Complex64) => 8,
        Ok(DataType::Float16 | DataType::Bfloat16 | DataType::Int16 | DataType::Uint16) => 2,
        Ok(
            DataType::Int8
            | DataType::Uint8
            | DataType::Bool
            | DataType::Float8e4m3fn
            | DataType::Float8e4m3fnuz
            | DataType::Float8e5m2
            | DataType::Float8e5m2fnuz,
        ) => 1,
        Ok(DataType::Complex128) => 16,
        _ => 0,
    }
}

/// Decodes `t`; external data is read relative to `dir`.
pub fn decode(t: &TensorProto, dir: &Path) -> Result<Initializer> {
    let name = t.name.as_deref().unwrap_or("(unnamed)");
    let bad = |why: String| Error::Invalid(format!("ONNX tensor '{name}': {why}"));
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("dimension {d} is negative"))))
        .collect::<Result<_>>()?;
    let numel = Shape::new(dims.clone())
        .checked_numel()
        .ok_or_else(|| bad(format!("dimensions {dims:?} overflow")))?;
    let code = t.data_type.unwrap_or(0);
    let dtype = match DataType::try_from(code) {
        Ok(DataType::Float) => Some(DType::F32),
        Ok(DataType::Float16) => Some(DType::F16),
        Ok(DataType::Bfloat16) => Some(DType::Bf16),
        Ok(DataType::Float8e4m3fn) => Some(DType::F8E4M3),
        Ok(DataType::Float8e5m2) => Some(DType::F8E5M2),
        Ok(DataType::Int8) => Some(DType::I8),
        Ok(DataType::Int32) => Some(DType::I32),
        Ok(DataType::Int64 | DataType::Bool) => None,
        _ => {
            return Err(bad(format!(
                "element type {} is not supported (float, float16, bfloat16, float8e4m3fn, float8e5m2, \
                 int8, int32, int64 and bool are)",
                type_code_name(code)
            )));
        }
    };
    let is_bool = code == DataType::Bool as i32;
    let bytes = numel
        .checked_mul(elem_bytes(code))
        .ok_or_else(|| bad(format!("{numel} elements overflow")))?;
    check_host_memory("an ONNX initializer", 2 * bytes as u128)?;
    let external = t.data_location == Some(DataLocation::External as i32);
    let raw = if external {
        Some(read_external(t, dir, bytes).map_err(|e| bad(e.to_string()))?)
    } else {
        t.raw_data.clone()
    };
    if let Some(raw) = raw {
        if raw.len() != bytes {
            return Err(bad(format!(
                "holds {} bytes of data, but {dims:?} of {} needs {bytes}",
                raw.len(),
                type_code_name(code)
            )));
        }
        return Ok(from_raw(dtype, is_bool, dims, &raw));
    }
    // The typed fields: int32_data carries every type of 32 bits or fewer, one element per entry.
    let count = |n: usize| {
        if n == numel {
            Ok(())
        } else {
            Err(bad(format!("holds {n} elements, but {dims:?} has {numel}")))
        }
    };
    let shape = Shape::new(dims.clone());
    let data = match dtype {
        Some(DType::F32) => {
            count(t.float_data.len())?;
            TensorData::F32(t.float_data.clone())
        }
        Some(d) => {
            count(t.int32_data.len())?;
            TensorData::from_bits(d, t.int32_data.iter().map(|&v| v as u32))
        }
        None if is_bool => {
            count(t.int32_data.len())?;
            let values = t.int32_data.iter().map(|&v| i64::from(v != 0)).collect();
            return Ok(Initializer::Int64 {
                dims,
                values,
                bool: true,
            });
        }
        None => {
            count(t.int64_data.len())?;
            let values = t.int64_data.clone();
            return Ok(Initializer::Int64 {
                dims,
                values,
                bool: false,
            });
        }
    };
    Ok(Initializer::Tensor(Tensor::new(shape, data)?))
}

/// Little-endian bytes (of the right length) as the tensor.
fn from_raw(dtype: Option<DType>, is_bool: bool, dims: Vec<usize>, raw: &[u8]) -> Initializer {
    let shape = Shape::new(dims.clone());
    let data = match dtype {
        Some(DType::F32) => TensorData::F32(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        Some(DType::F16) => TensorData::F16(
            raw.chunks_exact(2)
                .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        ),
        Some(DType::Bf16) => TensorData::Bf16(
            raw.chunks_exact(2)
                .map(|c| bf16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        ),
        Some(DType::I32) => TensorData::I32(
            raw.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        Some(d) => TensorData::from_bits(d, raw.iter().map(|&b| b as u32)),
        None if is_bool => {
            let values = raw.iter().map(|&b| i64::from(b != 0)).collect();
            return Initializer::Int64 {
                dims,
                values,
                bool: true,
            };
        }
        None => {
            let values = raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            return Initializer::Int64 {
                dims,
                values,
                bool: false,
            };
        }
    };
    Initializer::Tensor(Tensor::new(shape, data).expect("the length was checked"))
}

/// Reads `bytes` bytes of `t`'s external data: `location` (relative, inside `dir`), from `offset`, and
/// `length` if given (it must equal `bytes`).
fn read_external(t: &TensorProto, dir: &Path, bytes: usize) -> Result<Vec<u8>> {
    let entry = |key: &str| {
        t.external_data
            .iter()
            .find(|e| e.key.as_deref() == Some(key))
            .and_then(|e| e.value.clone())
    };
    let location = entry("location")
        .ok_or_else(|| Error::Invalid("external data without a 'location'".to_string()))?;
    let rel = Path::new(&location);
    // An external path may not leave the model's folder (no absolute paths, no '..').
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(Error::Invalid(format!(
            "external data location '{location}' must be a relative path inside the model's folder"
        )));
    }
    let number = |key: &str| -> Result<Option<u64>> {
        entry(key)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    Error::Invalid(format!("external data {key} '{v}' is not a byte count"))
                })
            })
            .transpose()
    };
    let offset = number("offset")?.unwrap_or(0);
    if let Some(length) = number("length")?
        && length != bytes as u64
    {
        return Err(Error::Invalid(format!(
            "external data length {length} but the tensor needs {bytes} bytes"
        )));
    }
    let path = dir.join(rel);
    let len = regular_file_len(&path, "ONNX external data file")?;
    if offset.checked_add(bytes as u64).is_none_or(|end| end > len) {
        return Err(Error::Invalid(format!(
            "external data {}: bytes {offset}..{} are past its end ({len} bytes)",
            path.display(),
            offset.saturating_add(bytes as u64)
        )));
    }
    let io = |source| Error::Io {
        action: "cannot read the ONNX external data file",
        path: path.clone(),
        source,
    };
    let mut f = std::fs::File::open(&path).map_err(io)?;
    f.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut buf = vec![0u8; bytes];
    f.read_exact(&mut buf).map_err(io)?;
    Ok(buf)
}
