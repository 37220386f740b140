//! CPU twin of `shaders/cube_matmul.wgsl`: operands in any Cube format (bf16, fp16, fp8, hf32, the fp32
//! mode; int8 into int32), the L0C accumulator as result, in the contract's order of additions, as fast
//! as the host allows.
//!
//! The shape of the computation is a blocked GEMM (the GotoBLAS layout):
//! - Operands are widened to f32 and packed once per batch entry: A in panels of `mr` rows, `[Kp][mr]`
//!   each, B in panels of `nr` columns, `[Kp][nr]` each (the micro-kernel's tile), with K padded to a whole fractal (16) and M, N to
//!   whole panels, all padding zero, exactly as the shader pads its tiles.
//! - The micro-kernel (`microkernel.rs`) keeps an `mr x nr` tile of accumulators in SIMD registers and walks
//!   K fractal by fractal. K is blocked by [`KC_FRACTALS`] fractals so that one B panel stays in L1 while
//!   the A panels of an [`MC_PANELS`]-panel block stream from L2; the accumulators go back to memory between
//!   K blocks, which changes nothing, since fractals are still added in ascending k.
//! - The output is shared out over the host's threads by row panels (or by column panels when there are
//!   fewer row panels than threads, as for a matrix-vector product).
//!
//! Fused multiply-add: a product of two bf16 values is exact in f32 unless it underflows or overflows, and
//! then `fma(a, b, c)` rounds exactly as `a * b + c` does. The kernel uses fma only when a scan of both
//! packed operands proves every product exact (see [`products_exact`]); otherwise (subnormal-range or huge
//! values, infinities, NaNs, f32 operands that bf16 does not hold) it multiplies and adds separately.

mod microkernel;
mod pack;

use half::bf16;

use crate::numerics::accumulate::{FRACTAL_K, NarrowAccumulator};
use crate::numerics::bf16::cube_out;
use crate::numerics::{Accumulation, bf16_to_f32, formats};
use crate::program::{CubeFormat, MatmulGeometry};
use crate::tensor::TensorData;
use microkernel::{Kernel, Kind};
use pack::{give_back, pack, scratch, store};

/// Fractals per K block: 16 fractals of a 16-wide B panel are 16 KiB, half a typical L1.
const KC_FRACTALS: usize = 16;
/// Rows per M block: 128 rows by a K block of A are 128 KiB, well inside L2.
const MC_ROWS: usize = 128;

/// `C = A @ B` for every batch entry, f32 row-major `[batch, M, N]`.
pub fn cube_matmul(g: &MatmulGeometry, acc: Accumulation, a: &[bf16], b: &[bf16]) -> Vec<f32> {
    run(g, acc, |i| bf16_to_f32(a[i]), |i| bf16_to_f32(b[i]))
}

/// The Cube's fp32 mode: f32 operands, each product rounded to f32 on its own (no longer exact), then the
/// same additions in the same order as for bf16.
pub fn cube_matmul_f32(g: &MatmulGeometry, acc: Accumulation, a: &[f32], b: &[f32]) -> Vec<f32> {
    run(g, acc, |i| a[i], |i| b[i])
}

/// `C = A @ B` in the geometry's Cube format, from operands of that format's dtype: the f32 accumulator
/// for every float format, the int32 one for int8 (see [`cube_matmul_i8`]). Each operand is widened to
/// f32 exactly as the shader does (hf32 rounding its f32 operands first), then the same tiles and order
/// of additions as for bf16.
pub fn cube_matmul_format(
    g: &MatmulGeometry,
    acc: Accumulation,
    a: &TensorData,
    b: &TensorData,
) -> TensorData {
    match (g.format, a, b) {
        (CubeFormat::Bf16, TensorData::Bf16(a), TensorData::Bf16(b)) => {
            TensorData::F32(cube_matmul(g, acc, a, b))
        }
        (CubeFormat::Fp32, TensorData::F32(a), TensorData::F32(b)) => {
            TensorData::F32(cube_matmul_f32(g, acc, a, b))
        }
        (CubeFormat::Hf32, TensorData::F32(a), TensorData::F32(b)) => {
            let h = |x: f32| f32::from_bits(formats::hf32_round_bits(x.to_bits()));
            TensorData::F32(run(g, acc, |i| h(a[i]), |i| h(b[i])))
        }
        (CubeFormat::Int8, TensorData::I8(a), TensorData::I8(b)) => {
            TensorData::I32(cube_matmul_i8(g, a, b))
        }
        (_, a, b) => TensorData::F32(run(g, acc, |i| a.f32_at(i), |i| b.f32_at(i))),
    }
}

