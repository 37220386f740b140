//! The GPU executor's Vector-unit ops: operands moved to the device, one launch of the op's kernel (whose
//! launcher adds a cast dispatch when a row kernel's result is bf16), the result left on the device; an
//! op beyond one storage binding is split by rows (`vector_split.rs`).

use super::{GpuExecutor, Value, empty};
use crate::kernels::vector::Out;
use crate::kernels::{
    Operand, device_bytes, vector_binary, vector_layernorm, vector_reduce, vector_rmsnorm,
    vector_softmax, vector_unary,
};
use crate::program::{Program, TensorId, VectorKind, VectorOp};
use crate::{Error, Result};

impl GpuExecutor {
    /// Runs one Vector-unit op; the result stays on the device.
    pub(super) fn run_vector<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        op: &VectorOp,
    ) -> Result<Value<'a>> {
        let out_shape = program.desc(op.out)?.shape.clone();
        let numel = out_shape.numel();
        let name = op.kind.name();
        if numel == 0 {
            return empty(out_shape, op.dtype_out);
        }
        if self.vector_needs_split(program, op)? {
            return self.run_vector_split(values, program, op);
        }
        for id in op.inputs() {
            self.operand(values, program, id, name)?;
        }
        let get = |id: Option<TensorId>| {
            id.map(|id| super::device_operand(values, id, name))
                .transpose()
        };
        let x: Operand<'_> = super::device_operand(values, op.x, name)?;
        let ctx = self.context();
        let buf = ctx.storage(device_bytes(op.dtype_out, numel))?;
        let out = Out {
            buf: &buf,
            dtype: op.dtype_out,
            numel,
        };
        let mut rec = self.record();
        let (rows, len) = (op.rows, op.len);
        match op.kind {
            VectorKind::Unary(f) => vector_unary::record(ctx, &mut rec, f, x, &op.bcast, out)?,
            VectorKind::Binary(f) => {
                let y = get(op.y)?.ok_or_else(|| Error::Program(format!("{name}: no y")))?;
                vector_binary::record(ctx, &mut rec, f, x, y, &op.bcast, out)?
            }
            VectorKind::Reduce(f) => vector_reduce::record(ctx, &mut rec, f, x, rows, len, out)?,
            VectorKind::Softmax => {
                let mask = get(op.mask)?;
                vector_softmax::record(ctx, &mut rec, x, mask, &op.bcast, rows, len, out)?
            }
            VectorKind::LayerNorm { eps } => {
                let (gamma, beta) = (get(op.gamma)?, get(op.beta)?);
                vector_layernorm::record(ctx, &mut rec, x, gamma, beta, eps, rows, len, out)?
            }
            VectorKind::RmsNorm { eps } => {
                let gamma = get(op.gamma)?;
                vector_rmsnorm::record(ctx, &mut rec, x, gamma, eps, rows, len, out)?
            }
        }
        ctx.submit(rec);
        Ok(Value::Device {
            buf,
            shape: out_shape,
            dtype: op.dtype_out,
        })
    }
}
