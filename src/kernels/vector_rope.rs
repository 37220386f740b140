//! Launcher of `shaders/vector_rope.wgsl`: rotary position embedding, rotate-half form. CPU twin:
//! `src/reference/vector_rope.rs`.

use super::vector::{Out, VectorParams, elementwise};
use super::{Operand, u32_of};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;

/// Where the rotation applies: `heads` heads of width `dim` at `seq` positions.
pub struct RopeGeometry {
    pub heads: usize,
    pub dim: usize,
    pub seq: usize,
}

/// Records `out = rope(x)` with the tables `cos` and `sin` (`[seq, dim / 2]`).
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    x: Operand<'_>,
    cos: Operand<'_>,
    sin: Operand<'_>,
    g: &RopeGeometry,
    out: Out<'_>,
) -> Result<()> {
    let params = VectorParams {
        rows: u32_of("rope", "the heads", g.heads)?,
        cols: u32_of("rope", "the head width", g.dim)?,
        seq: u32_of("rope", "the positions", g.seq)?,
        x_bf16: x.bf16(),
        y_bf16: cos.bf16(),
        z_bf16: sin.bf16(),
        ..Default::default()
    };
    elementwise(
        ctx,
        rec,
        KernelId::VectorRope,
        params,
        &[x.buf, cos.buf, sin.buf],
        out,
    )
}