/// int8 x int8 -> int32: exact (recording refuses a K for which the sum could wrap), so the order of the
/// additions, and the accumulation model, change nothing.
pub fn cube_matmul_i8(g: &MatmulGeometry, a: &[i8], b: &[i8]) -> Vec<i32> {
    let mut out = vec![0i32; g.batch * g.m * g.n];
    for (bi, c) in out.chunks_mut(g.m * g.n.max(1)).enumerate() {
        // B as a row-major [K][N] panel of i32, so each row of C is a sum of scaled rows of B.
        let bp: Vec<i32> = (0..g.k * g.n)
            .map(|i| b[bi * g.b_batch + (i / g.n) * g.b_k + (i % g.n) * g.b_n] as i32)
            .collect();
        for (m, row) in c.chunks_mut(g.n).enumerate() {
            for k in 0..g.k {
                let av = a[bi * g.a_batch + m * g.a_m + k * g.a_k] as i32;
                for (cv, bv) in row.iter_mut().zip(&bp[k * g.n..(k + 1) * g.n]) {
                    *cv += av * bv;
                }
            }
        }
    }
    out
}

/// FixPipe's dequantisation (`program::dequant`): each int32 accumulator to f32 (nearest even), times
/// `channel[n]`, then times `token[row]` when given, each product rounded once; NaN canonical.
pub fn dequant(acc: &[i32], n: usize, channel: &[f32], token: Option<&[f32]>) -> Vec<f32> {
    acc.iter()
        .enumerate()
        .map(|(i, &v)| {
            let mut x = f32::from_bits(formats::i32_to_f32_bits(v)) * channel[i % n];
            if let Some(t) = token {
                x *= t[i / n];
            }
            cube_out(x)
        })
        .collect()
}

/// Padded sizes of one batch entry's packed operands.
#[derive(Clone, Copy)]
struct Packed {
    kernel: Kernel,
    /// The narrow accumulator's rounding ([`Accumulation::Narrow`]), applied between K runs.
    narrow: Option<NarrowAccumulator>,
    kp: usize,
    m_panels: usize,
    n_panels: usize,
}

fn run(
    g: &MatmulGeometry,
    acc: Accumulation,
    a: impl Fn(usize) -> f32 + Sync,
    b: impl Fn(usize) -> f32 + Sync,
) -> Vec<f32> {
    let kernel = Kernel::best();
    let (mr, nr) = (kernel.mr, kernel.nr);
    let d = Packed {
        kernel,
        narrow: acc.narrowing(),
        kp: g.k.div_ceil(FRACTAL_K) * FRACTAL_K,
        m_panels: g.m.div_ceil(mr),
        n_panels: g.n.div_ceil(nr),
    };
    let mut out = vec![0f32; g.batch * g.m * g.n];
    if g.m * g.n == 0 {
        return out;
    }
    let mut ap = scratch(d.m_panels * mr * d.kp);
    let mut bp = scratch(d.n_panels * nr * d.kp);
    for (bi, c) in out.chunks_mut(g.m * g.n).enumerate() {
        let a_row = |r: usize| bi * g.a_batch + r * g.a_m;
        pack(&mut ap, mr, d.kp, (g.m, g.k), &a_row, g.a_k, &a);
        let b_col = |n: usize| bi * g.b_batch + n * g.b_n;
        pack(&mut bp, nr, d.kp, (g.n, g.k), &b_col, g.b_k, &b);
        let kind = Kind {
            acc: acc.order(),
            fused: products_exact(&ap, &bp),
        };
        compute(kind, d, &ap, &bp, g.m, g.n, c);
    }
    give_back(ap);
    give_back(bp);
    out
}

