//! What the Vector-unit launchers (`vector_*.rs`, `mte_*.rs`) share: one uniform layout, [`VectorParams`]
//! (`shaders/shared/vector_params.wgsl`), and two launch shapes. Elementwise kernels run one invocation
//! per pair of result elements; row kernels one workgroup per row, their f32 result rounded to bf16 by a
//! cast dispatch after them when bf16 is asked for.

use bytemuck::{Pod, Zeroable};

use super::{Operand, cast, device_bytes};
use crate::device::{Dispatch, GpuBuffer, GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::Broadcast;
use crate::tensor::DType;
use crate::{Error, Result};

/// Uniforms of every vector shader; the layout matches `Params` in `shaders/shared/vector_params.wgsl`
/// (a size test below holds the two together).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub(crate) struct VectorParams {
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
    /// `vector_chain`: bit k set when side operand k holds packed bf16.
    pub sides_bf16: u32,
    pub _pad: u32,
    pub dims: [u32; 4],
    pub x_strides: [u32; 4],
    /// The second input's strides (`vector_chain`: side operand 0's).
    pub y_strides: [u32; 4],
    /// `vector_chain`: side operands 1-3's strides.
    pub s_strides: [[u32; 4]; 3],
}

/// `flags` bits: which optional inputs are bound for real, and whether `scale` applies.
pub(crate) const HAS_Y: u32 = 1;
pub(crate) const HAS_Z: u32 = 2;
pub(crate) const HAS_SCALE: u32 = 4;

/// A result buffer: `numel` elements of `dtype`.
#[derive(Clone, Copy)]
pub struct Out<'a> {
    pub buf: &'a GpuBuffer,
    pub dtype: DType,
    pub numel: usize,
}

impl VectorParams {
    /// The broadcast of x (and y) over the result, in 32-bit counts.
    pub(crate) fn with_broadcast(mut self, op: &'static str, b: &Broadcast) -> Result<Self> {
        for d in 0..4 {
            self.dims[d] = super::u32_of(op, "a dimension", b.dims[d])?;
            self.x_strides[d] = super::u32_of(op, "a stride", b.strides[0][d])?;
            self.y_strides[d] = super::u32_of(op, "a stride", b.strides[1][d])?;
        }
        Ok(self)
    }
}

/// Records an elementwise kernel over `out.numel` result elements. `inputs` are bound at 1, 2, ... in
/// order, the result last.
pub(super) fn elementwise(
    ctx: &GpuContext,
    rec: &mut Recording,
    kernel: KernelId,
    params: VectorParams,
    inputs: &[&GpuBuffer],
    out: Out<'_>,
) -> Result<()> {
    elementwise_with(ctx, rec, kernel, &[], params, inputs, out)
}

