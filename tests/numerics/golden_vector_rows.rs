//! Row-wise Vector-unit ops against third-party results (`tests/golden/vector`), on every executor (the
//! GPU when one opens, and the CPU twin), through the public `Program` API.
//!
//! softmax, layernorm, rmsnorm, reductions: f32 outputs within an error bound derived beside each test
//! from the f32 steps the kernels take; NaN positions exact; bf16 outputs within one bf16 ulp of
//! `ref_bf16` wherever the f32 bound guarantees it (see `golden_vector_common::check_bf16_rows`). The
//! notation of the bounds (`u`, `gamma_k`, the row_tree order) is in `golden_vector_common/mod.rs`.

use crate::common;
use crate::golden_vector_common;
use davinci::{DType, ReduceFn};
use golden_vector_common::{
    Failures, Golden, ONE_ULP_REL, SECOND_ORDER, SUBNORMAL_ABS, U, bf16_bits, check_bf16_rows,
    check_f32, check_rows, f32_of, gamma, rel, run_op, tree_depth,
};

// ---------------------------------------------------------------------------------------------------------
// softmax

/// The f32 bound of softmax, per element, from the kernel's steps on a row of n (x exact in f32):
/// `m = max x` exact; `d_i = fl(x_i - m) = (x_i - m)(1 + δ)`, |δ| <= u; `e_i = exp(d_i)` within 1 ulp, so
/// `e_i = exp(x_i - m)(1 + η_i)` with `|η_i| <= (1 + 2u) exp(|x_i - m| u) - 1`; the sum of the n nonnegative
/// e_i in the row_tree order errs by at most `gamma_k` relative, so `s = S (1 + σ)` with
/// `|σ| <= sum_j p_j |η_j| + gamma_k (1 + max η)` (p = the exact softmax); `out_i = fl(e_i / s)` adds u.
/// Hence `|out_i - p_i| <= p_i (|η_i| + |σ| + u)` to first order; plus `u |ref_i|` for the reference's own
/// rounding, plus [`SUBNORMAL_ABS`] where exp or the division land in the subnormals. Rows holding NaN, +inf
/// or only -inf are NaN throughout, in the reference and in the result.
fn softmax_bound(x: &[f32], want: &[f32], n: usize) -> Vec<f64> {
    let k = tree_depth(n);
    let mut bound = vec![0f64; x.len()];
    for (r, row) in x.chunks(n).enumerate() {
        let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let base = r * n;
        let eta: Vec<f64> = row
            .iter()
            .map(|&v| {
                let d = (v as f64 - m).abs();
                if d.is_finite() {
                    (1.0 + ONE_ULP_REL) * (d * U).exp() - 1.0
                } else {
                    0.0 // exp(-inf) = 0 exactly
                }
            })
            .collect();
        let p: Vec<f64> = want[base..base + n].iter().map(|&w| w as f64).collect();
        if p.iter().any(|v| v.is_nan()) {
            continue; // a NaN row: compared by position only
        }
        let max_eta = eta.iter().fold(0f64, |a, &b| a.max(b));
        let sigma = p.iter().zip(&eta).map(|(p, e)| p * e).sum::<f64>() * (1.0 + U)
            + gamma(k) * (1.0 + max_eta);
        for i in 0..n {
            let first = eta[i] + sigma + U;
            assert!(
                first < 1e-3,
                "softmax row {r}: first-order term {first:e} too large"
            );
            bound[base + i] = SECOND_ORDER * p[i] * (first + U) + SUBNORMAL_ABS;
        }
    }
    bound
}

fn softmax_case(stem: &str) {
    let golden = Golden::open(stem);
    let get = |n: &str| golden.get(n);
    let x = get("x");
    let n = *x.shape().dims().last().expect("rank >= 1");
    let want = f32_of(&get("ref_f32"));
    let want16 = bf16_bits(&get("ref_bf16"));
    let bound = softmax_bound(&x.to_f32_vec(), &want, n);
    let mut fails = Failures::default();
    for exec in common::executors() {
        let e = exec.as_ref();
        for dtype in [DType::F32, DType::Bf16] {
            let got = run_op(e, &[&x], |p, id| p.softmax(id[0], None, dtype));
            assert_eq!(got.shape(), x.shape());
            let what = format!("{} {stem} {dtype}", e.name());
            check_rows(&what, &got, &want, &want16, &bound, &mut fails);
        }
    }
    fails.assert_none();
}

#[test]
fn softmax_4x7() {
    softmax_case("softmax_4x7");
}

