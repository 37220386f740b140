//! Launcher of `shaders/vector_binary.wgsl`: one function of two inputs, elementwise with numpy
//! broadcasting. CPU twin: `src/reference/vector_binary.rs`.

use super::Operand;
use super::vector::{HAS_Y, Out, VectorParams, elementwise_with};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::{BinaryFn, Broadcast};

/// Records `out = f(x, y)`, both read through `bcast`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    f: BinaryFn,
    x: Operand<'_>,
    y: Operand<'_>,
    bcast: &Broadcast,
    out: Out<'_>,
) -> Result<()> {
    let params = VectorParams {
        func: f.code(),
        x_bf16: x.bf16(),
        y_bf16: y.bf16(),
        flags: HAS_Y,
        ..Default::default()
    }
    .with_broadcast(KernelId::VectorBinary.name(), bcast)?;
    // The function is also the pipeline's constant FUNC, so that each pipeline holds one function; PLAIN
    // says that both operands are laid out as the result, which spares the shader a division and a
    // remainder per dimension and operand for every element.
    let plain = bcast.is_contiguous(0) && bcast.is_contiguous(1);
    // WIDE: chunks of 8 elements per invocation, read and written as whole vec4s, for the cheap
    // functions without broadcasting (shaders/shared/elementwise_main.wgsl says what it gains and costs).
    let wide = is_wide(f, plain);
    let constants = [
        ("FUNC", f64::from(f.code())),
        ("PLAIN", if plain { 1.0 } else { 0.0 }),
        ("WIDE", if wide { 1.0 } else { 0.0 }),
    ];
    elementwise_with(
        ctx,
        rec,
        KernelId::VectorBinary,
        &constants,
        params,
        &[x.buf, y.buf],
        out,
    )
}

/// Whether `f` runs in the wide layout: without broadcasting (`plain`), for the functions that cost a
/// few operations per element (no division, no transcendental), which are memory-bound.
pub fn is_wide(f: BinaryFn, plain: bool) -> bool {
    plain
        && matches!(
            f,
            BinaryFn::Add
                | BinaryFn::Sub
                | BinaryFn::Mul
                | BinaryFn::Max
                | BinaryFn::Min
                | BinaryFn::ReluGrad
        )
}
