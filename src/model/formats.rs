//! Number formats for a model's linear layers: what `davinci formats` varies. With
//! [`Graph::linear_format`] set, every [`super::Linear`] runs the Cube in that format: its weight is
//! converted once on the host, as a deployment converts it offline (so the timing model does not count
//! it), and its input is converted inside the program, as the Vector unit does at run time (so both
//! executors compute the same bits and the timing model sees the conversion); everything else (norms,
//! softmax, the attention's own score and context products, the residual stream) stays in the layer's
//! dtype.
//!
//! - `bf16`, `fp16`, `fp8_e4m3`, `fp8_e5m2`: weight and input cast to the format (nearest even, or
//!   stochastically with `+sr`), f32 accumulation, the result rounded to the layer's dtype.
//! - `w8a8`: the weight quantised per output channel and the input per token (`super::quantize`:
//!   `scale = amax / 127`, `q = int8(x / scale)`), int32 accumulation, FixPipe dequantising by both
//!   scales.

use std::fmt;
use std::str::FromStr;

use super::Graph;
use super::quantize::{QuantScale, quantize_int8_host};
use crate::program::{CubeFormat, Dequant, Rounding, TensorId};
use crate::reference::cast_formats::cast_formats;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// The format of the linear layers' operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinearFormat {
    /// bf16, fp16, fp8 e4m3 or e5m2 (cast), or int8 (W8A8: quantised with per-row scales).
    pub format: CubeFormat,
    /// Stochastic rounding of the casts (float formats), seeded; each cast gets its own stream.
    pub stochastic: Option<u32>,
}

impl LinearFormat {
    /// The configurations `davinci formats` runs by default.
    pub fn standard() -> Vec<LinearFormat> {
        let f = |format, stochastic| LinearFormat { format, stochastic };
        vec![
            f(CubeFormat::Bf16, None),
            f(CubeFormat::Bf16, Some(1)),
            f(CubeFormat::Fp16, None),
            f(CubeFormat::Fp16, Some(1)),
            f(CubeFormat::Int8, None),
            f(CubeFormat::Fp8E4M3, None),
            f(CubeFormat::Fp8E4M3, Some(1)),
        ]
    }

    pub fn name(&self) -> String {
        let base = match self.format {
            CubeFormat::Int8 => "w8a8",
            f => f.name(),
        };
        match self.stochastic {
            Some(_) => format!("{base}+sr"),
            None => base.to_string(),
        }
    }

    /// Bytes per weight element in memory (int8's per-channel scales are not counted: `1/in` of it).
    pub fn weight_bytes(&self) -> usize {
        self.format.in_bytes()
    }
}

impl fmt::Display for LinearFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for LinearFormat {
    type Err = Error;
    /// `bf16`, `fp16`, `w8a8`, `fp8_e4m3`, `fp8_e5m2`, each optionally with `+sr`.
    fn from_str(s: &str) -> Result<Self> {
        let (base, sr) = match s.strip_suffix("+sr") {
            Some(b) => (b, true),
            None => (s, false),
        };
        let format = match base {
            "w8a8" => CubeFormat::Int8,
            "bf16" | "fp16" | "fp8_e4m3" | "fp8_e5m2" => base.parse()?,
            _ => {
                return Err(Error::Usage(format!(
                    "format '{s}': expected bf16, fp16, w8a8, fp8_e4m3 or fp8_e5m2, optionally with +sr"
                )));
            }
        };
        if sr && format == CubeFormat::Int8 {
            return Err(Error::Usage(
                "w8a8+sr: stochastic rounding applies to the float formats, not to int8".into(),
            ));
        }
        Ok(LinearFormat {
            format,
            stochastic: sr.then_some(1),
        })
    }
}

impl Graph {
    /// Casts `x` to `to` with the format's rounding (a fresh stochastic stream per cast).
    fn cast_operand(&mut self, x: TensorId, to: DType, f: LinearFormat) -> Result<TensorId> {
        let rounding = match f.stochastic {
            Some(seed) => {
                self.casts += 1;
                Rounding::Stochastic {
                    seed: seed.wrapping_mul(0x9E37_79B9).wrapping_add(self.casts),
                }
            }
            None => Rounding::Nearest,
        };
        self.program.cast_rounded(x, to, rounding)
    }

    /// The weight constant `w` converted to `to` on the host (the CPU twin of the cast, with the format's
    /// rounding), as a new constant.
    fn offline_cast(&mut self, w: TensorId, to: DType, f: LinearFormat) -> Result<TensorId> {
        let t = self.value_of(w)?;
        if t.dtype() == to && f.stochastic.is_none() {
            return Ok(w);
        }
        let rounding = match f.stochastic {
            Some(seed) => Rounding::Stochastic {
                seed: seed.wrapping_add(w.index() as u32),
            },
            None => Rounding::Nearest,
        };
        let data = cast_formats(t.data(), to, rounding, 0);
        let name = format!("{} ({to})", self.program.desc(w)?.name);
        let q = Tensor::new(t.shape().clone(), data)?;
        Ok(self.constant(name, q))
    }

    /// The weight constant `w` (`[out, in]`) quantised per output channel (row) on the host, by the
    /// rule of [`Graph::quantize_int8`]: int8 codes and f32 scales, as two new constants.
    fn offline_int8(&mut self, w: TensorId) -> Result<(TensorId, TensorId)> {
        let t = self.value_of(w)?;
        if t.shape().rank() != 2 {
            return Err(Error::shape(
                "linear",
                format!("a weight must be 2-D, got {}", t.shape()),
            ));
        }
        let (qt, st) = quantize_int8_host(&t, QuantScale::Row)?;
        let name = self.program.desc(w)?.name.clone();
        Ok((
            self.constant(format!("{name} (int8)"), qt),
            self.constant(format!("{name} (scales)"), st),
        ))
    }

    /// `x W^T` (W `[out, in]`) in the linear format `f`, with the epilogue, rounded to `dt`.
    pub(super) fn linear_in_format(
        &mut self,
        f: LinearFormat,
        (x, w): (TensorId, TensorId),
        opts: crate::program::MatmulOptions,
        e: crate::program::Epilogue,
    ) -> Result<TensorId> {
        // Two-dimensional operands: a batched input is flattened to rows first.
        let xd = self.program.desc(x)?.shape.clone();
        let x2 = if xd.rank() == 2 {
            x
        } else {
            let rows = xd.numel() / xd.dims()[xd.rank() - 1];
            self.program.reshape(x, [rows, xd.dims()[xd.rank() - 1]])?
        };
        let opts = crate::program::MatmulOptions {
            format: Some(f.format),
            ..opts
        };
        let y = if f.format == CubeFormat::Int8 {
            let (qx, sx) = self.quantize_int8(x2, QuantScale::Row)?;
            let (qw, sw) = self.offline_int8(w)?;
            let dq = Dequant {
                channel: sw,
                token: Some(sx),
            };
            self.program.cube_matmul_dequant(qx, qw, opts, dq, e)?
        } else {
            let to = f.format.operand_dtype();
            let cx = self.cast_operand(x2, to, f)?;
            let cw = self.offline_cast(w, to, f)?;
            self.program.cube_matmul_fused(cx, cw, opts, e)?
        };
        if xd.rank() == 2 {
            Ok(y)
        } else {
            let mut out = xd.dims().to_vec();
            let last = out.len() - 1;
            out[last] = self.program.desc(y)?.shape.dims()[1];
            self.program.reshape(y, crate::Shape::new(out))
        }
    }
}
