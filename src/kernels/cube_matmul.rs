//! Launcher of `shaders/cube_matmul.wgsl` and of its fast path `shaders/cube_matmul_sg.wgsl`: uniforms,
//! the choice between them, tile sizes per adapter and dispatch size.
//!
//! The fast path (register tiles, operands as packed vec4 words, B shared through subgroup broadcasts) runs
//! wherever the adapter's subgroups hold at least 8 invocations, for Tree16 and Sequential accumulation on
//! bf16 operands or in the fp32 and HF32 modes ([`fast_plan`]). It reads A row-major and B row-major or
//! transposed (`[N][K]`, as a linear layer's weight), every row (or column) starting on a whole vec4 word
//! (K a multiple of 8, the strides multiples of the elements per word, for row-major B also N a multiple
//! of 8). An operand that is not laid out so (a transposed A, an odd K, odd strides) is first repacked on
//! the device (`cube_repack.rs`), which costs one pass over it. The other formats (fp16, fp8, int8, with
//! FixPipe's scales), the narrow-accumulator experiment and adapters without subgroups run the general
//! kernel. Both give the contract's bits.

use bytemuck::{Pod, Zeroable};

use super::cube_repack::{self, Source};
use super::vector_epilogue::Epilogue;
use super::{Operand, cast_formats, device_bytes};
use crate::device::{Dispatch, GpuBuffer, GpuContext, Recording};
use crate::kernel_table::{KernelId, codes, overrides};
use crate::numerics::Accumulation;
use crate::program::{CubeFormat, MatmulGeometry};
use crate::tensor::DType;
use crate::{Error, Result};

/// Uniforms of `cube_matmul.wgsl` and `cube_matmul_sg.wgsl`; the layout matches their `Params` (size test
/// below).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    a_batch: u32,
    a_m: u32,
    a_k: u32,
    /// Always 0: the shader ORs it into every partial sum so that no compiler can reorder the additions.
    zero: u32,
    b_batch: u32,
    b_k: u32,
    b_n: u32,
    /// FixPipe's int32 output (int8 only): bit 0 raw bits, bit 1 channel scale, bit 2 token scale.
    flags: u32,
    /// First row tile and batch entry of this dispatch (a launch may need several; see `encode`).
    tile_m_base: u32,
    batch_base: u32,
    /// The narrow accumulator experiment: its FMT_* code and period in fractals (0: none).
    narrow: [u32; 2],
    /// The fast path's way out (`shaders/shared/cube_sg_out.wgsl`): EPI_* flags and the scale (its
    /// activation is the pipeline constant ACT). The general kernel ignores them.
    epi: u32,
    _pad: u32,
    scale: f32,
    _pad2: u32,
}

/// Columns of C per workgroup (the shader's TN).
const TILE_N: usize = 64;

/// `cube_matmul_sg`: rows of C per invocation and columns per workgroup.
const SG_ROWS: usize = 4;
const SG_COLS: usize = 32;

/// How `cube_matmul_sg` takes an op: the geometry it reads (of the operands as given, or as repacked) and
/// which operands are repacked first.
#[derive(Clone, Copy, Debug)]
pub struct FastPlan {
    /// The kernel's view: strides of the repacked operands where they are repacked; K is the real K.
    pub geometry: MatmulGeometry,
    pub repack_a: Option<Source>,
    pub repack_b: Option<Source>,
    /// K rounded up to a multiple of 8: the k extent of a repacked operand.
    pub kp: usize,
}

/// Whether `cube_matmul_sg` computes this op on this device (see the module docs). Its indices are then
/// in bounds by construction, which is why it runs without wgpu's bounds checks (`device::pipelines`).
pub fn uses_fast_path(ctx: &GpuContext, g: &MatmulGeometry, acc: Accumulation) -> bool {
    fast_plan(ctx, g, acc).is_some()
}

