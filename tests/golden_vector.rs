//! The Vector unit against third-party results (`shared/golden/vector`), on every executor (the GPU when
//! one opens, and the CPU twin), through the public `Program` API.
//!
//! - binary: bf16 + - * / max of bf16 operands, bit-exact to `*_ref_bf16` (and the f32 outputs to
//!   `*_ref_f32`): computing in f32 and rounding once is correctly rounded for these ops (golden README).
//! - unary: all 65,536 bf16 inputs, within one bf16 ulp of the correctly rounded `ref_bf16` where
//!   |ref| >= 1e-6, an absolute 2^-27 below that; NaN, ±inf and signed zeros exact.
//! - softmax, layernorm, rmsnorm, reductions: f32 outputs within an error bound derived beside each test
//!   from the f32 steps the kernels take; NaN positions exact; bf16 outputs within one bf16 ulp of
//!   `ref_bf16` wherever the f32 bound guarantees it (see [`check_bf16_rows`]).
//! - every file in the folder is used by some test ([`every_vector_golden_is_used`]).
//!
//! Notation of the bounds: `u = 2^-24` (unit roundoff of f32), `gamma_k = k u / (1 - k u)`. The row ops
//! sum in the fixed `numerics::row_tree` order: `LANES` lanes fold every LANES-th element, then a halving
//! tree of `log2 LANES` levels; the first add into a lane is `-0 + x` (exact), so each element meets at most
//! `k = ceil(n / LANES) - 1 + log2 LANES` roundings and the sum's error is at most `gamma_k sum|x_i|`
//! (Higham, Accuracy and Stability, eq. 4.4 for any tree). The math library's documented accuracy
//! (`reference/vector_math.rs`, tested in `tests/vector_math.rs`): division and square root correctly
//! rounded, exp and rsqrt within 1 ulp, i.e. a relative error of at most `2^-23 = 2u`. Each f32 reference
//! is the float64 result rounded to f32, so it contributes another `u |ref|`. First-order bounds are
//! multiplied by `SECOND_ORDER = 1.001`, which covers every neglected product of two error terms (each
//! term is below 1e-3 in these files; the tests assert that).

mod common;

use davinci::numerics::row_tree::LANES;
use davinci::{BinaryFn, DType, Executor, Program, ReduceFn, Tensor, TensorId, UnaryFn};

/// Unit roundoff of f32.
const U: f64 = 1.0 / 16_777_216.0;
/// Slack for the neglected second-order terms of first-order bounds (see the module docs).
const SECOND_ORDER: f64 = 1.001;
/// Relative error of one result within 1 ulp (exp, rsqrt): one ulp is at most 2^-23 |v| = 2u |v|.
const ONE_ULP_REL: f64 = 2.0 * U;
/// An absolute allowance for results that pass through the subnormal range, where relative bounds stop
/// holding: each rounding to a subnormal errs by at most 2^-150; a handful of such steps stays below this.
const SUBNORMAL_ABS: f64 = f64::from_bits((1023 - 148) << 52); // 2^-148

/// Every file of `shared/golden/vector`, by stem; each is used by a test below.
const USED: [&str; 17] = [
    "binary_add_sub_mul_div_max",
    "unary_exp_all_bf16",
    "unary_log_all_bf16",
    "unary_sqrt_all_bf16",
    "unary_rsqrt_all_bf16",
    "unary_recip_all_bf16",
    "unary_tanh_all_bf16",
    "unary_sigmoid_all_bf16",
    "unary_silu_all_bf16",
    "unary_gelu_erf_all_bf16",
    "softmax_4x7",
    "softmax_16x128",
    "softmax_special_8x64",
    "layernorm_16x384_eps1e-12",
    "layernorm_4x1024_eps1e-5_noaffine",
    "rmsnorm_16x384_eps1e-6",
    "reduce_64x384",
];

fn rel(stem: &str) -> String {
    assert!(USED.contains(&stem), "{stem} is missing from USED");
    format!("vector/{stem}.safetensors")
}

fn gamma(k: usize) -> f64 {
    let ku = k as f64 * U;
    ku / (1.0 - ku)
}

/// Roundings on any element's path through a `row_tree` sum of `n` values (see the module docs).
fn tree_depth(n: usize) -> usize {
    n.div_ceil(LANES) - 1 + LANES.trailing_zeros() as usize
}

