//! The Cube's data formats: what `cube_matmul` multiplies in, and so how much data each fractal holds,
//! how many multiply-accumulates the Cube does per cycle, and what it accumulates into.
//!
//! A fractal is 16 rows of C0 elements, C0 = 32 bytes / element size (hiascend's NZ layout [O]): 16 for
//! bf16 and fp16, 32 for int8, 8 for fp32 and hf32. The Cube takes one 16 x C0 x 16 step per cycle where the
//! chip's MAC rate allows (`cube_*_macs_per_cycle` of the chip spec).
//!
//! bf16 and the fp32 mode are computed (shader and CPU twin); fp16, int8 and hf32 are timed only, until
//! their numerics exist: an executor refuses them with a clear error.

use std::fmt;
use std::str::FromStr;

use crate::tensor::DType;
use crate::{Error, Result};

/// A format of the Cube's operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CubeFormat {
    /// bf16 x bf16 -> f32 accumulation (16x16x16 per cycle).
    Bf16,
    /// fp16 x fp16 -> f32 accumulation (16x16x16 per cycle).
    Fp16,
    /// int8 x int8 -> int32 accumulation (16x32x16 per cycle), dequantised by FixPipe on the way out.
    Int8,
    /// f32 operands with their mantissa cut to HF32's, products accumulated in f32 (the 910B's HF32 mode).
    Hf32,
    /// The fp32 mode: f32 operands, about a quarter of the bf16 rate.
    Fp32,
}

impl CubeFormat {
    pub const ALL: [CubeFormat; 5] = [
        CubeFormat::Bf16,
        CubeFormat::Fp16,
        CubeFormat::Int8,
        CubeFormat::Hf32,
        CubeFormat::Fp32,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CubeFormat::Bf16 => "bf16",
            CubeFormat::Fp16 => "fp16",
            CubeFormat::Int8 => "int8",
            CubeFormat::Hf32 => "hf32",
            CubeFormat::Fp32 => "fp32",
        }
    }

    /// The format the Cube uses for operands of `dtype` when none is asked for.
    pub fn of_dtype(dtype: DType) -> Self {
        match dtype {
            DType::Bf16 => CubeFormat::Bf16,
            DType::F32 => CubeFormat::Fp32,
        }
    }

    /// Bytes per operand element in memory (hf32 operands are stored as f32).
    pub fn in_bytes(self) -> usize {
        match self {
            CubeFormat::Bf16 | CubeFormat::Fp16 => 2,
            CubeFormat::Int8 => 1,
            CubeFormat::Hf32 | CubeFormat::Fp32 => 4,
        }
    }

    /// C0: the elements of one fractal row, 32 bytes of the operand.
    pub fn c0(self) -> usize {
        32 / self.in_bytes()
    }

    /// What L0C accumulates in.
    pub fn accumulator(self) -> &'static str {
        match self {
            CubeFormat::Int8 => "int32",
            _ => "f32",
        }
    }

    /// The unit of its peak rate: TOPS for the integer format, TFLOPS for the others.
    pub fn rate_unit(self) -> &'static str {
        match self {
            CubeFormat::Int8 => "TOPS",
            _ => "TFLOPS",
        }
    }

    /// Whether the executors compute it (shader and CPU twin); the others are timed only.
    pub fn is_computed(self) -> bool {
        matches!(self, CubeFormat::Bf16 | CubeFormat::Fp32)
    }

    /// The operand dtype a recording must have for this format, where it has one: bf16 operands for
    /// bf16, f32 for the fp32 and hf32 modes; fp16 and int8 operands are recorded by shape (any dtype
    /// stands in for them) until the tensors have those dtypes.
    pub fn operand_dtype(self) -> Option<DType> {
        match self {
            CubeFormat::Bf16 => Some(DType::Bf16),
            CubeFormat::Hf32 | CubeFormat::Fp32 => Some(DType::F32),
            CubeFormat::Fp16 | CubeFormat::Int8 => None,
        }
    }

    /// The error of an executor asked to compute a format that is timed only.
    pub fn not_computed(self) -> Error {
        Error::DType {
            op: "cube_matmul",
            detail: format!(
                "the {self} Cube format is timed by the model but not computed by the executors yet; \
                 predict it (davinci predict matmul --dtype {self}), or run bf16 or fp32"
            ),
        }
    }
}

impl fmt::Display for CubeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CubeFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.to_ascii_lowercase();
        let s = match s.as_str() {
            "f32" => "fp32",
            "f16" => "fp16",
            other => other,
        };
        CubeFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = CubeFormat::ALL.iter().map(|f| f.name()).collect();
                Error::Usage(format!(
                    "unknown Cube format '{s}'; the formats are {}",
                    names.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractals_hold_32_bytes_and_names_round_trip() {
        for f in CubeFormat::ALL {
            assert_eq!(f.c0() * f.in_bytes(), 32, "{f}");
            assert_eq!(f.name().parse::<CubeFormat>().unwrap(), f);
        }
        assert_eq!(CubeFormat::Int8.c0(), 32);
        assert_eq!("f32".parse::<CubeFormat>().unwrap(), CubeFormat::Fp32);
        let e = "int4".parse::<CubeFormat>().unwrap_err().to_string();
        assert!(e.contains("int4") && e.contains("hf32"), "{e}");
    }
}
