//! Launcher of `shaders/vector_rmsnorm.wgsl`: rmsnorm over the last axis, one workgroup per row. CPU twin:
//! `src/reference/vector_rmsnorm.rs`.

use super::Operand;
use super::vector::{Out, VectorParams, check_rows, optional_inputs, rows};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;

/// Records the rmsnorm of `n_rows` rows of `len` with the optional `gamma` (`[len]`).
#[allow(clippy::too_many_arguments)]
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    x: Operand<'_>,
    gamma: Option<Operand<'_>>,
    eps: f32,
    n_rows: usize,
    len: usize,
    out: Out<'_>,
) -> Result<()> {
    let k = KernelId::VectorRmsnorm;
    let (r, l) = check_rows(k.name(), n_rows, len)?;
    let params = VectorParams {
        x_bf16: x.bf16(),
        rows: r,
        len: l,
        eps,
        ..Default::default()
    };
    let params = optional_inputs(params, gamma, None);
    rows(ctx, rec, k, params, &[x, gamma.unwrap_or(x)], out)
}
