//! Tensors on the host: a shape, a dtype and row-major storage. bf16 values are held as `half::bf16`
//! (raw u16 bits); the device layer packs them two per u32 on upload.

pub mod random;
mod safetensors_check;
pub mod safetensors_io;

use std::fmt;
use std::str::FromStr;

use half::bf16;

use crate::numerics::{bf16_to_f32, f32_to_bf16};
use crate::{Error, Result};

/// Element types the emulator computes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    Bf16,
    F32,
}

impl DType {
    /// Bytes per element in host memory and in files.
    pub fn size(self) -> usize {
        match self {
            DType::Bf16 => 2,
            DType::F32 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::Bf16 => "bf16",
            DType::F32 => "f32",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bf16" => Ok(DType::Bf16),
            "f32" => Ok(DType::F32),
            _ => Err(Error::Invalid(format!(
                "unknown dtype '{s}': expected bf16 or f32"
            ))),
        }
    }
}

/// A row-major shape. Rank 0 (a scalar) is allowed; a zero dimension is representable so that ops can
/// refuse it with a clear message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape(pub Vec<usize>);

impl Shape {
    pub fn new(dims: impl Into<Vec<usize>>) -> Self {
        Shape(dims.into())
    }

    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements; `None` if the product overflows `usize`.
    pub fn checked_numel(&self) -> Option<usize> {
        self.0.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// Number of elements (saturating, for messages and sizes that were already validated).
    pub fn numel(&self) -> usize {
        self.checked_numel().unwrap_or(usize::MAX)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape(d.to_vec())
    }
}

/// Host storage of a tensor's elements.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    Bf16(Vec<bf16>),
    F32(Vec<f32>),
}

/// A host tensor: shape plus row-major elements.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Shape,
    data: TensorData,
}

impl Tensor {
    /// A bf16 tensor; fails if the element count does not match the shape.
    pub fn from_bf16(shape: impl Into<Shape>, values: Vec<bf16>) -> Result<Self> {
        Self::new(shape.into(), TensorData::Bf16(values))
    }

    /// An f32 tensor; fails if the element count does not match the shape.
    pub fn from_f32(shape: impl Into<Shape>, values: Vec<f32>) -> Result<Self> {
        Self::new(shape.into(), TensorData::F32(values))
    }

    pub fn new(shape: Shape, data: TensorData) -> Result<Self> {
        let len = match &data {
            TensorData::Bf16(v) => v.len(),
            TensorData::F32(v) => v.len(),
        };
        if shape.checked_numel() != Some(len) {
            return Err(Error::Invalid(format!(
                "tensor of shape {shape} needs {} elements but {len} were given",
                shape.numel()
            )));
        }
        Ok(Tensor { shape, data })
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn dtype(&self) -> DType {
        match self.data {
            TensorData::Bf16(_) => DType::Bf16,
            TensorData::F32(_) => DType::F32,
        }
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The bf16 elements, if this is a bf16 tensor.
    pub fn as_bf16(&self) -> Option<&[bf16]> {
        match &self.data {
            TensorData::Bf16(v) => Some(v),
            TensorData::F32(_) => None,
        }
    }

    /// The f32 elements, if this is an f32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            TensorData::Bf16(_) => None,
        }
    }

    /// Every element widened to f32 (exact for bf16).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            TensorData::Bf16(v) => v.iter().map(|&x| bf16_to_f32(x)).collect(),
        }
    }

    /// This tensor in bf16: f32 elements are rounded to nearest even, bf16 ones are kept.
    pub fn to_bf16(&self) -> Tensor {
        let data = match &self.data {
            TensorData::Bf16(v) => v.clone(),
            TensorData::F32(v) => v.iter().map(|&x| f32_to_bf16(x)).collect(),
        };
        Tensor {
            shape: self.shape.clone(),
            data: TensorData::Bf16(data),
        }
    }

    /// The raw bit patterns, widened to u32, for exact comparisons (NaN payloads included).
    pub fn bits(&self) -> Vec<u32> {
        match &self.data {
            TensorData::F32(v) => v.iter().map(|x| x.to_bits()).collect(),
            TensorData::Bf16(v) => v.iter().map(|x| x.to_bits() as u32).collect(),
        }
    }

    /// Whether two tensors have the same shape, dtype and bits in every element.
    pub fn bit_eq(&self, other: &Tensor) -> bool {
        self.shape == other.shape && self.dtype() == other.dtype() && self.bits() == other.bits()
    }
}
