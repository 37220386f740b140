//! Launcher of `shaders/cube_repack.wgsl`: a `cube_matmul` operand copied into the layout the fast path
//! reads (`[batches][rows][kp]`, k contiguous, K padded with +0 to a multiple of 8), so that a transposed
//! A, an odd K or odd strides still run on `cube_matmul_sg`. A data move on the device only: no op of a
//! program, so no CPU twin of its own; the matmul it feeds gives the twin's bits (the GPU identity tests).

use super::vector::{Out, VectorParams, elementwise};
use super::{Operand, device_bytes, u32_of};
use crate::Result;
use crate::device::{GpuBuffer, GpuContext, Recording};
use crate::kernel_table::KernelId;

/// Where the operand's element (b, r, k) is: `b * batch + r * row + k * k_stride`, for `batches` (1 for an
/// operand shared by the batch), `rows` and `k` (the real K).
#[derive(Clone, Copy, Debug)]
pub struct Source {
    pub batches: usize,
    pub rows: usize,
    pub k: usize,
    pub batch: usize,
    pub row: usize,
    pub k_stride: usize,
}

/// Records the repack of `x` into a new buffer of `[batches][rows][kp]` elements, returned to the caller
/// (who keeps it in the recording until it is queued).
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    x: Operand<'_>,
    src: Source,
    kp: usize,
) -> Result<GpuBuffer> {
    let name = KernelId::CubeRepack.name();
    let numel = src.batches * src.rows * kp;
    let out = ctx.storage(device_bytes(x.dtype, numel))?;
    let dims = [1, src.batches, src.rows, kp];
    let strides = [0, src.batch, src.row, src.k_stride];
    let mut params = VectorParams {
        x_bf16: x.bf16(),
        cols: u32_of(name, "K", src.k)?,
        ..Default::default()
    };
    for d in 0..4 {
        params.dims[d] = u32_of(name, "a dimension", dims[d])?;
        params.x_strides[d] = u32_of(name, "a stride", strides[d])?;
    }
    let o = Out {
        buf: &out,
        dtype: x.dtype,
        numel,
    };
    elementwise(ctx, rec, KernelId::CubeRepack, params, &[x.buf], o)?;
    Ok(out)
}
