//! Launcher of `shaders/mte_gather.wgsl`: rows of a table picked by index (an embedding lookup), bits
//! unchanged. CPU twin: `src/reference/mte_gather.rs`. The ids were checked against the table at
//! recording.

use super::vector::{Out, VectorParams, elementwise};
use super::{Operand, u32_of};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;

/// Records `out[i] = table[ids[i / width] * width + i % width]`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    table: Operand<'_>,
    ids: &[u32],
    width: usize,
    out: Out<'_>,
) -> Result<()> {
    let params = VectorParams {
        x_bf16: table.bf16(),
        cols: u32_of(KernelId::MteGather.name(), "the row width", width)?,
        ..Default::default()
    };
    let ids = ctx.upload(bytemuck::cast_slice(ids))?;
    elementwise(
        ctx,
        rec,
        KernelId::MteGather,
        params,
        &[table.buf, &ids],
        out,
    )?;
    // Held until the recording is queued: the pool must not hand it out while the gather is pending.
    rec.keep(ids);
    Ok(())
}
