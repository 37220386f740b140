//! The yardsticks of `benches/vector.rs`: each op written as a straightforward Rust programmer would, on
//! the same threads as the CPU twin (rows shared out over all cores). Not bit-exact and not meant to be:
//! they show the speed plain code gets from the compiler and std (std's `exp`, libm's `erff` for the
//! exact GELU, a two-pass softmax, a Welford layernorm), and a memory copy of the same bytes shows the
//! ceiling of a memory-bound op.

use std::f32::consts::FRAC_1_SQRT_2;

/// Fills `out` from `x` on all cores, whole rows of `len` per thread: `f(first, x_rows, out_rows)`, where
/// `first` is the index of the part's first element.
pub fn par_rows(
    out: &mut [f32],
    x: &[f32],
    len: usize,
    f: impl Fn(usize, &[f32], &mut [f32]) + Sync,
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rows = out.len() / len;
    let per = rows.div_ceil(threads).max(1) * len;
    std::thread::scope(|s| {
        for (i, (o, xi)) in out.chunks_mut(per).zip(x.chunks(per)).enumerate() {
            let f = &f;
            s.spawn(move || f(i * per, xi, o));
        }
    });
}

/// `out = x`, as a memory-bandwidth probe.
pub fn copy(x: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    par_rows(&mut out, x, 4096, |_, x, o| o.copy_from_slice(x));
    out
}

/// One function per element.
pub fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    par_rows(&mut out, x, 4096, |_, x, o| {
        for (o, &v) in o.iter_mut().zip(x) {
            *o = f(v);
        }
    });
    out
}

/// One function of two equal-shaped inputs.
pub fn map2(x: &[f32], y: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    par_rows(&mut out, x, 4096, |first, xs, o| {
        for ((o, &a), &b) in o.iter_mut().zip(xs).zip(&y[first..]) {
            *o = f(a, b);
        }
    });
    out
}

/// std's `exp`.
pub fn exp(x: &[f32]) -> Vec<f32> {
    map(x, f32::exp)
}

/// `0.5 x (1 + erf(x / sqrt 2))` with libm's `erff` (std has no stable erf).
pub fn gelu(x: &[f32]) -> Vec<f32> {
    map(x, |v| 0.5 * v * (1.0 + libm::erff(v * FRAC_1_SQRT_2)))
}

/// `max(x, 0)`.
pub fn relu(x: &[f32]) -> Vec<f32> {
    map(x, |v| v.max(0.0))
}

/// Softmax over rows of `len`: a max pass, then exp and the sum, then a scale by 1/sum.
pub fn softmax(x: &[f32], len: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    par_rows(&mut out, x, len, |_, x, o| {
        for (row, o) in x.chunks(len).zip(o.chunks_mut(len)) {
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut s = 0.0;
            for (o, &v) in o.iter_mut().zip(row) {
                *o = (v - m).exp();
                s += *o;
            }
            let r = 1.0 / s;
            o.iter_mut().for_each(|o| *o *= r);
        }
    });
    out
}

/// Layernorm over rows of `len` (Welford's mean and variance in one pass), with gamma and beta.
pub fn layernorm(x: &[f32], gamma: &[f32], beta: &[f32], len: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    par_rows(&mut out, x, len, |_, x, o| {
        for (row, o) in x.chunks(len).zip(o.chunks_mut(len)) {
            let (mut mean, mut m2) = (0f32, 0f32);
            for (i, &v) in row.iter().enumerate() {
                let d = v - mean;
                mean += d / (i + 1) as f32;
                m2 += d * (v - mean);
            }
            let rstd = 1.0 / (m2 / len as f32 + 1e-5).sqrt();
            for (((o, &v), &g), &b) in o.iter_mut().zip(row).zip(gamma).zip(beta) {
                *o = (v - mean) * rstd * g + b;
            }
        }
    });
    out
}

/// Rmsnorm over rows of `len`, with gamma.
pub fn rmsnorm(x: &[f32], gamma: &[f32], len: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    par_rows(&mut out, x, len, |_, x, o| {
        for (row, o) in x.chunks(len).zip(o.chunks_mut(len)) {
            let ss: f32 = row.iter().map(|v| v * v).sum();
            let r = 1.0 / (ss / len as f32 + 1e-5).sqrt();
            for ((o, &v), &g) in o.iter_mut().zip(row).zip(gamma) {
                *o = v * r * g;
            }
        }
    });
    out
}