/// One bf16 ulp at |x| (bf16 keeps 8 significant bits; its subnormals step by 2^-133).
fn ulp_bf16(x: f64) -> f64 {
    let a = x.abs();
    if a < f32::MIN_POSITIVE as f64 {
        2f64.powi(-133)
    } else {
        2f64.powi(a.log2().floor() as i32 - 7)
    }
}

/// Distance in bf16 steps between two non-NaN bf16 patterns (+0 and -0 one step apart).
fn bf16_steps(a: u16, b: u16) -> u32 {
    let key = |u: u16| {
        if u & 0x8000 != 0 {
            !u as u32 & 0x7fff
        } else {
            u as u32 | 0x8000
        }
    };
    key(a).abs_diff(key(b))
}

fn is_nan_bf16(b: u16) -> bool {
    (b & 0x7fff) > 0x7f80
}

fn is_inf_bf16(b: u16) -> bool {
    (b & 0x7fff) == 0x7f80
}

fn bf16_value(b: u16) -> f64 {
    f32::from_bits((b as u32) << 16) as f64
}

fn bf16_bits(t: &Tensor) -> Vec<u16> {
    assert_eq!(t.dtype(), DType::Bf16, "expected a bf16 tensor");
    t.bits().into_iter().map(|b| b as u16).collect()
}

fn f32_of(t: &Tensor) -> Vec<f32> {
    t.as_f32()
        .unwrap_or_else(|| panic!("expected an f32 tensor, got {}", t.dtype()))
        .to_vec()
}

/// Records one op over `inputs` (declared in order) and runs it on `exec`.
fn run_op(
    exec: &dyn Executor,
    inputs: &[&Tensor],
    record: impl FnOnce(&mut Program, &[TensorId]) -> davinci::Result<TensorId>,
) -> Tensor {
    let mut p = Program::new();
    let ids: Vec<TensorId> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| p.input(format!("in{i}"), t.shape().clone(), t.dtype()))
        .collect();
    let out = record(&mut p, &ids).unwrap_or_else(|e| panic!("{}: recording: {e}", exec.name()));
    p.output(out).expect("output");
    exec.run(&p, inputs)
        .unwrap_or_else(|e| panic!("{}: running: {e}", exec.name()))
        .remove(0)
}