/// [`elementwise`] with the pipeline's override constants (one of the shader's `@variants`).
pub(super) fn elementwise_with(
    ctx: &GpuContext,
    rec: &mut Recording,
    kernel: KernelId,
    constants: &[(&'static str, f64)],
    mut params: VectorParams,
    inputs: &[&GpuBuffer],
    out: Out<'_>,
) -> Result<()> {
    params.len = super::u32_of(kernel.name(), "the result's elements", out.numel)?;
    params.out_bf16 = u32::from(out.dtype == DType::Bf16);
    // Elements per invocation: a pair, or a chunk of 8 with WIDE (shared/elementwise_main.wgsl).
    let per = if constants.contains(&("WIDE", 1.0)) {
        8
    } else {
        2
    };
    let invocations = params.len.div_ceil(per);
    if invocations == 0 {
        return Ok(());
    }
    let (x, y) = rec.grid_2d(invocations.div_ceil(kernel.workgroup_size()[0]));
    let mut buffers = inputs.to_vec();
    buffers.push(out.buf);
    let d = Dispatch {
        params: bytemuck::bytes_of(&params),
        buffers: &buffers,
        groups: [x, y, 1],
    };
    rec.dispatch(ctx, kernel, constants, &[d])
}

/// Records a row kernel over `params.rows` rows of `params.len`; rows beyond one dispatch's grid go to
/// further dispatches. A bf16 `out` gets the f32 rows rounded by a cast dispatch. The pipeline's
/// override constant is FUNC for the reduction and FLAGS (which optional inputs are present) for the
/// others; see [`row_constant`].
pub(super) fn rows(
    ctx: &GpuContext,
    rec: &mut Recording,
    kernel: KernelId,
    params: VectorParams,
    inputs: &[Operand<'_>],
    out: Out<'_>,
) -> Result<()> {
    // A bf16 result: the rows in f32 first, in a temporary the recording keeps until it is queued.
    // (Recording gives the Vector unit's ops only f32 and bf16 results.)
    let f32_rows = match out.dtype {
        DType::Bf16 => Some(ctx.storage(device_bytes(DType::F32, out.numel))?),
        _ => None,
    };
    let target = f32_rows.as_ref().unwrap_or(out.buf);
    let max = rec.max_workgroups().max(1);
    let per_dispatch = max.saturating_mul(max);
    let mut all_params = Vec::new();
    let mut base = 0u32;
    while base < params.rows {
        let n = (params.rows - base).min(per_dispatch);
        let (x, y) = rec.grid_2d(n);
        all_params.push((
            VectorParams {
                row_base: base,
                ..params
            },
            [x, y, 1],
        ));
        base += n;
    }
    let mut buffers: Vec<&GpuBuffer> = inputs.iter().map(|o| o.buf).collect();
    buffers.push(target);
    let dispatches: Vec<Dispatch<'_>> = all_params
        .iter()
        .map(|(p, groups)| Dispatch {
            params: bytemuck::bytes_of(p),
            buffers: &buffers,
            groups: *groups,
        })
        .collect();
    // Rows a multiple of 4 long are read and written in whole words (shared/row_tree.wgsl).
    let whole = ("WHOLE", f64::from(u8::from(params.len % 4 == 0)));
    rec.dispatch(
        ctx,
        kernel,
        &[row_constant(kernel, &params), whole],
        &dispatches,
    )?;
    drop(dispatches);
    drop(buffers);
    if let Some(f32_rows) = f32_rows {
        cast::record_round(ctx, rec, out.numel, &f32_rows, out.buf)?;
        rec.keep(f32_rows);
    }
    Ok(())
}

/// A row kernel's override constant: the reduction's function, or which optional inputs are present, so
/// that each pipeline holds only the code it runs (a software rasterizer runs both sides of a branch on a
/// uniform).
fn row_constant(kernel: KernelId, params: &VectorParams) -> (&'static str, f64) {
    match kernel {
        KernelId::VectorReduce => ("FUNC", f64::from(params.func)),
        _ => ("FLAGS", f64::from(params.flags & (HAS_Y | HAS_Z))),
    }
}

/// The flags and bf16 bits of a row kernel's optional second and third inputs.
pub(super) fn optional_inputs(
    mut params: VectorParams,
    y: Option<Operand<'_>>,
    z: Option<Operand<'_>>,
) -> VectorParams {
    if let Some(y) = y {
        params.flags |= HAS_Y;
        params.y_bf16 = y.bf16();
    }
    if let Some(z) = z {
        params.flags |= HAS_Z;
        params.z_bf16 = z.bf16();
    }
    params
}

/// Refuses a result the shader cannot index.
pub(super) fn check_rows(op: &'static str, rows: usize, len: usize) -> Result<(u32, u32)> {
    let r = super::u32_of(op, "the rows", rows)?;
    let l = super::u32_of(op, "the row length", len)?;
    super::u32_of(
        op,
        "x's elements",
        rows.checked_mul(len)
            .ok_or_else(|| Error::shape(op, format!("{rows} rows of {len} overflow")))?,
    )?;
    Ok((r, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uniform_struct_matches_the_wgsl_layout() {
        // The size naga gives the WGSL struct, for every kernel that uses it.
        for k in KernelId::ALL {
            let name = k.name();
            if name.starts_with("vector_") || name.starts_with("mte_") {
                assert_eq!(
                    std::mem::size_of::<VectorParams>() as u32,
                    k.uniform_size(),
                    "{name}"
                );
            }
        }
        // The vec4 fields start on 16 bytes, as WGSL's uniform layout wants.
        assert_eq!(std::mem::offset_of!(VectorParams, dims), 64);
    }
}
