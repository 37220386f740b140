//! Launcher of `shaders/vector_softmax.wgsl`: softmax over the last axis of x + mask, one workgroup per
//! row. CPU twin: `src/reference/vector_softmax.rs`.

use super::Operand;
use super::vector::{Out, VectorParams, check_rows, optional_inputs, rows};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::Broadcast;

/// Records the softmax of `n_rows` rows of `len`, the optional mask read through `bcast`.
#[allow(clippy::too_many_arguments)]
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    x: Operand<'_>,
    mask: Option<Operand<'_>>,
    bcast: &Broadcast,
    n_rows: usize,
    len: usize,
    out: Out<'_>,
) -> Result<()> {
    let k = KernelId::VectorSoftmax;
    let (r, l) = check_rows(k.name(), n_rows, len)?;
    let params = VectorParams {
        x_bf16: x.bf16(),
        rows: r,
        len: l,
        ..Default::default()
    }
    .with_broadcast(k.name(), bcast)?;
    // An absent mask is bound to x, which the shader then never reads.
    let params = optional_inputs(params, mask, None);
    rows(ctx, rec, k, params, &[x, mask.unwrap_or(x)], out)
}
