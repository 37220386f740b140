//! CPU twin of `shaders/cube_matmul.wgsl`: bf16 inputs (or f32 inputs, the Cube's fp32 mode), f32 result
//! (the L0C accumulator).
//!
//! Operands are first widened to f32 panels, A as `[M][Kp]` and B as `[Kp][Np]`, with K padded to a whole
//! fractal (16) and N to a multiple of 8, all padding zero, exactly as the shader pads its tiles. The
//! kernel then walks one output row and 8 columns at a time, so that the 8 independent accumulators
//! vectorise; the order of additions for each element is the contract's and does not depend on that.

use half::bf16;

use crate::numerics::accumulate::FRACTAL_K;
use crate::numerics::{Accumulation, bf16_to_f32};
use crate::program::MatmulGeometry;

/// Columns one kernel call computes side by side.
const NB: usize = 8;

/// `C = A @ B` for every batch entry, f32 row-major `[batch, M, N]`.
pub fn cube_matmul(g: &MatmulGeometry, acc: Accumulation, a: &[bf16], b: &[bf16]) -> Vec<f32> {
    run(g, acc, |i| bf16_to_f32(a[i]), |i| bf16_to_f32(b[i]))
}

/// The Cube's fp32 mode: f32 operands, each product rounded to f32 on its own (no longer exact), then the
/// same additions in the same order as for bf16.
pub fn cube_matmul_f32(g: &MatmulGeometry, acc: Accumulation, a: &[f32], b: &[f32]) -> Vec<f32> {
    run(g, acc, |i| a[i], |i| b[i])
}

fn run(
    g: &MatmulGeometry,
    acc: Accumulation,
    a: impl Fn(usize) -> f32,
    b: impl Fn(usize) -> f32,
) -> Vec<f32> {
    let kp = g.k.div_ceil(FRACTAL_K) * FRACTAL_K;
    let np = g.n.div_ceil(NB) * NB;
    let mut out = vec![0f32; g.batch * g.m * g.n];
    for (bi, c) in out.chunks_mut(g.m * g.n).enumerate() {
        let ap = panel_a(g, &a, bi, kp);
        let bp = panel_b(g, &b, bi, kp, np);
        run_rows(g, acc, &ap, &bp, kp, np, c);
    }
    out
}

/// A of one batch entry as f32 rows `[M][Kp]`.
fn panel_a(g: &MatmulGeometry, a: &impl Fn(usize) -> f32, bi: usize, kp: usize) -> Vec<f32> {
    let mut p = vec![0f32; g.m * kp];
    for m in 0..g.m {
        for k in 0..g.k {
            p[m * kp + k] = a(bi * g.a_batch + m * g.a_m + k * g.a_k);
        }
    }
    p
}

/// B of one batch entry as f32 rows `[Kp][Np]`.
fn panel_b(
    g: &MatmulGeometry,
    b: &impl Fn(usize) -> f32,
    bi: usize,
    kp: usize,
    np: usize,
) -> Vec<f32> {
    let mut p = vec![0f32; kp * np];
    for k in 0..g.k {
        for n in 0..g.n {
            p[k * np + n] = b(bi * g.b_batch + k * g.b_k + n * g.b_n);
        }
    }
    p
}

