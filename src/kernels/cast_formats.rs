//! Launcher of `shaders/cast_formats.wgsl`: a cast between any two element formats, nearest even or
//! stochastic. CPU twin: `src/reference/cast_formats.rs`.

use bytemuck::{Pod, Zeroable};

use super::u32_of;
use crate::Result;
use crate::device::{Dispatch, GpuBuffer, GpuContext, Recording};
use crate::kernel_table::{KernelId, codes};
use crate::program::Rounding;
use crate::tensor::DType;

/// Uniforms of `cast_formats.wgsl`; the layout matches its `Params` (size test below).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    len: u32,
    src_fmt: u32,
    dst_fmt: u32,
    stochastic: u32,
    seed: u32,
    index_base: u32,
    _pad: [u32; 2],
}

/// The shader's `FMT_*` code of a dtype.
pub fn format_code(d: DType) -> u32 {
    match d {
        DType::Bf16 => codes::FMT_BF16,
        DType::F32 => codes::FMT_F32,
        DType::F16 => codes::FMT_F16,
        DType::F8E4M3 => codes::FMT_E4M3,
        DType::F8E5M2 => codes::FMT_E5M2,
        DType::I8 => codes::FMT_I8,
        DType::I32 => codes::FMT_I32,
    }
}

/// What one cast launch converts.
#[derive(Clone, Copy, Debug)]
pub struct Cast {
    pub len: usize,
    pub from: DType,
    pub to: DType,
    pub rounding: Rounding,
    /// The element index of `src`'s first element in the whole tensor (a chunk's offset).
    pub index_base: u32,
}

/// Records the cast of `c.len` elements of `src` into `dst`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    c: Cast,
    src: &GpuBuffer,
    dst: &GpuBuffer,
) -> Result<()> {
    let len = u32_of("cast_formats", "the elements", c.len)?;
    let (stochastic, seed) = match c.rounding {
        Rounding::Nearest => (0, 0),
        Rounding::Stochastic { seed } => (1, seed),
    };
    let params = Params {
        len,
        src_fmt: format_code(c.from),
        dst_fmt: format_code(c.to),
        stochastic,
        seed,
        index_base: c.index_base,
        _pad: [0; 2],
    };
    // One invocation per output word.
    let words = len.div_ceil(4 / c.to.size() as u32);
    let kernel = KernelId::CastFormats;
    let (x, y) = rec.grid_2d(words.div_ceil(kernel.workgroup_size()[0]));
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
        assert_eq!(
            std::mem::size_of::<Params>() as u32,
            KernelId::CastFormats.uniform_size()
        );
    }

    #[test]
    fn every_dtype_has_its_own_code() {
        let mut seen: Vec<u32> = DType::ALL.iter().map(|&d| format_code(d)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), DType::ALL.len());
    }
}
