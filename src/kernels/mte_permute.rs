//! Launcher of `shaders/mte_permute.wgsl`: a copy with the axes reordered, bits unchanged. CPU twin:
//! `src/reference/mte_permute.rs`. A reshape needs no kernel: [`record_copy`] copies the buffer.

use super::vector::{Out, VectorParams, elementwise};
use super::{Operand, device_bytes, u32_of};
use crate::Result;
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::Broadcast;

/// Records `out[f] = x[offset of f through bcast]`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    x: Operand<'_>,
    bcast: &Broadcast,
    out: Out<'_>,
) -> Result<()> {
    let name = KernelId::MtePermute.name();
    let mut params = VectorParams {
        x_bf16: x.bf16(),
        ..Default::default()
    };
    for d in 0..4 {
        params.dims[d] = u32_of(name, "a dimension", bcast.dims[d])?;
        params.x_strides[d] = u32_of(name, "a stride", bcast.strides[0][d])?;
    }
    elementwise(ctx, rec, KernelId::MtePermute, params, &[x.buf], out)
}

/// Records a reshape: `out` gets x's bits unchanged.
pub fn record_copy(rec: &mut Recording, x: Operand<'_>, out: Out<'_>) {
    rec.copy(x.buf, out.buf, device_bytes(x.dtype, out.numel));
}