/// Splits one batch entry over the host's threads: by rows when there are enough of them, else by
/// stripes of columns within each row (a matrix-vector product still uses every core).
fn run_rows(
    g: &MatmulGeometry,
    acc: Accumulation,
    ap: &[f32],
    bp: &[f32],
    kp: usize,
    np: usize,
    c: &mut [f32],
) {
    let threads = super::threads();
    let d = Dims { k: g.k, kp, np };
    if g.m >= threads {
        let rows_per_task = g.m.div_ceil(threads);
        std::thread::scope(|s| {
            for (ti, rows) in c.chunks_mut(rows_per_task * g.n).enumerate() {
                s.spawn(move || {
                    for (r, crow) in rows.chunks_mut(g.n).enumerate() {
                        let m = ti * rows_per_task + r;
                        row(acc, &ap[m * kp..(m + 1) * kp], bp, d, 0, crow);
                    }
                });
            }
        });
    } else {
        // Stripes are whole multiples of the kernel's 8 columns.
        let stripe = g.n.div_ceil(threads).div_ceil(NB).max(1) * NB;
        for (m, crow) in c.chunks_mut(g.n).enumerate() {
            std::thread::scope(|s| {
                for (si, part) in crow.chunks_mut(stripe).enumerate() {
                    s.spawn(move || row(acc, &ap[m * kp..(m + 1) * kp], bp, d, si * stripe, part));
                }
            });
        }
    }
}

/// Columns `n_start .. n_start + out.len()` of one output row. Uses 8-wide AVX2 vectors where the CPU has
/// them; Rust neither contracts nor reassociates float arithmetic, so this changes speed only, never bits.
fn row(acc: Accumulation, arow: &[f32], bp: &[f32], d: Dims, n_start: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { row_avx2(acc, arow, bp, d, n_start, out) };
        return;
    }
    row_generic(acc, arow, bp, d, n_start, out);
}

/// Real and padded sizes of the panels.
#[derive(Clone, Copy)]
struct Dims {
    k: usize,
    kp: usize,
    np: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn row_avx2(acc: Accumulation, arow: &[f32], bp: &[f32], d: Dims, n_start: usize, out: &mut [f32]) {
    row_generic(acc, arow, bp, d, n_start, out);
}

#[inline(always)]
fn row_generic(
    acc: Accumulation,
    arow: &[f32],
    bp: &[f32],
    d: Dims,
    n_start: usize,
    out: &mut [f32],
) {
    for (j, part) in out.chunks_mut(NB).enumerate() {
        let n0 = n_start + j * NB;
        let sums = match acc {
            Accumulation::Tree16 => tree16_x8(arow, bp, d.kp, d.np, n0),
            Accumulation::Sequential => sequential_x8(arow, bp, d.k, d.np, n0),
        };
        part.copy_from_slice(&sums[..part.len()]);
    }
}

/// Tree16 for columns `n0..n0+8`: per fractal, the pairwise tree of `numerics::accumulate::tree16`, then
/// one add into the accumulator (which starts at +0, as L0C is cleared).
#[inline(always)]
fn tree16_x8(arow: &[f32], bp: &[f32], kp: usize, np: usize, n0: usize) -> [f32; NB] {
    let mut accv = [0f32; NB];
    for f in (0..kp).step_by(FRACTAL_K) {
        let a = &arow[f..f + FRACTAL_K];
        let mut s = [[0f32; NB]; 8];
        for (i, si) in s.iter_mut().enumerate() {
            let r0 = &bp[(f + 2 * i) * np + n0..][..NB];
            let r1 = &bp[(f + 2 * i + 1) * np + n0..][..NB];
            for j in 0..NB {
                si[j] = a[2 * i] * r0[j] + a[2 * i + 1] * r1[j];
            }
        }
        for j in 0..NB {
            let t0 = s[0][j] + s[1][j];
            let t1 = s[2][j] + s[3][j];
            let t2 = s[4][j] + s[5][j];
            let t3 = s[6][j] + s[7][j];
            accv[j] += (t0 + t1) + (t2 + t3);
        }
    }
    accv
}

/// Sequential for columns `n0..n0+8`: k ascending over the real K only (`k_real`), one product at a time.
#[inline(always)]
fn sequential_x8(arow: &[f32], bp: &[f32], k_real: usize, np: usize, n0: usize) -> [f32; NB] {
    let mut accv = [0f32; NB];
    for (k, &a) in arow.iter().enumerate().take(k_real) {
        let r = &bp[k * np + n0..][..NB];
        for j in 0..NB {
            accv[j] += a * r[j];
        }
    }
    accv
}