/// Whether every product of an element of `a` with an element of `b` is exact in f32, so that fused
/// multiply-adds give the same bits as separate ones. True when all values are finite, have at most 12
/// significand bits (bf16, fp16, fp8, hf32 and int8 values do: a product then needs at most 24) and the binary exponents of nonzero values keep every
/// product within the normal range: `e_a + e_b >= -126` for the smallest and `e_a + e_b + 2 <= 128` for
/// the largest (a product of `[2^ea, 2^(ea+1))` and `[2^eb, 2^(eb+1))` lies in `[2^(ea+eb), 2^(ea+eb+2))`).
pub(crate) fn products_exact(a: &[f32], b: &[f32]) -> bool {
    match (exponent_range(a), exponent_range(b)) {
        (Some(Some((a_lo, a_hi))), Some(Some((b_lo, b_hi)))) => {
            a_lo + b_lo >= -126 && a_hi + b_hi <= 126
        }
        // One operand is all zeros: every product is a zero, which is exact.
        (Some(None), Some(_)) | (Some(_), Some(None)) => true,
        _ => false,
    }
}

/// `None` if some value is not finite, subnormal (then the scan does not bother: the separate operations
/// serve) or has more than 12 significand bits; else the smallest and largest binary exponent of the
/// nonzero values (`Some(None)` when there are none). Branch-free over the values, so that it vectorises.
fn exponent_range(v: &[f32]) -> Option<Option<(i32, i32)>> {
    let (mut low_bits, mut lo, mut hi, mut subnormal) = (0u32, 255u32, 0u32, false);
    for &x in v {
        let mag = x.to_bits() & 0x7fff_ffff;
        let field = mag >> 23;
        low_bits |= mag & 0x7ff;
        subnormal |= field == 0 && mag != 0;
        lo = lo.min(if mag == 0 { 255 } else { field });
        hi = hi.max(field);
    }
    if low_bits != 0 || subnormal || hi == 255 {
        return None;
    }
    Some((lo != 255).then(|| (lo as i32 - 127, hi as i32 - 127)))
}

