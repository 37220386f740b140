//! The Cube's data formats: what `cube_matmul` multiplies in, and so how much data each fractal holds,
//! how many multiply-accumulates the Cube does per cycle, and what it accumulates into.
//!
//! A fractal is 16 rows of C0 elements, C0 = 32 bytes / element size (hiascend's NZ layout [O]): 16 for
//! bf16 and fp16, 32 for int8, 8 for fp32 and hf32. The Cube takes one 16 x C0 x 16 step per cycle where the
//! chip's MAC rate allows (`cube_*_macs_per_cycle` of the chip spec).
//!
//! Every format is computed by the executors (shader and CPU twin, bit-identical) and timed by the model.
//! The 910C's Cube has no fp8 path: fp8 operands are timed as widened to bf16 on their way into L1 (exact:
//! every e4m3 and e5m2 value is a bf16 value) and multiplied at the bf16 rate, their HBM traffic at one
//! byte per element (an assumption: the cost of the widening itself is not modelled).

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
    /// OCP fp8 e4m3 x e4m3 -> f32 accumulation.
    Fp8E4M3,
    /// OCP fp8 e5m2 x e5m2 -> f32 accumulation.
    Fp8E5M2,
}

impl CubeFormat {
    pub const ALL: [CubeFormat; 7] = [
        CubeFormat::Bf16,
        CubeFormat::Fp16,
        CubeFormat::Int8,
        CubeFormat::Hf32,
        CubeFormat::Fp32,
        CubeFormat::Fp8E4M3,
        CubeFormat::Fp8E5M2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CubeFormat::Bf16 => "bf16",
            CubeFormat::Fp16 => "fp16",
            CubeFormat::Int8 => "int8",
            CubeFormat::Hf32 => "hf32",
            CubeFormat::Fp32 => "fp32",
            CubeFormat::Fp8E4M3 => "fp8_e4m3",
            CubeFormat::Fp8E5M2 => "fp8_e5m2",
        }
    }

    /// The shader's `CUBE_*` code (`IN_FORMAT` of `cube_matmul.wgsl`).
    pub fn code(self) -> u32 {
        use crate::kernel_table::codes;
        match self {
            CubeFormat::Bf16 => codes::CUBE_BF16,
            CubeFormat::Fp16 => codes::CUBE_FP16,
            CubeFormat::Int8 => codes::CUBE_INT8,
            CubeFormat::Hf32 => codes::CUBE_HF32,
            CubeFormat::Fp32 => codes::CUBE_FP32,
            CubeFormat::Fp8E4M3 => codes::CUBE_E4M3,
            CubeFormat::Fp8E5M2 => codes::CUBE_E5M2,
        }
    }

    /// The format the Cube uses for operands of `dtype` when none is asked for.
    pub fn of_dtype(dtype: DType) -> Self {
        match dtype {
            DType::Bf16 => CubeFormat::Bf16,
            DType::F16 => CubeFormat::Fp16,
            DType::I8 => CubeFormat::Int8,
            DType::F8E4M3 => CubeFormat::Fp8E4M3,
            DType::F8E5M2 => CubeFormat::Fp8E5M2,
            DType::F32 | DType::I32 => CubeFormat::Fp32,
        }
    }

    /// Bytes per operand element in memory (hf32 operands are stored as f32).
    pub fn in_bytes(self) -> usize {
        match self {
            CubeFormat::Bf16 | CubeFormat::Fp16 => 2,
            CubeFormat::Int8 | CubeFormat::Fp8E4M3 | CubeFormat::Fp8E5M2 => 1,
            CubeFormat::Hf32 | CubeFormat::Fp32 => 4,
        }
    }

    /// Bytes per element as the Cube reads it from L1 (fp8 widened to bf16; the others as stored).
    pub fn l1_bytes(self) -> usize {
        match self {
            CubeFormat::Fp8E4M3 | CubeFormat::Fp8E5M2 => 2,
            other => other.in_bytes(),
        }
    }

    /// C0: the elements of one fractal row, 32 bytes of the operand in L1.
    pub fn c0(self) -> usize {
        32 / self.l1_bytes()
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

    /// The dtype of this format's operands (hf32 takes f32 operands and rounds them itself).
    pub fn operand_dtype(self) -> DType {
        match self {
            CubeFormat::Bf16 => DType::Bf16,
            CubeFormat::Fp16 => DType::F16,
            CubeFormat::Int8 => DType::I8,
            CubeFormat::Hf32 | CubeFormat::Fp32 => DType::F32,
            CubeFormat::Fp8E4M3 => DType::F8E4M3,
            CubeFormat::Fp8E5M2 => DType::F8E5M2,
        }
    }

    /// The dtype of L0C's accumulator: int32 for int8, f32 for the others.
    pub fn accumulator_dtype(self) -> DType {
        match self {
            CubeFormat::Int8 => DType::I32,
            _ => DType::F32,
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
            "e4m3" | "f8_e4m3" => "fp8_e4m3",
            "e5m2" | "f8_e5m2" => "fp8_e5m2",
            other => other,
        };
        CubeFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = CubeFormat::ALL.iter().map(|f| f.name()).collect();
                let hint = match s {
                    "tf32" => " (tf32 is NVIDIA's reduced f32; the Cube's is hf32)",
                    "fp4" => " (the Cube has no fp4)",
                    _ => "",
                };
                Error::Usage(format!(
                    "unknown Cube format '{s}'{hint}; the formats are {}",
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
            assert_eq!(f.c0() * f.l1_bytes(), 32, "{f}");
            assert_eq!(f.name().parse::<CubeFormat>().unwrap(), f);
        }
        assert_eq!(CubeFormat::Int8.c0(), 32);
        assert_eq!("f32".parse::<CubeFormat>().unwrap(), CubeFormat::Fp32);
        let e = "int4".parse::<CubeFormat>().unwrap_err().to_string();
        assert!(e.contains("int4") && e.contains("hf32"), "{e}");
    }
}