/// The fast path's plan for this op on this device, or `None` where the general kernel runs it.
pub fn fast_plan(ctx: &GpuContext, g: &MatmulGeometry, acc: Accumulation) -> Option<FastPlan> {
    let formats = [CubeFormat::Bf16, CubeFormat::Fp32, CubeFormat::Hf32];
    if ctx.subgroup_min_size().is_none_or(|s| s < 8)
        || acc.narrowing().is_some()
        || !formats.contains(&g.format)
        || g.m == 0
        || g.n == 0
        || g.k == 0
    {
        return None;
    }
    let per_word = if g.format == CubeFormat::Bf16 { 8 } else { 4 };
    let words = |v: &[usize]| v.iter().all(|v| v % per_word == 0);
    let k_ok = g.k % 8 == 0;
    // A row-major, its rows starting on words.
    let a_ok = k_ok && g.a_k == 1 && words(&[g.a_m, g.a_batch]);
    // Transposed B ([N][K], as a linear layer's weight): its columns start on words; N may end anywhere.
    // Row-major B: its rows start on words, and N fills whole groups of 8 columns.
    let b_ok = k_ok
        && if b_transposed(g) {
            words(&[g.b_n, g.b_batch])
        } else {
            g.b_n == 1 && g.n % 8 == 0 && words(&[g.b_k, g.b_batch])
        };
    let kp = g.k.next_multiple_of(8);
    let batches = |stride: usize| if stride == 0 { 1 } else { g.batch };
    let mut kernel = *g;
    let repack_a = (!a_ok).then(|| {
        kernel.a_batch = if g.a_batch == 0 { 0 } else { g.m * kp };
        kernel.a_m = kp;
        kernel.a_k = 1;
        Source {
            batches: batches(g.a_batch),
            rows: g.m,
            k: g.k,
            batch: g.a_batch,
            row: g.a_m,
            k_stride: g.a_k,
        }
    });
    // B is repacked as its transposed [N][kp], which takes any N.
    let repack_b = (!b_ok).then(|| {
        kernel.b_batch = if g.b_batch == 0 { 0 } else { g.n * kp };
        kernel.b_n = kp;
        kernel.b_k = 1;
        Source {
            batches: batches(g.b_batch),
            rows: g.n,
            k: g.k,
            batch: g.b_batch,
            row: g.b_n,
            k_stride: g.b_k,
        }
    });
    // A repacked operand must fit one binding, as the operands do.
    let dtype = g.format.operand_dtype();
    let fits = [repack_a, repack_b]
        .into_iter()
        .flatten()
        .all(|s| device_bytes(dtype, s.batches * s.rows * kp) <= ctx.max_binding_bytes());
    fits.then_some(FastPlan {
        geometry: kernel,
        repack_a,
        repack_b,
        kp,
    })
}

/// What the fast path does on the way out, inside its own dispatch: the matmul's epilogue (if any) and
/// the one rounding to the result's dtype (f32 or bf16).
#[derive(Clone, Copy)]
pub struct WayOut<'a> {
    pub epilogue: Option<&'a Epilogue<'a>>,
    pub dtype: DType,
}

/// Whether the fast path computes this op and writes its result of `dtype`, epilogue applied, in the
/// same dispatch: an f32 result, or a bf16 one where N is even (each invocation then writes whole words
/// of two columns; an odd N would share a word between two rows of different invocations).
pub fn fuses_way_out(
    ctx: &GpuContext,
    g: &MatmulGeometry,
    acc: Accumulation,
    dtype: DType,
) -> bool {
    writes_way_out(g, dtype) && fast_plan(ctx, g, acc).is_some()
}

/// The result dtypes the fast path writes itself (see [`fuses_way_out`]).
fn writes_way_out(g: &MatmulGeometry, dtype: DType) -> bool {
    dtype == DType::F32 || (dtype == DType::Bf16 && g.n % 2 == 0)
}

/// The uniforms of a way out: EPI_* flags, the activation's code and the scale.
fn way_out_params(w: &WayOut<'_>) -> (u32, u32, f32) {
    let mut epi = 0;
    if w.dtype == DType::Bf16 {
        epi |= codes::EPI_OUT_BF16;
    }
    let Some(e) = w.epilogue else {
        return (epi, codes::ACT_NONE, 1.0);
    };
    if e.scale.is_some() {
        epi |= codes::EPI_SCALE;
    }
    if let Some(b) = e.bias {
        epi |= codes::EPI_BIAS
            | if b.bf16() == 1 {
                codes::EPI_BIAS_BF16
            } else {
                0
            };
    }
    if let Some(r) = e.residual {
        epi |= codes::EPI_RESIDUAL
            | if r.bf16() == 1 {
                codes::EPI_RESIDUAL_BF16
            } else {
                0
            };
    }
    (epi, e.activation.code(), e.scale.unwrap_or(1.0))
}

/// B stored `[N][K]`: k contiguous in each column (`b_k == 1`), unless K is 1 and N is too (ambiguous).
fn b_transposed(g: &MatmulGeometry) -> bool {
    g.b_k == 1 && g.b_n != 1
}

/// Invocations per `cube_matmul_sg` workgroup. A software rasterizer runs each workgroup on one host
/// thread, SIMD lane by lane: 32 invocations (4 subgroups of 8 on lavapipe) amortise its per-workgroup
/// cost while leaving enough workgroups for every core; a GPU wants a couple of warps per workgroup.
fn sg_workgroup(ctx: &GpuContext) -> usize {
    let [software, hardware] = SG_WORKGROUPS;
    if ctx.description().software {
        software
    } else {
        hardware
    }
}

