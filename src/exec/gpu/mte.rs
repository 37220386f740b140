//! The GPU executor's data movements (reshape, permute, gather of rows, concat) and rotary embeddings: operands
//! moved to the device, one launch (or a buffer copy for a reshape), the result left on the device.

use super::{GpuExecutor, Value, device_operand, empty};
use crate::Result;
use crate::kernels::vector::Out;
use crate::kernels::vector_rope::{self, RopeGeometry};
use crate::kernels::{device_bytes, mte_concat, mte_gather, mte_permute};
use crate::program::{MoveKind, MoveOp, Program, RopeOp};

impl GpuExecutor {
    /// Runs one data movement.
    pub(super) fn run_move<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        op: &MoveOp,
    ) -> Result<Value<'a>> {
        let out_desc = program.desc(op.out)?.clone();
        let numel = out_desc.shape.numel();
        let name = op.kind.name();
        if numel == 0 {
            return empty(out_desc.shape, out_desc.dtype);
        }
        if let MoveKind::Concat { other, .. } = op.kind {
            self.operand(values, program, other, name)?;
        }
        self.operand(values, program, op.input, name)?;
        let x = device_operand(values, op.input, name)?;
        let ctx = self.context();
        let buf = ctx.storage(device_bytes(x.dtype, numel))?;
        let out = Out {
            buf: &buf,
            dtype: x.dtype,
            numel,
        };
        let mut rec = self.record();
        match &op.kind {
            MoveKind::Reshape => mte_permute::record_copy(&mut rec, x, out),
            MoveKind::Permute { bcast, .. } => mte_permute::record(ctx, &mut rec, x, bcast, out)?,
            MoveKind::GatherRows { ids, width } => {
                mte_gather::record(ctx, &mut rec, x, ids, *width, out)?
            }
            MoveKind::Concat {
                other,
                width,
                other_width,
            } => {
                let y = device_operand(values, *other, name)?;
                mte_concat::record(ctx, &mut rec, (x, y), (*width, *other_width), out)?
            }
        }
        ctx.submit(rec);
        Ok(Value::Device {
            buf,
            shape: out_desc.shape,
            dtype: x.dtype,
        })
    }

    /// Runs one rotary embedding.
    pub(super) fn run_rope<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        op: &RopeOp,
    ) -> Result<Value<'a>> {
        let shape = program.desc(op.out)?.shape.clone();
        let numel = shape.numel();
        for id in [op.x, op.cos, op.sin] {
            self.operand(values, program, id, "rope")?;
        }
        let x = device_operand(values, op.x, "rope")?;
        let cos = device_operand(values, op.cos, "rope")?;
        let sin = device_operand(values, op.sin, "rope")?;
        let ctx = self.context();
        let buf = ctx.storage(device_bytes(op.dtype_out, numel))?;
        let out = Out {
            buf: &buf,
            dtype: op.dtype_out,
            numel,
        };
        let g = RopeGeometry {
            heads: op.heads,
            dim: op.dim,
            seq: op.seq,
        };
        let mut rec = self.record();
        vector_rope::record(ctx, &mut rec, x, cos, sin, &g, out)?;
        ctx.submit(rec);
        Ok(Value::Device {
            buf,
            shape,
            dtype: op.dtype_out,
        })
    }
}
