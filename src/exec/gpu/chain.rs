//! The GPU executor's fused elementwise chains (planned by `exec/chain_plan.rs`): one `vector_chain`
//! dispatch for the chain's ops, the last one's result left on the device.

use super::{GpuExecutor, Value};
use crate::Result;
use crate::exec::chain_plan::{ChainPlan, layout};
use crate::kernels::vector::Out;
use crate::kernels::vector_chain::{self, Stage};
use crate::kernels::{Operand, device_bytes};
use crate::program::Program;

impl GpuExecutor {
    /// Runs ops `plan.first ..` of `program` as one chain; the result of the last stays on the device.
    pub(super) fn run_chain<'a>(
        &self,
        values: &mut [Option<Value<'a>>],
        program: &Program,
        plan: ChainPlan,
    ) -> Result<Value<'a>> {
        let ops = &program.ops()[plan.first..plan.first + plan.len];
        let (layout, links) = layout(program, ops)?;
        let first = links[0].1;
        let mut reads = vec![first.x];
        reads.extend(links.iter().filter_map(|(l, _)| l.side));
        for &id in &reads {
            self.operand(values, program, id, "vector_chain")?;
        }
        let x: Operand<'_> = super::device_operand(values, first.x, "vector_chain")?;
        let mut stages = Vec::with_capacity(links.len());
        for (l, v) in &links {
            let side = l
                .side
                .map(|s| super::device_operand(values, s, "vector_chain"))
                .transpose()?;
            stages.push(Stage {
                func: l.func,
                side,
                dtype: v.dtype_out,
            });
        }
        let last = links[links.len() - 1].1;
        let shape = program.desc(last.out)?.shape.clone();
        let ctx = self.context();
        let buf = ctx.storage(device_bytes(last.dtype_out, shape.numel()))?;
        let out = Out {
            buf: &buf,
            dtype: last.dtype_out,
            numel: shape.numel(),
        };
        let mut rec = self.record();
        vector_chain::record(ctx, &mut rec, x, &stages, &layout, out)?;
        ctx.submit(rec);
        Ok(Value::Device {
            buf,
            shape,
            dtype: last.dtype_out,
        })
    }
}