/// The fast path's workgroup sizes: on a software rasterizer, and on GPUs (the shader's `@variants WG`).
const SG_WORKGROUPS: [usize; 2] = [
    overrides::CUBE_MATMUL_SG_WG[0] as usize,
    overrides::CUBE_MATMUL_SG_WG[1] as usize,
];
/// Rows of C per invocation of the tiled kernel: for small M, and otherwise (a 64-row tile; the shader's
/// `@variants ROWS`).
const ROWS_PER_INVOCATION: [u32; 2] = overrides::CUBE_MATMUL_ROWS;

/// Rows of C per invocation: 4 (a 64-row tile) unless M is small, where 1 wastes less.
fn rows_per_invocation(m: usize) -> u32 {
    let [small, large] = ROWS_PER_INVOCATION;
    if m <= 16 { small } else { large }
}

/// The override constants of the fast path's pipeline (each launch's must be one of the shader's declared
/// `@variants`, which the build validates and the backend tests translate).
fn sg_constants(
    wg: usize,
    b_transposed: bool,
    format: CubeFormat,
    sequential: bool,
    activation: u32,
) -> Vec<(&'static str, f64)> {
    vec![
        ("WG", wg as f64),
        ("B_T", f64::from(u8::from(b_transposed))),
        ("IN_FORMAT", f64::from(format.code())),
        ("SEQ", f64::from(u8::from(sequential))),
        ("ACT", f64::from(activation)),
    ]
}

/// The override constants of the tiled kernel's pipeline.
fn tiled_constants(sequential: bool, rows: u32, format: CubeFormat) -> Vec<(&'static str, f64)> {
    vec![
        ("SEQUENTIAL", f64::from(u8::from(sequential))),
        ("ROWS", f64::from(rows)),
        ("IN_FORMAT", f64::from(format.code())),
    ]
}

/// What FixPipe does with an int8 matmul's int32 accumulator (ignored for the other formats): store its
/// raw bits, or convert it to f32 and multiply by the scales given.
#[derive(Clone, Copy, Default)]
pub struct IntOut<'a> {
    pub raw: bool,
    /// f32 `[N]`.
    pub channel: Option<&'a GpuBuffer>,
    /// f32 `[batch * M]`.
    pub token: Option<&'a GpuBuffer>,
}

fn u32_of(what: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        Error::shape(
            "cube_matmul",
            format!("{what} = {v} exceeds the GPU's 32-bit indexing"),
        )
    })
}

