//! Launcher of `shaders/vector_epilogue.wgsl`: a `cube_matmul` epilogue on the f32 accumulator (scale,
//! bias, activation, residual), rounded once to the output dtype. CPU twin:
//! `src/reference/vector_epilogue.rs`.

use super::vector::{HAS_SCALE, HAS_Y, HAS_Z, Out, VectorParams, elementwise_with};
use super::{Operand, u32_of};
use crate::Result;
use crate::device::{GpuBuffer, GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::Activation;

/// The epilogue of one `cube_matmul` launch, with its operands on the device.
pub struct Epilogue<'a> {
    pub scale: Option<f32>,
    /// `[N]`, added to every row.
    pub bias: Option<Operand<'a>>,
    pub activation: Activation,
    /// The result's shape, added last.
    pub residual: Option<Operand<'a>>,
}

/// Records the epilogue over the f32 accumulator `acc` (rows of `n`) into `out`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    acc: &GpuBuffer,
    n: usize,
    e: &Epilogue<'_>,
    out: Out<'_>,
) -> Result<()> {
    let mut params = VectorParams {
        cols: u32_of("cube_matmul", "N", n)?,
        func: e.activation.code(),
        scale: e.scale.unwrap_or(1.0),
        ..Default::default()
    };
    if e.scale.is_some() {
        params.flags |= HAS_SCALE;
    }
    if let Some(b) = e.bias {
        params.flags |= HAS_Y;
        params.y_bf16 = b.bf16();
    }
    if let Some(r) = e.residual {
        params.flags |= HAS_Z;
        params.z_bf16 = r.bf16();
    }
    // An absent operand is bound to the accumulator, which the shader then never reads.
    let bias = e.bias.map_or(acc, |b| b.buf);
    let residual = e.residual.map_or(acc, |r| r.buf);
    // The activation is also the pipeline's constant FUNC, so that each pipeline holds one.
    let constants = [("FUNC", f64::from(e.activation.code()))];
    elementwise_with(
        ctx,
        rec,
        KernelId::VectorEpilogue,
        &constants,
        params,
        &[acc, bias, residual],
        out,
    )
}
