//! Launcher of `shaders/vector_unary.wgsl`: one function of one input, elementwise. CPU twin:
//! `src/reference/vector_unary.rs`.

use super::Operand;
use super::vector::{Out, VectorParams, elementwise};
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
    elementwise(ctx, rec, KernelId::VectorUnary, params, &[x.buf], out)
}