#[test]
fn softmax_16x128() {
    softmax_case("softmax_16x128");
}

/// Rows: all equal, linspace, +100 offset, a -inf mask, an outlier of 60, all -inf (NaN), +inf (NaN), tiny.
#[test]
fn softmax_special_8x64() {
    softmax_case("softmax_special_8x64");
    let want = f32_of(&common::golden_tensor(
        &rel("softmax_special_8x64"),
        "ref_f32",
    ));
    // The file's note: rows 5 (all -inf) and 6 (+inf) are NaN; make sure the check above saw NaN rows.
    for row in [5, 6] {
        assert!(
            want[row * 64..(row + 1) * 64].iter().all(|v| v.is_nan()),
            "softmax_special_8x64: row {row} of the reference is not all NaN"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------
// layernorm and rmsnorm

/// The f32 bound of layernorm, per element, from the kernel's steps on a row of n (x, gamma, beta exact in
/// f32; μ, V = exact mean and biased variance, d_i = x_i - μ, A = sum|x_i| / n, T = V + eps,
/// r = T^-1/2, k = [`tree_depth`]`(n)`):
/// - `mean = fl(sum / n)`: |mean - μ| <= Δμ = gamma_k A + u A;
/// - `d'_i = fl(x_i - mean)`: |d'_i - d_i| <= Δd_i = Δμ + u (|d_i| + Δμ);
/// - `var = fl(fl(sum d'_i^2) / n)`: sum (x_i - mean)^2 / n = V + (mean - μ)^2, each square and the
///   division round once, the sum errs by gamma_k, and (1 + δ)^2 from d': |var - V| <= gamma_{k+4} (V + Δμ^2)
///   + Δμ^2;
/// - `t = fl(var + eps)`: rel_t = (|var - V| (1 + u) + u T) / T;  `rstd = rsqrt(t)` within 1 ulp:
///   rel_r = rel_t / 2 + 2u;
/// - `y = fl(d'_i rstd)`: |y - d_i r| <= r (Δd_i + |d_i| rel_r) + u |d_i r|; times gamma_i (exact in f32)
///   adds `u |d_i r gamma_i|`, plus beta adds `u |out|`;
/// - plus `u |ref|` for the reference's rounding, [`SECOND_ORDER`] and [`SUBNORMAL_ABS`].
fn layernorm_bound(
    x: &[f32],
    gamma_v: Option<&[f32]>,
    beta_v: Option<&[f32]>,
    eps: f64,
    want: &[f32],
    n: usize,
) -> Vec<f64> {
    let k = tree_depth(n);
    let mut bound = vec![0f64; x.len()];
    for (r_i, row) in x.chunks(n).enumerate() {
        let xs: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        let nf = n as f64;
        let mu = xs.iter().sum::<f64>() / nf;
        let a = xs.iter().map(|v| v.abs()).sum::<f64>() / nf;
        let v = xs.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / nf;
        let t = v + eps;
        let r = 1.0 / t.sqrt();
        let dmu = gamma(k) * a + U * a;
        let dvar = gamma(k + 4) * (v + dmu * dmu) + dmu * dmu;
        let rel_t = (dvar * (1.0 + U) + U * t) / t;
        let rel_r = rel_t / 2.0 + ONE_ULP_REL;
        assert!(
            rel_r < 1e-3,
            "layernorm row {r_i}: rel_r {rel_r:e} too large"
        );
        for i in 0..n {
            let j = r_i * n + i;
            let d = xs[i] - mu;
            let dd = dmu + U * (d.abs() + dmu);
            let y = d * r;
            let mut err = r * (dd + d.abs() * rel_r) + U * y.abs();
            let g = gamma_v.map_or(1.0, |g| g[i] as f64);
            if gamma_v.is_some() {
                err = err * g.abs() + U * (y * g).abs();
            }
            if let Some(b) = beta_v {
                err += U * (y * g + b[i] as f64).abs();
            }
            bound[j] = SECOND_ORDER * (err + U * (want[j] as f64).abs()) + SUBNORMAL_ABS;
        }
    }
    bound
}

fn layernorm_case(stem: &str, eps: f32, affine: bool) {
    let golden = Golden::open(stem);
    let get = |n: &str| golden.get(n);
    let x = get("x");
    let n = *x.shape().dims().last().expect("rank >= 1");
    let (g, b) = if affine {
        (Some(get("gamma")), Some(get("beta")))
    } else {
        assert!(
            !golden
                .file
                .names()
                .iter()
                .any(|t| t == "gamma" || t == "beta"),
            "{}: a no-affine file holds gamma or beta",
            golden.rel
        );
        (None, None)
    };
    let want = f32_of(&get("ref_f32"));
    let want16 = bf16_bits(&get("ref_bf16"));
    let (gv, bv) = (
        g.as_ref().map(|t| t.to_f32_vec()),
        b.as_ref().map(|t| t.to_f32_vec()),
    );
    let bound = layernorm_bound(
        &x.to_f32_vec(),
        gv.as_deref(),
        bv.as_deref(),
        eps as f64,
        &want,
        n,
    );
    let mut inputs = vec![&x];
    inputs.extend(g.iter());
    inputs.extend(b.iter());
    let mut fails = Failures::default();
    for exec in common::executors() {
        let e = exec.as_ref();
        for dtype in [DType::F32, DType::Bf16] {
            let got = run_op(e, &inputs, |p, id| {
                p.layernorm(id[0], id.get(1).copied(), id.get(2).copied(), eps, dtype)
            });
            assert_eq!(got.shape(), x.shape());
            let what = format!("{} {stem} {dtype}", e.name());
            check_rows(&what, &got, &want, &want16, &bound, &mut fails);
        }
    }
    fails.assert_none();
}

#[test]
fn layernorm_16x384_eps1e_12() {
    layernorm_case("layernorm_16x384_eps1e-12", 1e-12, true);
}

#[test]
fn layernorm_4x1024_eps1e_5_noaffine() {
    layernorm_case("layernorm_4x1024_eps1e-5_noaffine", 1e-5, false);
}

/// The f32 bound of rmsnorm, per element (Q = sum x_i^2 / n exact, T = Q + eps, r = T^-1/2,
/// k = [`tree_depth`]`(n)`): `ms = fl(fl(sum x_i^2) / n)` with squares rounded (exact for bf16 x unless they
/// underflow), the nonnegative sum within gamma_k and the division: ms = Q (1 ± gamma_{k+2});
/// `t = fl(ms + eps)`: rel_t = (gamma_{k+2} Q (1 + u) + u T) / T; `rstd = rsqrt(t)` within 1 ulp:
/// rel_r = rel_t / 2 + 2u; `y = fl(x_i rstd)`, `out = fl(y gamma_i)`: |out - x_i r gamma_i| <=
/// |x_i r gamma_i| (rel_r + 2u); plus `u |ref|`, [`SECOND_ORDER`] and [`SUBNORMAL_ABS`].
fn rmsnorm_bound(x: &[f32], g: &[f32], eps: f64, want: &[f32], n: usize) -> Vec<f64> {
    let k = tree_depth(n);
    let mut bound = vec![0f64; x.len()];
    for (r_i, row) in x.chunks(n).enumerate() {
        let q = row.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / n as f64;
        let t = q + eps;
        let r = 1.0 / t.sqrt();
        let rel_t = (gamma(k + 2) * q * (1.0 + U) + U * t) / t;
        let rel_r = rel_t / 2.0 + ONE_ULP_REL;
        assert!(rel_r < 1e-3, "rmsnorm row {r_i}: rel_r {rel_r:e} too large");
        for i in 0..n {
            let j = r_i * n + i;
            let y = (row[i] as f64 * r * g[i] as f64).abs();
            bound[j] =
                SECOND_ORDER * (y * (rel_r + 2.0 * U) + U * (want[j] as f64).abs()) + SUBNORMAL_ABS;
        }
    }
    bound
}

#[test]
fn rmsnorm_16x384_eps1e_6() {
    let stem = "rmsnorm_16x384_eps1e-6";
    let eps = 1e-6f32;
    let golden = Golden::open(stem);
    let get = |n: &str| golden.get(n);
    let (x, g) = (get("x"), get("gamma"));
    let n = *x.shape().dims().last().expect("rank >= 1");
    let want = f32_of(&get("ref_f32"));
    let want16 = bf16_bits(&get("ref_bf16"));
    let bound = rmsnorm_bound(&x.to_f32_vec(), &g.to_f32_vec(), eps as f64, &want, n);
    let mut fails = Failures::default();
    for exec in common::executors() {
        let e = exec.as_ref();
        for dtype in [DType::F32, DType::Bf16] {
            let got = run_op(e, &[&x, &g], |p, id| {
                p.rmsnorm(id[0], Some(id[1]), eps, dtype)
            });
            assert_eq!(got.shape(), x.shape());
            let what = format!("{} {stem} {dtype}", e.name());
            check_rows(&what, &got, &want, &want16, &bound, &mut fails);
        }
    }
    fails.assert_none();
}

// ---------------------------------------------------------------------------------------------------------
// reductions

/// Sum, mean, max and sum of squares over the last axis of a 64 x 384 bf16 tensor, k = [`tree_depth`]`(384)`:
/// - sum: |s - ref| <= gamma_k sum|x_i| (the row_tree order) + u |ref| (the reference's rounding), with
///   `sum_abs_f32` (itself rounded, hence the factor 1 + u) for sum|x_i|;
/// - mean = fl(s / n): the sum's bound / n, plus u |ref| for the division and u |ref| for the reference;
/// - sumsq: squares of bf16 values are exact in f32 (16 significant bits), all terms are nonnegative, so
///   |s - ref| <= gamma_k ref (1 + u) + u |ref|;
/// - amax: exact; the f32 output is the bf16 maximum widened, the bf16 output its bits.
///
/// plus [`SUBNORMAL_ABS`]. bf16 sums against `sum_ref_bf16` as in [`check_bf16_rows`].
#[test]
fn reduce_64x384() {
    let golden = Golden::open("reduce_64x384");
    let get = |n: &str| golden.get(n);
    let x = get("x");
    let n = x.shape().dims()[1];
    let k = tree_depth(n);
    let sum_abs = f32_of(&get("sum_abs_f32"));
    let sum_ref = f32_of(&get("sum_ref_f32"));
    let mean_ref = f32_of(&get("mean_ref_f32"));
    let sumsq_ref = f32_of(&get("sumsq_ref_f32"));
    let sum_ref16 = bf16_bits(&get("sum_ref_bf16"));
    let max_ref16 = bf16_bits(&get("max_ref_bf16"));
    let sum_bound: Vec<f64> = (0..sum_ref.len())
        .map(|i| {
            gamma(k) * sum_abs[i] as f64 * (1.0 + U) + U * (sum_ref[i] as f64).abs() + SUBNORMAL_ABS
        })
        .collect();
    let mean_bound: Vec<f64> = (0..mean_ref.len())
        .map(|i| {
            gamma(k) * sum_abs[i] as f64 * (1.0 + U) / n as f64
                + 2.0 * U * (mean_ref[i] as f64).abs() * SECOND_ORDER
                + SUBNORMAL_ABS
        })
        .collect();
    let sumsq_bound: Vec<f64> = sumsq_ref
        .iter()
        .map(|&s| (gamma(k) * (1.0 + U) + U) * s as f64 * SECOND_ORDER + SUBNORMAL_ABS)
        .collect();
    let mut fails = Failures::default();
    for exec in common::executors() {
        let e = exec.as_ref();
        let run = |f: ReduceFn, dtype: DType| {
            let t = run_op(e, &[&x], |p, id| p.reduce(f, id[0], dtype));
            assert_eq!(
                t.shape().dims(),
                &[x.shape().dims()[0]],
                "{}: shape",
                f.name()
            );
            t
        };
        let name = e.name();
        check_f32(
            &format!("{name} sum f32"),
            &f32_of(&run(ReduceFn::Sum, DType::F32)),
            &sum_ref,
            &sum_bound,
            &mut fails,
        );
        check_bf16_rows(
            &format!("{name} sum bf16"),
            &bf16_bits(&run(ReduceFn::Sum, DType::Bf16)),
            &sum_ref16,
            &sum_ref,
            &sum_bound,
            &mut fails,
        );
        check_f32(
            &format!("{name} mean f32"),
            &f32_of(&run(ReduceFn::Mean, DType::F32)),
            &mean_ref,
            &mean_bound,
            &mut fails,
        );
        check_f32(
            &format!("{name} sumsq f32"),
            &f32_of(&run(ReduceFn::SumSq, DType::F32)),
            &sumsq_ref,
            &sumsq_bound,
            &mut fails,
        );
        let max32 = f32_of(&run(ReduceFn::Amax, DType::F32));
        let max16 = bf16_bits(&run(ReduceFn::Amax, DType::Bf16));
        for i in 0..max_ref16.len() {
            let want = f32::from_bits((max_ref16[i] as u32) << 16);
            if max32[i].to_bits() != want.to_bits() || max16[i] != max_ref16[i] {
                fails.add(format!(
                    "{name} amax row {i}: f32 {:e}, bf16 {:#06x}, want {want:e} ({:#06x})",
                    max32[i], max16[i], max_ref16[i]
                ));
            }
        }
    }
    fails.assert_none();
}
