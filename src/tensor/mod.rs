//! Tensors on the host: a shape, a dtype and row-major storage. bf16 values are held as `half::bf16`
//! (raw u16 bits); the device layer packs them two per u32 on upload.

pub mod random;
mod safetensors_check;
pub mod safetensors_io;

use std::fmt;
use std::str::FromStr;

use half::{bf16, f16};

use crate::numerics::{bf16_to_f32, f32_to_bf16};
use crate::{Error, Result};

/// Element types the emulator computes with. The Vector unit's ops take bf16 and f32; the others enter
/// and leave through casts (`Program::cast`) and the Cube's formats (`CubeFormat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    Bf16,
    F32,
    /// IEEE binary16.
    F16,
    /// OCP fp8 e4m3 (finite: no infinities, NaN 0x7f/0xff).
    F8E4M3,
    /// OCP fp8 e5m2.
    F8E5M2,
    I8,
    I32,
}

impl DType {
    pub const ALL: [DType; 7] = [
        DType::Bf16,
        DType::F32,
        DType::F16,
        DType::F8E4M3,
        DType::F8E5M2,
        DType::I8,
        DType::I32,
    ];

    /// Bytes per element in host memory and in files.
    pub fn size(self) -> usize {
        match self {
            DType::Bf16 | DType::F16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::F8E4M3 | DType::F8E5M2 | DType::I8 => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::Bf16 => "bf16",
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::F8E4M3 => "f8_e4m3",
            DType::F8E5M2 => "f8_e5m2",
            DType::I8 => "i8",
            DType::I32 => "i32",
        }
    }

    /// Whether the Vector unit's ops (elementwise, reductions, norms) and the data moves take it: bf16
    /// and f32. Tensors of the other dtypes are cast first.
    pub fn is_vector(self) -> bool {
        matches!(self, DType::Bf16 | DType::F32)
    }

