//! FixPipe's dequantisation of an int8 `cube_matmul` (the W8A8 kernels' output stage): the int32
//! accumulator is converted to f32 (nearest even), multiplied by a per-column (per output channel) f32
//! scale, then by a per-row (per token) f32 scale when one is given, each product rounded once; the
//! epilogue (bias, activation, residual) and the output rounding follow. The GPU does it in the Cube
//! kernel's output stage, the CPU twin in `reference::cube_matmul::dequant`, in the same order.

use super::matmul::MatmulOptions;
use super::{Epilogue, Op, Program, TensorId};
use crate::program::CubeFormat;
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

const OP: &str = "cube_matmul";

/// The scales of one dequantisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dequant {
    /// f32 `[N]`: one scale per column of the result (the weight's per-channel scale).
    pub channel: TensorId,
    /// f32 `[M]` (or `[batch, M]` for a batched result): one scale per row (the activation's per-token
    /// scale), or none.
    pub token: Option<TensorId>,
}

impl Program {
    /// Records an int8 `cube_matmul(a, b)` whose accumulator FixPipe dequantises by `dequant`, then
    /// `epilogue`, as one op. `opts.dtype_out` is f32, bf16 or f16.
    pub fn cube_matmul_dequant(
        &mut self,
        a: TensorId,
        b: TensorId,
        opts: MatmulOptions,
        dequant: Dequant,
        epilogue: Epilogue,
    ) -> Result<TensorId> {
        let opts = MatmulOptions {
            format: Some(CubeFormat::Int8),
            ..opts
        };
        if opts.dtype_out == DType::I32 {
            return Err(Error::dtype(
                OP,
                "a dequantised int8 matmul gives f32, bf16 or f16, not the raw i32 accumulator"
                    .to_string(),
            ));
        }
        let out = self.cube_matmul_fused(a, b, opts, epilogue)?;
        let Some(Op::CubeMatmul(mm)) = self.ops.last() else {
            return Err(Error::Program("the matmul was not recorded".to_string()));
        };
        let g = mm.geometry;
        let rows = if g.batched_out {
            vec![g.batch, g.m]
        } else {
            vec![g.m]
        };
        let checks = [("channel", Some(dequant.channel), vec![g.n])]
            .into_iter()
            .chain([("token", dequant.token, rows)]);
        for (what, id, want) in checks {
            let Some(id) = id else { continue };
            let d = self.desc(id)?;
            if d.dtype != DType::F32 || d.shape.dims() != want.as_slice() {
                return Err(Error::shape(
                    OP,
                    format!(
                        "the {what} scale '{}' must be f32 of shape {:?} for a result {}, got {} {}",
                        d.name,
                        want,
                        g.out_shape(),
                        d.dtype,
                        d.shape
                    ),
                ));
            }
        }
        if let Some(Op::CubeMatmul(mm)) = self.ops.last_mut() {
            mm.dequant = Some(dequant);
        }
        Ok(out)
    }

    /// Refuses a dequantisation scale, supplied as an input, that is zero, NaN or infinite.
    pub(super) fn check_scales(&self, inputs: &[&Tensor]) -> Result<()> {
        for op in &self.ops {
            let Op::CubeMatmul(mm) = op else { continue };
            let Some(dq) = mm.dequant else { continue };
            for id in [Some(dq.channel), dq.token].into_iter().flatten() {
                let Some(pos) = self.inputs.iter().position(|&i| i == id) else {
                    continue;
                };
                let Some(t) = inputs.get(pos) else { continue };
                if let Some(bad) = t
                    .to_f32_vec()
                    .iter()
                    .position(|v| !v.is_finite() || *v == 0.0)
                {
                    return Err(Error::Invalid(format!(
                        "{OP}: dequantisation scale '{}' {} has {} at element {bad}; every scale must \\
                         be finite and not zero",
                        self.tensors[id.0].name,
                        t.shape(),
                        t.to_f32_vec()[bad]
                    )));
                }
            }
        }
        Ok(())
    }
}