/// Records one `cube_matmul` over buffers `a`, `b` (packed in the format's dtype) into `c` (`[batch, M,
/// N]`): the accumulator's f32 bits (int32 bits for a raw int8 one), or with `way_out` (only where
/// [`fuses_way_out`] holds) the result of its dtype, epilogue applied.
#[allow(clippy::too_many_arguments)]
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    g: &MatmulGeometry,
    acc: Accumulation,
    a: &GpuBuffer,
    b: &GpuBuffer,
    c: &GpuBuffer,
    int_out: IntOut<'_>,
    way_out: Option<WayOut<'_>>,
) -> Result<()> {
    let plan = fast_plan(ctx, g, acc);
    if let Some(w) = &way_out
        && (plan.is_none() || !writes_way_out(g, w.dtype))
    {
        return Err(Error::Program(format!(
            "cube_matmul: the fast path cannot write a {} result of this geometry ({g:?})",
            w.dtype
        )));
    }
    let (epi, act, scale) = way_out.as_ref().map_or((0, 0, 1.0), way_out_params);
    let flags = u32::from(int_out.raw)
        | (u32::from(int_out.channel.is_some()) << 1)
        | (u32::from(int_out.token.is_some()) << 2);
    // The fast path reads repacked operands where its plan says so; they live until the recording is
    // queued.
    let operand = |buf| Operand {
        buf,
        dtype: g.format.operand_dtype(),
    };
    let mut repacked = [None, None];
    if let Some(plan) = &plan {
        for (slot, (src, buf)) in [(plan.repack_a, a), (plan.repack_b, b)]
            .into_iter()
            .enumerate()
        {
            if let Some(src) = src {
                repacked[slot] = Some(cube_repack::record(ctx, rec, operand(buf), src, plan.kp)?);
            }
        }
    }
    let [ra, rb] = &repacked;
    let (a, b) = (ra.as_ref().unwrap_or(a), rb.as_ref().unwrap_or(b));
    let g = plan.as_ref().map_or(g, |p| &p.geometry);
    let params = Params {
        m: u32_of("M", g.m)?,
        n: u32_of("N", g.n)?,
        k: u32_of("K", g.k)?,
        batch: u32_of("batch", g.batch)?,
        a_batch: u32_of("A's batch stride", g.a_batch)?,
        a_m: u32_of("A's row stride", g.a_m)?,
        a_k: u32_of("A's column stride", g.a_k)?,
        zero: 0,
        b_batch: u32_of("B's batch stride", g.b_batch)?,
        b_k: u32_of("B's row stride", g.b_k)?,
        b_n: u32_of("B's column stride", g.b_n)?,
        flags,
        tile_m_base: 0,
        batch_base: 0,
        narrow: acc
            .narrowing()
            .map_or([0, 0], |n| [cast_formats::format_code(n.format), n.every]),
        epi,
        _pad: 0,
        scale,
        _pad2: 0,
    };
    let fast = plan.is_some();
    let rows = rows_per_invocation(g.m);
    let wg = sg_workgroup(ctx);
    let groups = if fast {
        [g.n.div_ceil(SG_COLS), g.m.div_ceil(SG_ROWS * wg), g.batch]
    } else {
        [
            g.n.div_ceil(TILE_N),
            g.m.div_ceil(16 * rows as usize),
            g.batch,
        ]
    };
    // Rows of tiles and batch entries beyond one dispatch's limit go to further dispatches with offsets;
    // columns would need N > 4 million, which is refused instead.
    let max = rec.max_workgroups() as usize;
    if groups[0] > max {
        return Err(Error::shape(
            "cube_matmul",
            format!(
                "N = {} needs {} workgroups along N but the adapter allows {max}; split B's columns \
                 or use --executor cpu",
                g.n, groups[0]
            ),
        ));
    }
    let sequential = acc.order() == Accumulation::Sequential;
    let (kernel, constants) = if fast {
        let constants = sg_constants(wg, b_transposed(g), g.format, sequential, act);
        (KernelId::CubeMatmulSg, constants)
    } else {
        (
            KernelId::CubeMatmul,
            tiled_constants(sequential, rows, g.format),
        )
    };
    let mut all_params = Vec::new();
    for z0 in (0..groups[2]).step_by(max) {
        for y0 in (0..groups[1]).step_by(max) {
            let p = Params {
                tile_m_base: y0 as u32,
                batch_base: z0 as u32,
                ..params
            };
            let size = [groups[0], max.min(groups[1] - y0), max.min(groups[2] - z0)];
            all_params.push((p, size.map(|v| v as u32)));
        }
    }
    // An absent scale is bound to A, which the shader then never reads; the fast path has no scales.
    let tiled = [
        a,
        b,
        int_out.channel.unwrap_or(a),
        int_out.token.unwrap_or(a),
        c,
    ];
    // An absent bias or residual is bound to A, which the shader then never reads.
    let e = way_out.and_then(|w| w.epilogue);
    let bias = e.and_then(|e| e.bias).map_or(a, |o| o.buf);
    let residual = e.and_then(|e| e.residual).map_or(a, |o| o.buf);
    let fast_path = [a, b, bias, residual, c];
    let buffers: &[&GpuBuffer] = if fast { &fast_path } else { &tiled };
    let dispatches: Vec<Dispatch<'_>> = all_params
        .iter()
        .map(|(p, groups)| Dispatch {
            params: bytemuck::bytes_of(p),
            buffers,
            groups: *groups,
        })
        .collect();
    rec.dispatch(ctx, kernel, &constants, &dispatches)?;
    for buf in repacked.into_iter().flatten() {
        rec.keep(buf);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uniform_struct_matches_the_wgsl_layout() {
        for k in [KernelId::CubeMatmul, KernelId::CubeMatmulSg] {
            assert_eq!(
                std::mem::size_of::<Params>() as u32,
                k.uniform_size(),
                "{}",
                k.name()
            );
        }
    }

    #[test]
    fn every_constant_set_a_launch_can_use_is_declared() {
        let sg_formats = [CubeFormat::Bf16, CubeFormat::Fp32, CubeFormat::Hf32];
        for wg in SG_WORKGROUPS {
            for b_t in [false, true] {
                for format in sg_formats {
                    for seq in [false, true] {
                        for act in crate::program::Activation::ALL {
                            let c = sg_constants(wg, b_t, format, seq, act.code());
                            assert!(KernelId::CubeMatmulSg.is_declared_variant(&c));
                        }
                    }
                }
            }
        }
        for seq in [false, true] {
            for rows in ROWS_PER_INVOCATION {
                for format in CubeFormat::ALL {
                    let c = tiled_constants(seq, rows, format);
                    assert!(KernelId::CubeMatmul.is_declared_variant(&c));
                }
            }
        }
    }
}