    /// The narrow float format of a dtype, for the conversions of `numerics::formats`.
    pub fn minifloat(self) -> Option<crate::numerics::formats::MiniFloat> {
        use crate::numerics::formats::{BF16, E4M3, E5M2, FP16};
        match self {
            DType::Bf16 => Some(BF16),
            DType::F16 => Some(FP16),
            DType::F8E4M3 => Some(E4M3),
            DType::F8E5M2 => Some(E5M2),
            DType::F32 | DType::I8 | DType::I32 => None,
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
        let d = match s.to_ascii_lowercase().as_str() {
            "bf16" => DType::Bf16,
            "f32" | "fp32" => DType::F32,
            "f16" | "fp16" => DType::F16,
            "f8_e4m3" | "fp8_e4m3" | "e4m3" => DType::F8E4M3,
            "f8_e5m2" | "fp8_e5m2" | "e5m2" => DType::F8E5M2,
            "i8" | "int8" => DType::I8,
            "i32" | "int32" => DType::I32,
            _ => {
                return Err(Error::Invalid(format!(
                    "unknown dtype '{s}': expected one of bf16, f32, f16, f8_e4m3, f8_e5m2, i8, i32"
                )));
            }
        };
        Ok(d)
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
    F16(Vec<f16>),
    /// Raw e4m3 codes.
    F8E4M3(Vec<u8>),
    /// Raw e5m2 codes.
    F8E5M2(Vec<u8>),
    I8(Vec<i8>),
    I32(Vec<i32>),
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::Bf16(v) => v.len(),
            TensorData::F32(v) => v.len(),
            TensorData::F16(v) => v.len(),
            TensorData::F8E4M3(v) | TensorData::F8E5M2(v) => v.len(),
            TensorData::I8(v) => v.len(),
            TensorData::I32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dtype(&self) -> DType {
        match self {
            TensorData::Bf16(_) => DType::Bf16,
            TensorData::F32(_) => DType::F32,
            TensorData::F16(_) => DType::F16,
            TensorData::F8E4M3(_) => DType::F8E4M3,
            TensorData::F8E5M2(_) => DType::F8E5M2,
            TensorData::I8(_) => DType::I8,
            TensorData::I32(_) => DType::I32,
        }
    }

    /// The raw bit pattern of element `i`, widened to u32 (integers as their two's-complement bits).
    pub fn bits_at(&self, i: usize) -> u32 {
        match self {
            TensorData::Bf16(v) => v[i].to_bits() as u32,
            TensorData::F32(v) => v[i].to_bits(),
            TensorData::F16(v) => v[i].to_bits() as u32,
            TensorData::F8E4M3(v) | TensorData::F8E5M2(v) => v[i] as u32,
            TensorData::I8(v) => v[i] as u8 as u32,
            TensorData::I32(v) => v[i] as u32,
        }
    }

    /// Element `i` as f32: exact for every float dtype and for int8; int32 rounds to nearest even.
    pub fn f32_at(&self, i: usize) -> f32 {
        use crate::numerics::formats;
        match self {
            TensorData::F32(v) => v[i],
            TensorData::Bf16(v) => bf16_to_f32(v[i]),
            TensorData::I8(v) => v[i] as f32,
            TensorData::I32(v) => f32::from_bits(formats::i32_to_f32_bits(v[i])),
            other => {
                let f = other.dtype().minifloat().expect("a float dtype");
                f32::from_bits(f.decode(other.bits_at(i)))
            }
        }
    }

    /// A tensor's data from raw element bits (as [`TensorData::bits_at`] gives them).
    pub fn from_bits(dtype: DType, bits: impl Iterator<Item = u32>) -> TensorData {
        match dtype {
            DType::Bf16 => TensorData::Bf16(bits.map(|b| bf16::from_bits(b as u16)).collect()),
            DType::F32 => TensorData::F32(bits.map(f32::from_bits).collect()),
            DType::F16 => TensorData::F16(bits.map(|b| f16::from_bits(b as u16)).collect()),
            DType::F8E4M3 => TensorData::F8E4M3(bits.map(|b| b as u8).collect()),
            DType::F8E5M2 => TensorData::F8E5M2(bits.map(|b| b as u8).collect()),
            DType::I8 => TensorData::I8(bits.map(|b| b as u8 as i8).collect()),
            DType::I32 => TensorData::I32(bits.map(|b| b as i32).collect()),
        }
    }
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
        let len = data.len();
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
        self.data.dtype()
    }

    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// The elements, giving up the tensor (no copy).
    pub fn into_data(self) -> TensorData {
        self.data
    }

    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The bf16 elements, if this is a bf16 tensor.
    pub fn as_bf16(&self) -> Option<&[bf16]> {
        match &self.data {
            TensorData::Bf16(v) => Some(v),
            _ => None,
        }
    }

    /// The f32 elements, if this is an f32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// Every element as f32 (exact except for int32 beyond 2^24, which rounds to nearest even).
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match &self.data {
            TensorData::F32(v) => v.clone(),
            TensorData::Bf16(v) => v.iter().map(|&x| bf16_to_f32(x)).collect(),
            d => (0..d.len()).map(|i| d.f32_at(i)).collect(),
        }
    }

    /// This tensor in bf16: f32 elements are rounded to nearest even, bf16 ones are kept.
    pub fn to_bf16(&self) -> Tensor {
        let data = match &self.data {
            TensorData::Bf16(v) => v.clone(),
            TensorData::F32(v) => v.iter().map(|&x| f32_to_bf16(x)).collect(),
            d => (0..d.len()).map(|i| f32_to_bf16(d.f32_at(i))).collect(),
        };
        Tensor {
            shape: self.shape.clone(),
            data: TensorData::Bf16(data),
        }
    }

    /// The raw bit patterns, widened to u32, for exact comparisons (NaN payloads included).
    pub fn bits(&self) -> Vec<u32> {
        (0..self.data.len()).map(|i| self.data.bits_at(i)).collect()
    }

    /// Whether two tensors have the same shape, dtype and bits in every element.
    pub fn bit_eq(&self, other: &Tensor) -> bool {
        self.shape == other.shape && self.dtype() == other.dtype() && self.bits() == other.bits()
    }
}
