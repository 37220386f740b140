//! Launcher of `shaders/mte_concat.wgsl`: two tensors joined row by row (an ONNX Concat along any axis,
//! once the axes before it are taken as rows), bits unchanged. CPU twin: `src/reference/mte_concat.rs`.

use super::vector::{Out, VectorParams, elementwise};
use super::{Operand, u32_of};
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::{Error, Result};

/// Records `out` row r = `a` row r (`a_width` elements) then `b` row r (`b_width`).
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    (a, b): (Operand<'_>, Operand<'_>),
    (a_width, b_width): (usize, usize),
    out: Out<'_>,
) -> Result<()> {
    let name = KernelId::MteConcat.name();
    if a.dtype != b.dtype {
        return Err(Error::dtype(
            name,
            format!(
                "both inputs must have one dtype, got {} and {}",
                a.dtype, b.dtype
            ),
        ));
    }
    let mut params = VectorParams {
        x_bf16: a.bf16(),
        ..Default::default()
    };
    params.dims[0] = u32_of(name, "the first input's row width", a_width)?;
    params.dims[1] = u32_of(name, "the second input's row width", b_width)?;
    // The row index times the joined width must not overflow the shader's u32 arithmetic.
    u32_of(
        name,
        "the result's elements",
        out.numel.saturating_add(a_width + b_width),
    )?;
    elementwise(ctx, rec, KernelId::MteConcat, params, &[a.buf, b.buf], out)
}
