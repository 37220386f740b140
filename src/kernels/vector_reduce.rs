//! Launcher of `shaders/vector_reduce.wgsl`: a reduction over the last axis, one workgroup per row. CPU
//! twin: `src/reference/vector_reduce.rs`.

use super::Operand;
use super::vector::{Out, VectorParams, check_rows, rows};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::ReduceFn;

/// Records `out[r] = f(x[r, ..])` over `n_rows` rows of `len`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    f: ReduceFn,
    x: Operand<'_>,
    n_rows: usize,
    len: usize,
    out: Out<'_>,
) -> Result<()> {
    let k = KernelId::VectorReduce;
    let (r, l) = check_rows(k.name(), n_rows, len)?;
    let params = VectorParams {
        func: f.code(),
        x_bf16: x.bf16(),
        rows: r,
        len: l,
        ..Default::default()
    };
    rows(ctx, rec, k, params, &[x], out)
}
