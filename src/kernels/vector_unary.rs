//! Launcher of `shaders/vector_unary.wgsl`: one function of one input, elementwise. CPU twin:
//! `src/reference/vector_unary.rs`.

use super::Operand;
use super::vector::{Out, VectorParams, elementwise_with};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::{Broadcast, UnaryFn};

/// Records `out = f(x)`, x read through `bcast`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    f: UnaryFn,
    x: Operand<'_>,
    bcast: &Broadcast,
    out: Out<'_>,
) -> Result<()> {
    let params = VectorParams {
        func: f.code(),
        x_bf16: x.bf16(),
        ..Default::default()
    }
    .with_broadcast(KernelId::VectorUnary.name(), bcast)?;
    // The function is also the pipeline's constant FUNC, so that each pipeline holds one function.
    let constants = [("FUNC", f64::from(f.code()))];
    elementwise_with(
        ctx,
        rec,
        KernelId::VectorUnary,
        &constants,
        params,
        &[x.buf],
        out,
    )
}
