//! Launchers of the two cast shaders: `shaders/cast_f32_bf16.wgsl` (round f32 to packed bf16, nearest
//! even) and `shaders/cast_bf16_f32.wgsl` (widen packed bf16 to f32, exactly). CPU twins:
//! `src/reference/cast_f32_bf16.rs` and `src/reference/cast_bf16_f32.rs`.

use bytemuck::{Pod, Zeroable};

use super::u32_of;
use crate::Result;
use crate::device::{Dispatch, GpuBuffer, GpuContext, Recording};
use crate::kernel_table::KernelId;

/// Uniforms of both cast shaders; the layout matches their `Params` (size test below).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    len: u32,
    _pad: [u32; 3],
}

/// Records the rounding of `len` f32 elements of `src` into packed bf16 `dst`.
pub fn record_round(
    ctx: &GpuContext,
    rec: &mut Recording,
    len: usize,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) -> Result<()> {
    // One invocation per packed output word.
    let n = u32_of("cast", "the elements", len)?;
    record(ctx, rec, KernelId::CastF32Bf16, n, n.div_ceil(2), src, dst)
}

/// Records the widening of `len` packed bf16 elements of `src` into f32 `dst`.
pub fn record_widen(
    ctx: &GpuContext,
    rec: &mut Recording,
    len: usize,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) -> Result<()> {
    // One invocation per output element.
    let n = u32_of("cast", "the elements", len)?;
    record(ctx, rec, KernelId::CastBf16F32, n, n, src, dst)
}

fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    kernel: KernelId,
    len: u32,
    invocations: u32,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) -> Result<()> {
    let params = Params { len, _pad: [0; 3] };
    let (x, y) = rec.grid_2d(invocations.div_ceil(kernel.workgroup_size()[0]));
    let d = Dispatch {
        params: bytemuck::bytes_of(&params),
        buffers: &[src, dst],
        groups: [x, y, 1],
    };
    rec.dispatch(ctx, kernel, &[], &[d])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uniform_struct_matches_the_wgsl_layout() {
        for k in [KernelId::CastF32Bf16, KernelId::CastBf16F32] {
            assert_eq!(std::mem::size_of::<Params>() as u32, k.uniform_size());
        }
    }
}
