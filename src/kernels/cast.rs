//! Launchers of the two cast shaders: `shaders/cast_f32_bf16.wgsl` (round f32 to packed bf16) and
//! `shaders/cast_bf16_f32.wgsl` (widen packed bf16 to f32). Both take a length and two buffers.

use bytemuck::{Pod, Zeroable};

use super::KernelId;
use crate::device::{GpuBuffer, GpuContext};

/// Uniforms of both cast shaders; the layout matches their `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    len: u32,
    _pad: [u32; 3],
}

const WORKGROUP: u32 = 256;

/// Records the rounding of `len` f32 elements of `src` into packed bf16 `dst`.
pub fn encode_round(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    len: u32,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) {
    // One invocation per packed output word.
    dispatch(
        ctx,
        encoder,
        KernelId::CastF32Bf16,
        len,
        len.div_ceil(2),
        src,
        dst,
    );
}

/// Records the widening of `len` packed bf16 elements of `src` into f32 `dst`.
pub fn encode_widen(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    len: u32,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) {
    // One invocation per output element.
    dispatch(ctx, encoder, KernelId::CastBf16F32, len, len, src, dst);
}

fn dispatch(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    kernel: KernelId,
    len: u32,
    invocations: u32,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) {
    let params = ctx.uniform(bytemuck::bytes_of(&Params { len, _pad: [0; 3] }));
    let pipeline = ctx.pipeline(kernel, &[]);
    let bind = ctx.bind_group(&pipeline, &[&params, src, dst]);
    let (x, y) = ctx.grid_2d(invocations.div_ceil(WORKGROUP));
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(kernel.name()),
        timestamp_writes: None,
    });
    pass.set_pipeline(&pipeline);
    pass.set_bind_group(0, &bind, &[]);
    pass.dispatch_workgroups(x, y, 1);
}