/// All tiles of one batch entry into `c` (`[M][N]`), shared out over the host's threads.
fn compute(kind: Kind, d: Packed, ap: &[f32], bp: &[f32], m: usize, n: usize, c: &mut [f32]) {
    let (mr, nr) = (d.kernel.mr, d.kernel.nr);
    let threads = super::threads();
    // Row panels when there are enough, else column panels: every core gets a share either way.
    let by_rows = d.m_panels >= threads || d.m_panels >= d.n_panels;
    let (along, other) = if by_rows {
        (d.m_panels, d.n_panels)
    } else {
        (d.n_panels, d.m_panels)
    };
    let parts = threads.min(along).max(1);
    let per = along.div_ceil(parts);
    let regions: Vec<(usize, usize)> = (0..along)
        .step_by(per)
        .map(|s| (s, (s + per).min(along)))
        .collect();
    // By rows, each thread owns a run of whole rows of `c` and stores its own tiles; by columns (few
    // rows, so a small result) the tiles come back and are stored here.
    let mut parts_of_c: Vec<Option<&mut [f32]>> = Vec::new();
    let mut rest = c;
    for &(s0, s1) in &regions {
        if !by_rows {
            parts_of_c.push(None);
            continue;
        }
        let len = ((s1 * mr).min(m) - (s0 * mr).min(m)) * n;
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        parts_of_c.push(Some(head));
        rest = tail;
    }
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = regions
            .iter()
            .zip(parts_of_c)
            .map(|(&(s0, s1), part)| {
                let (rows, cols) = if by_rows {
                    (s0..s1, 0..other)
                } else {
                    (0..other, s0..s1)
                };
                s.spawn(move || {
                    let tiles = region(kind, d, ap, bp, rows.clone(), cols.clone());
                    match part {
                        Some(part) => {
                            store(&tiles, (mr, nr), (rows, cols), (m, n), s0, part);
                            give_back(tiles);
                            None
                        }
                        None => Some((rows, cols, tiles)),
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a CPU twin thread panicked"))
            .collect()
    });
    for (rows, cols, tiles) in results.into_iter().flatten() {
        store(&tiles, (mr, nr), (rows, cols), (m, n), 0, rest);
        give_back(tiles);
    }
}

/// The tiles of row panels `rows` by column panels `cols`, `[row panel][column panel][mr * nr]`.
fn region(
    kind: Kind,
    d: Packed,
    ap: &[f32],
    bp: &[f32],
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> Vec<f32> {
    let (k, mr, nr) = (d.kernel, d.kernel.mr, d.kernel.nr);
    let width = cols.len();
    let mut tiles = scratch(rows.len() * width * mr * nr);
    let fractals = d.kp / FRACTAL_K;
    // K runs of at most KC_FRACTALS fractals, each ending at the latest on a narrow rounding.
    let mut runs = Vec::new();
    let mut f0 = 0;
    while f0 < fractals {
        let mut nf = KC_FRACTALS.min(fractals - f0);
        if let Some(n) = d.narrow {
            nf = nf.min(n.every as usize - f0 % n.every as usize);
        }
        runs.push((f0, nf));
        f0 += nf;
    }
    for (f0, nf) in runs {
        let round = d.narrow.filter(|n| n.rounds_after(f0 + nf - 1, fractals));
        let k0 = f0 * FRACTAL_K;
        let klen = nf * FRACTAL_K;
        for m0 in rows.clone().step_by(MC_ROWS.div_ceil(mr)) {
            let m1 = (m0 + MC_ROWS.div_ceil(mr)).min(rows.end);
            for pj in cols.clone() {
                let b = &bp[(pj * d.kp + k0) * nr..][..klen * nr];
                for pi in m0..m1 {
                    let a = &ap[(pi * d.kp + k0) * mr..][..klen * mr];
                    let t = ((pi - rows.start) * width + (pj - cols.start)) * mr * nr;
                    let tile = &mut tiles[t..t + mr * nr];
                    k.tile(kind, nf, a, b, tile);
                    if let Some(n) = round {
                        tile.iter_mut().for_each(|v| *v = n.round(*v));
                    }
                }
            }
        }
    }
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactness_scan_accepts_ordinary_bf16_and_refuses_the_rest() {
        let ones = [1.0f32, -0.5, 0.0, 3.0];
        assert!(products_exact(&ones, &ones));
        // 2^-100 * 2^-30 underflows the normal range: a fused product would round differently.
        assert!(!products_exact(&[2f32.powi(-100)], &[2f32.powi(-30)]));
        assert!(products_exact(&[2f32.powi(-100)], &[2f32.powi(-26)]));
        // 2^100 * 2^27 reaches 2^127..2^129: may overflow.
        assert!(!products_exact(&[1.5 * 2f32.powi(100)], &[2f32.powi(27)]));
        assert!(products_exact(&[1.5 * 2f32.powi(100)], &[2f32.powi(26)]));
        assert!(!products_exact(&[f32::INFINITY], &ones));
        assert!(!products_exact(&[f32::NAN], &ones));
        // An f32 value with more than 12 significand bits: its products may be rounded.
        assert!(!products_exact(&[1.0 + f32::EPSILON], &ones));
        assert!(products_exact(
            &[1.0 + 2f32.powi(-11)],
            &[1.0 + 2f32.powi(-11)]
        ));
        // A bf16 subnormal: its products may be inexact; the scan refuses them outright.
        assert!(!products_exact(&[f32::from_bits(0x0001_0000)], &ones));
    }
}