/// Collects failures (the first few in full) so that a test reports every op and executor at once.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn add(&mut self, msg: String) {
        if self.0.len() < 40 {
            self.0.push(msg);
        }
    }

    fn assert_none(&self) {
        assert!(
            self.0.is_empty(),
            "{} failure(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// f32 results against `want` (f32 references) within `bound[i]`; NaN exactly where `want` is NaN and
/// infinities exact. Prints the worst error as a fraction of its bound.
fn check_f32(what: &str, got: &[f32], want: &[f32], bound: &[f64], fails: &mut Failures) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (mut worst, mut at, mut bad) = (0f64, 0usize, 0usize);
    for i in 0..got.len() {
        let (g, w) = (got[i], want[i]);
        let ok = if w.is_nan() || g.is_nan() || w.is_infinite() || g.is_infinite() {
            (w.is_nan() && g.is_nan()) || g.to_bits() == w.to_bits()
        } else {
            let err = (g as f64 - w as f64).abs();
            let r = err / bound[i];
            if r > worst {
                (worst, at) = (r, i);
            }
            err <= bound[i]
        };
        if !ok {
            bad += 1;
            if bad <= 5 {
                fails.add(format!(
                    "{what}[{i}]: got {g:e} ({:#010x}), want {w:e}, |err| {:e} > bound {:e}",
                    g.to_bits(),
                    (g as f64 - w as f64).abs(),
                    bound[i]
                ));
            }
        }
    }
    if bad > 5 {
        fails.add(format!("{what}: {bad} elements outside their bound in all"));
    }
    eprintln!("{what}: worst |err| = {worst:.3} x bound (at [{at}])");
}

/// bf16 results against `ref_bf16`, given the f32 reference and the bound of an f32 result. Where the
/// bound is at most a quarter of a bf16 ulp of the reference, the f32 result lies within half an ulp of the
/// exact value even across a binade edge, so its rounding is the correctly rounded `ref_bf16` or a
/// neighbour: one step is required. Where cancellation makes the f32 bound larger (layernorm elements next
/// to the mean), the bf16 result must stay within that bound plus its own rounding, half a bf16 ulp.
fn check_bf16_rows(
    what: &str,
    got: &[u16],
    ref_bf16: &[u16],
    ref_f32: &[f32],
    bound: &[f64],
    fails: &mut Failures,
) {
    let (mut exact, mut one_ulp, mut by_bound, mut bad) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..got.len() {
        let (g, w) = (got[i], ref_bf16[i]);
        let ok = if is_nan_bf16(g) || is_nan_bf16(w) {
            is_nan_bf16(g) && is_nan_bf16(w)
        } else if is_inf_bf16(g) || is_inf_bf16(w) {
            g == w
        } else if bound[i] <= 0.25 * ulp_bf16(ref_f32[i] as f64) {
            one_ulp += 1;
            bf16_steps(g, w) <= 1
        } else {
            by_bound += 1;
            (bf16_value(g) - ref_f32[i] as f64).abs() <= bound[i] + 0.5 * ulp_bf16(bf16_value(g))
        };
        exact += (g == w || (is_nan_bf16(g) && is_nan_bf16(w))) as usize;
        if !ok {
            bad += 1;
            if bad <= 5 {
                fails.add(format!(
                    "{what}[{i}]: got {g:#06x} ({:e}), ref_bf16 {w:#06x} ({:e}), ref_f32 {:e}, f32 bound {:e}",
                    bf16_value(g),
                    bf16_value(w),
                    ref_f32[i],
                    bound[i]
                ));
            }
        }
    }
    if bad > 5 {
        fails.add(format!("{what}: {bad} elements wrong in all"));
    }
    eprintln!(
        "{what}: {exact} of {} bit-exact; {one_ulp} held to one bf16 step, {by_bound} to the f32 bound",
        got.len()
    );
}

// ---------------------------------------------------------------------------------------------------------
// binary

/// Bit-exact, bf16 and f32 outputs: for + - * / of bf16 operands the f32 result rounded once is the
/// correctly rounded one (precision 24 >= 2*8 + 2), division is correctly rounded by construction, max is
/// exact; NaN compared with is_nan. On a GPU that flushes subnormals (the start-up probe says so) rows with
/// a subnormal operand or result are left out, as the numerics contract allows.
#[test]
fn binary_ops_are_bit_exact() {
    let r = rel("binary_add_sub_mul_div_max");
    let f = common::golden_file(&r);
    let get = |n: &str| f.tensor(n).unwrap_or_else(|e| panic!("{r}: {e}"));
    let (a, b) = (get("a"), get("b"));
    let (av, bv) = (a.to_f32_vec(), b.to_f32_vec());
    let subnormal = |x: f32| x != 0.0 && x.abs() < f32::MIN_POSITIVE;
    let flushes = common::gpu().is_some_and(|g| !g.context().probe().ieee_subnormals());
    let mut fails = Failures::default();
    for exec in common::executors() {
        let exec = exec.as_ref();
        let skip_subnormal = exec.name() == "gpu" && flushes;
        if skip_subnormal {
            eprintln!(
                "binary: the GPU flushes subnormals; rows with subnormals are not compared on it"
            );
        }
        for (op, name) in [
            (BinaryFn::Add, "add"),
            (BinaryFn::Sub, "sub"),
            (BinaryFn::Mul, "mul"),
            (BinaryFn::Div, "div"),
            (BinaryFn::Max, "max"),
        ] {
            let want16 = bf16_bits(&get(&format!("{name}_ref_bf16")));
            let want32 = f32_of(&get(&format!("{name}_ref_f32")));
            for dtype in [DType::Bf16, DType::F32] {
                let got = run_op(exec, &[&a, &b], |p, id| p.binary(op, id[0], id[1], dtype));
                assert_eq!(got.shape(), a.shape());
                let got_bits = got.bits();
                let (mut bad, mut compared) = (0usize, 0usize);
                for i in 0..got_bits.len() {
                    let (g, w, w_val) = match dtype {
                        DType::Bf16 => (
                            f32::from_bits(got_bits[i] << 16),
                            f32::from_bits((want16[i] as u32) << 16),
                            want32[i],
                        ),
                        DType::F32 => (f32::from_bits(got_bits[i]), want32[i], want32[i]),
                    };
                    if skip_subnormal && (subnormal(av[i]) || subnormal(bv[i]) || subnormal(w_val))
                    {
                        continue;
                    }
                    compared += 1;
                    let ok = if w.is_nan() || g.is_nan() {
                        w.is_nan() && g.is_nan()
                    } else {
                        g.to_bits() == w.to_bits()
                    };
                    if !ok {
                        bad += 1;
                        if bad <= 4 {
                            fails.add(format!(
                                "{} {name} {dtype}: [{i}] {:e} op {:e} = {g:e} ({:#x}), want {w:e} ({:#x})",
                                exec.name(),
                                av[i],
                                bv[i],
                                g.to_bits(),
                                w.to_bits()
                            ));
                        }
                    }
                }
                eprintln!(
                    "{} {name} {dtype}: {} of {compared} bit-exact",
                    exec.name(),
                    compared - bad
                );
            }
        }
    }
    fails.assert_none();
}

// ---------------------------------------------------------------------------------------------------------
// unary

/// Below this |ref| the comparison is absolute (the golden README's threshold).
const UNARY_REL_FLOOR: f64 = 1e-6;
/// The absolute tolerance below [`UNARY_REL_FLOOR`]: 2^-27, one bf16 ulp at 1e-6 (which lies in
/// [2^-20, 2^-19)), so the tolerance does not jump at the threshold: a result below 1e-6 may be off by as
/// much as one just above it may. Results this small are noise next to any O(1) value they meet in a
/// model, and there the reference libraries themselves differ (torch flushes tiny sigmoid/silu results to
/// 0 and loses accuracy of gelu for x < -4.5), so relative accuracy is not asked; the sign must still be
/// right.
const UNARY_ATOL: f64 = f64::from_bits((1023 - 27) << 52);

/// All 65,536 bf16 inputs of each unary golden, bf16 out. NaN where and only where the reference is NaN;
/// ±inf and signed zeros bit-exact where the reference has them (and a result of ±inf only where the
/// reference is that infinity); elsewhere within one bf16 step of `ref_bf16` where |ref_f32| >= 1e-6, and
/// within [`UNARY_ATOL`] of `ref_f32`, with the same sign, below.
#[test]
fn unary_all_bf16_inputs_within_one_ulp() {
    let cases = [
        ("exp", UnaryFn::Exp),
        ("log", UnaryFn::Log),
        ("sqrt", UnaryFn::Sqrt),
        ("rsqrt", UnaryFn::Rsqrt),
        ("recip", UnaryFn::Recip),
        ("tanh", UnaryFn::Tanh),
        ("sigmoid", UnaryFn::Sigmoid),
        ("silu", UnaryFn::Silu),
        ("gelu_erf", UnaryFn::Gelu),
    ];
    let mut fails = Failures::default();
    let execs = common::executors();
    for (name, f) in cases {
        let r = rel(&format!("unary_{name}_all_bf16"));
        let file = common::golden_file(&r);
        let get = |n: &str| file.tensor(n).unwrap_or_else(|e| panic!("{r}: {e}"));
        let x = get("x");
        let xb = bf16_bits(&x);
        assert!(
            xb.iter().enumerate().all(|(i, &b)| b as usize == i),
            "{r}: x is not every bf16 pattern in order"
        );
        let want = bf16_bits(&get("ref_bf16"));
        let want32 = f32_of(&get("ref_f32"));
        for exec in &execs {
            let got = bf16_bits(&run_op(exec.as_ref(), &[&x], |p, id| {
                p.unary(f, id[0], DType::Bf16)
            }));
            let (mut exact, mut tiny, mut bad) = (0usize, 0usize, 0usize);
            for i in 0..got.len() {
                let (g, w, w32) = (got[i], want[i], want32[i] as f64);
                let ok = if is_nan_bf16(g) || is_nan_bf16(w) {
                    is_nan_bf16(g) && is_nan_bf16(w)
                } else if is_inf_bf16(g) || is_inf_bf16(w) || w32 == 0.0 {
                    // An infinity, or a zero that is zero in the f32 reference too (f(±0), f(-inf), or
                    // an f32 underflow): bit for bit, sign included.
                    g == w
                } else if w32.abs() >= UNARY_REL_FLOOR {
                    bf16_steps(g, w) <= 1
                } else {
                    tiny += 1;
                    (g & 0x8000) == (w & 0x8000) && (bf16_value(g) - w32).abs() <= UNARY_ATOL
                };
                exact += (g == w || (is_nan_bf16(g) && is_nan_bf16(w))) as usize;
                if !ok {
                    bad += 1;
                    if bad <= 5 {
                        fails.add(format!(
                            "{} {name}({:e} = {:#06x}) = {:e} ({g:#06x}), ref_bf16 {:e} ({w:#06x}), ref_f32 {w32:e}",
                            exec.name(),
                            bf16_value(xb[i]),
                            xb[i],
                            bf16_value(g),
                            bf16_value(w)
                        ));
                    }
                }
            }
            if bad > 5 {
                fails.add(format!("{} {name}: {bad} inputs wrong in all", exec.name()));
            }
            eprintln!(
                "{} {name}: {exact} of {} bit-exact with ref_bf16 ({tiny} below |ref| 1e-6 checked absolutely)",
                exec.name(),
                got.len()
            );
        }
    }
    fails.assert_none();
}

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
    let r = rel(stem);
    let file = common::golden_file(&r);
    let get = |n: &str| file.tensor(n).unwrap_or_else(|e| panic!("{r}: {e}"));
    let x = get("x");
    let n = *x.shape().dims().last().expect("rank >= 1");
    let want = f32_of(&get("ref_f32"));
    let want16 = bf16_bits(&get("ref_bf16"));
    let bound = softmax_bound(&x.to_f32_vec(), &want, n);
    let mut fails = Failures::default();
    for exec in common::executors() {
        let e = exec.as_ref();
        let got = run_op(e, &[&x], |p, id| p.softmax(id[0], None, DType::F32));
        assert_eq!(got.shape(), x.shape());
        check_f32(
            &format!("{} {stem} f32", e.name()),
            &f32_of(&got),
            &want,
            &bound,
            &mut fails,
        );
        let got16 = run_op(e, &[&x], |p, id| p.softmax(id[0], None, DType::Bf16));
        check_bf16_rows(
            &format!("{} {stem} bf16", e.name()),
            &bf16_bits(&got16),
            &want16,
            &want,
            &bound,
            &mut fails,
        );
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
    let r = rel(stem);
    let file = common::golden_file(&r);
    let get = |n: &str| file.tensor(n).unwrap_or_else(|e| panic!("{r}: {e}"));
    let x = get("x");
    let n = *x.shape().dims().last().expect("rank >= 1");
    let (g, b) = if affine {
        (Some(get("gamma")), Some(get("beta")))
    } else {
        assert!(
            !file.names().iter().any(|t| t == "gamma" || t == "beta"),
            "{r}: a no-affine file holds gamma or beta"
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
            match dtype {
                DType::F32 => check_f32(&what, &f32_of(&got), &want, &bound, &mut fails),
                DType::Bf16 => {
                    check_bf16_rows(&what, &bf16_bits(&got), &want16, &want, &bound, &mut fails)
                }
            }
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
    let r = rel(stem);
    let file = common::golden_file(&r);
    let get = |n: &str| file.tensor(n).unwrap_or_else(|e| panic!("{r}: {e}"));
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
            match dtype {
                DType::F32 => check_f32(&what, &f32_of(&got), &want, &bound, &mut fails),
                DType::Bf16 => {
                    check_bf16_rows(&what, &bf16_bits(&got), &want16, &want, &bound, &mut fails)
                }
            }
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
    let r = rel("reduce_64x384");
    let file = common::golden_file(&r);
    let get = |n: &str| file.tensor(n).unwrap_or_else(|e| panic!("{r}: {e}"));
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

// ---------------------------------------------------------------------------------------------------------

/// Every file in `shared/golden/vector` is one the tests above use: a new golden cannot go untested.
#[test]
fn every_vector_golden_is_used() {
    let dir = common::golden_dir().join("vector");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name")
            .to_string();
        assert!(
            USED.contains(&stem.as_str()),
            "{} is not used by tests/golden_vector.rs: add a test for it and its stem to USED",
            path.display()
        );
        seen.push(stem);
    }
    for stem in USED {
        assert!(
            seen.iter().any(|s| s == stem),
            "USED lists {stem}, which is not in {}",
            dir.display()
        );
    }
}
