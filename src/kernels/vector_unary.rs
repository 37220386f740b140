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
    // WIDE: chunks of 8 elements per invocation, read and written as whole vec4s, for the cheap
    // functions (shaders/shared/elementwise_main.wgsl says what it gains and costs).
    let wide = is_wide(f);
    let constants = [
        ("FUNC", f64::from(f.code())),
        ("WIDE", if wide { 1.0 } else { 0.0 }),
    ];
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

/// Whether `f` runs in the wide layout: the cheap functions (a few operations, or exp's polynomial, per
/// element), which are memory-bound.
pub fn is_wide(f: UnaryFn) -> bool {
    matches!(
        f,
        UnaryFn::Neg | UnaryFn::Abs | UnaryFn::Exp | UnaryFn::Relu
    )
}
