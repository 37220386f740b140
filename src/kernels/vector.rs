//! Launchers of the Vector-unit shaders (`shaders/vector_*.wgsl`). They share one uniform layout,
//! [`VectorParams`] (`shaders/shared/vector_params.wgsl`), and two launch shapes: elementwise kernels run
//! one invocation per pair of result elements, row kernels one 256-wide workgroup per row.

use bytemuck::{Pod, Zeroable};

use super::KernelId;
use crate::device::{Bindable, GpuContext};
use crate::{Error, Result};

/// Uniforms of every vector shader; the layout matches `Params` in `shaders/shared/vector_params.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct VectorParams {
    pub len: u32,
    pub rows: u32,
    /// Always 0: `keep()` ORs it into results so that no compiler can merge or reorder operations.
    pub zero: u32,
    pub func: u32,
    pub x_bf16: u32,
    pub y_bf16: u32,
    pub z_bf16: u32,
    pub out_bf16: u32,
    pub eps: f32,
    pub scale: f32,
    pub flags: u32,
    pub row_base: u32,
    pub cols: u32,
    pub seq: u32,
    pub _pad: [u32; 2],
    pub dims: [u32; 4],
    pub x_strides: [u32; 4],
    pub y_strides: [u32; 4],
}

/// `flags` bits: which optional inputs are bound for real, and whether `scale` applies.
pub const HAS_Y: u32 = 1;
pub const HAS_Z: u32 = 2;
pub const HAS_SCALE: u32 = 4;

/// Invocations per workgroup (elementwise) and lanes per row (row kernels).
const WORKGROUP: u32 = 256;

/// A count that the shaders index with 32 bits, or an error naming the op.
pub fn u32_of(op: &'static str, what: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        Error::shape(
            op,
            format!("{what} = {v} exceeds the GPU's 32-bit indexing; use --executor cpu"),
        )
    })
}

/// Records an elementwise kernel over `params.len` result elements. `buffers` are bound at 1, 2, ... in
/// order (the result last).
pub(crate) fn encode_elementwise(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    kernel: KernelId,
    params: &VectorParams,
    buffers: &[&dyn Bindable],
) {
    let pairs = params.len.div_ceil(2);
    if pairs == 0 {
        return;
    }
    let (x, y) = ctx.grid_2d(pairs.div_ceil(WORKGROUP));
    dispatch(ctx, encoder, kernel, params, buffers, &[(x, y)]);
}

/// Records a row kernel over `params.rows` rows; rows beyond one dispatch's grid go to further dispatches.
pub(crate) fn encode_rows(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    kernel: KernelId,
    params: &VectorParams,
    buffers: &[&dyn Bindable],
) {
    let max = ctx.limits().max_compute_workgroups_per_dimension.max(1);
    let per_dispatch = max.saturating_mul(max);
    let mut grids = Vec::new();
    let mut base = 0u32;
    while base < params.rows {
        let n = (params.rows - base).min(per_dispatch);
        grids.push((base, ctx.grid_2d(n)));
        base += n;
    }
    for (row_base, grid) in grids {
        let p = VectorParams {
            row_base,
            ..*params
        };
        dispatch(ctx, encoder, kernel, &p, buffers, &[grid]);
    }
}

fn dispatch(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    kernel: KernelId,
    params: &VectorParams,
    buffers: &[&dyn Bindable],
    grids: &[(u32, u32)],
) {
    let uniform = ctx.uniform(bytemuck::bytes_of(params));
    let pipeline = ctx.pipeline(kernel, &[]);
    let mut all: Vec<&dyn Bindable> = vec![&uniform];
    all.extend_from_slice(buffers);
    let bind = ctx.bind_group(&pipeline, &all);
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(kernel.name()),
        timestamp_writes: None,
    });
    pass.set_pipeline(&pipeline);
    pass.set_bind_group(0, &bind, &[]);
    for &(x, y) in grids {
        pass.dispatch_workgroups(x, y, 1);
    }
}
