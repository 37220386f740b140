//! Launcher of `shaders/cast_f32_bf16.wgsl`: rounds an f32 buffer to a packed bf16 buffer.

use bytemuck::{Pod, Zeroable};

use super::KernelId;
use crate::device::{GpuBuffer, GpuContext};

/// Uniforms of `cast_f32_bf16.wgsl`; the layout matches its `Params`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    len: u32,
    _pad: [u32; 3],
}

const WORKGROUP: u32 = 256;

/// Records the cast of `len` f32 elements of `src` into packed bf16 `dst`.
pub fn encode(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    len: u32,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) {
    let params = ctx.uniform(bytemuck::bytes_of(&Params { len, _pad: [0; 3] }));
    let pipeline = ctx.pipeline(KernelId::CastF32Bf16, &[]);
    let bind = ctx.bind_group(&pipeline, &[&params, src, dst]);
    let words = len.div_ceil(2);
    let groups = words.div_ceil(WORKGROUP);
    let (x, y) = ctx.grid_2d(groups);
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(KernelId::CastF32Bf16.name()),
        timestamp_writes: None,
    });
    pass.set_pipeline(&pipeline);
    pass.set_bind_group(0, &bind, &[]);
    pass.dispatch_workgroups(x, y, 1);
}
