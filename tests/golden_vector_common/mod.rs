//! Shared by the Vector-unit golden tests (`tests/golden_vector_elementwise.rs`,
//! `tests/golden_vector_rows.rs`): the list of golden files and which test file uses each, the constants
//! of the error bounds, bf16 helpers, running one op on an executor, and the checks that collect failures.
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

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use davinci::numerics::row_tree::LANES;
use davinci::tensor::safetensors_io::TensorFile;
use davinci::{DType, Executor, Program, Tensor, TensorId};

use crate::common;
// One definition for all tests; re-exported for the golden_vector files, which take their helpers here.
pub use crate::common::bf16_steps;

/// Unit roundoff of f32.
pub const U: f64 = 1.0 / 16_777_216.0;
/// Slack for the neglected second-order terms of first-order bounds (see the module docs).
pub const SECOND_ORDER: f64 = 1.001;
/// Relative error of one result within 1 ulp (exp, rsqrt): one ulp is at most 2^-23 |v| = 2u |v|.
pub const ONE_ULP_REL: f64 = 2.0 * U;
/// An absolute allowance for results that pass through the subnormal range, where relative bounds stop
/// holding: each rounding to a subnormal errs by at most 2^-150; a handful of such steps stays below this.
pub const SUBNORMAL_ABS: f64 = f64::from_bits((1023 - 148) << 52); // 2^-148

/// Every file of `tests/golden/vector`, by stem, with the test file (under `tests/`) that uses it. One
/// list for both files, so that [`assert_every_golden_used`] sees all of them.
pub const USED: [(&str, &str); 17] = [
    ("binary_add_sub_mul_div_max", "golden_vector_elementwise"),
    ("unary_exp_all_bf16", "golden_vector_elementwise"),
    ("unary_log_all_bf16", "golden_vector_elementwise"),
    ("unary_sqrt_all_bf16", "golden_vector_elementwise"),
    ("unary_rsqrt_all_bf16", "golden_vector_elementwise"),
    ("unary_recip_all_bf16", "golden_vector_elementwise"),
    ("unary_tanh_all_bf16", "golden_vector_elementwise"),
    ("unary_sigmoid_all_bf16", "golden_vector_elementwise"),
    ("unary_silu_all_bf16", "golden_vector_elementwise"),
    ("unary_gelu_erf_all_bf16", "golden_vector_elementwise"),
    ("softmax_4x7", "golden_vector_rows"),
    ("softmax_16x128", "golden_vector_rows"),
    ("softmax_special_8x64", "golden_vector_rows"),
    ("layernorm_16x384_eps1e-12", "golden_vector_rows"),
    ("layernorm_4x1024_eps1e-5_noaffine", "golden_vector_rows"),
    ("rmsnorm_16x384_eps1e-6", "golden_vector_rows"),
    ("reduce_64x384", "golden_vector_rows"),
];

/// The golden's path under `tests/golden`. Refuses a stem that [`USED`] does not list for the calling
/// test file (the caller's file stem, through `#[track_caller]`), so the list stays accurate.
#[track_caller]
pub fn rel(stem: &str) -> String {
    let caller = std::panic::Location::caller().file();
    let this = std::path::Path::new(caller)
        .file_stem()
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    assert!(
        USED.contains(&(stem, this.as_str())),
        "{stem} is missing from USED in tests/golden_vector_common/mod.rs (as used by {caller})"
    );
    format!("vector/{stem}.safetensors")
}

/// One golden file, opened by stem through [`rel`].
pub struct Golden {
    pub rel: String,
    pub file: TensorFile,
}

impl Golden {
    #[track_caller]
    pub fn open(stem: &str) -> Self {
        let rel = rel(stem);
        let file = common::golden_file(&rel);
        Golden { rel, file }
    }

    /// A tensor of the file; panics naming the file when it lacks one.
    pub fn get(&self, name: &str) -> Tensor {
        self.file
            .tensor(name)
            .unwrap_or_else(|e| panic!("{}: {e}", self.rel))
    }
}

pub fn gamma(k: usize) -> f64 {
    let ku = k as f64 * U;
    ku / (1.0 - ku)
}

/// Roundings on any element's path through a `row_tree` sum of `n` values (see the module docs).
pub fn tree_depth(n: usize) -> usize {
    n.div_ceil(LANES) - 1 + LANES.trailing_zeros() as usize
}

/// One bf16 ulp at |x| (bf16 keeps 8 significant bits; its subnormals step by 2^-133).
pub fn ulp_bf16(x: f64) -> f64 {
    let a = x.abs();
    if a < f32::MIN_POSITIVE as f64 {
        2f64.powi(-133)
    } else {
        2f64.powi(a.log2().floor() as i32 - 7)
    }
}

pub fn is_nan_bf16(b: u16) -> bool {
    (b & 0x7fff) > 0x7f80
}

pub fn is_inf_bf16(b: u16) -> bool {
    (b & 0x7fff) == 0x7f80
}

pub fn bf16_value(b: u16) -> f64 {
    f32::from_bits((b as u32) << 16) as f64
}

pub fn bf16_bits(t: &Tensor) -> Vec<u16> {
    assert_eq!(t.dtype(), DType::Bf16, "expected a bf16 tensor");
    t.bits().into_iter().map(|b| b as u16).collect()
}

pub fn f32_of(t: &Tensor) -> Vec<f32> {
    t.as_f32()
        .unwrap_or_else(|| panic!("expected an f32 tensor, got {}", t.dtype()))
        .to_vec()
}

/// Records one op over `inputs` (declared in order) and runs it on `exec`.
pub fn run_op(
    exec: &dyn Executor,
    inputs: &[&Tensor],
    record: impl FnOnce(&mut Program, &[TensorId]) -> davinci::Result<TensorId>,
) -> Tensor {
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, inputs);
    let out = record(&mut p, &ids).unwrap_or_else(|e| panic!("{}: recording: {e}", exec.name()));
    p.output(out).expect("output");
    exec.run(&p, inputs)
        .unwrap_or_else(|e| panic!("{}: running: {e}", exec.name()))
        .remove(0)
}

/// Collects failures (the first few in full) so that a test reports every op and executor at once.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    pub fn add(&mut self, msg: String) {
        if self.0.len() < 40 {
            self.0.push(msg);
        }
    }

    pub fn assert_none(&self) {
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
pub fn check_f32(what: &str, got: &[f32], want: &[f32], bound: &[f64], fails: &mut Failures) {
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
pub fn check_bf16_rows(
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

/// A row op's result of either dtype against its references: f32 by [`check_f32`], bf16 by
/// [`check_bf16_rows`] (both against the same f32 bound).
pub fn check_rows(
    what: &str,
    got: &Tensor,
    want: &[f32],
    want16: &[u16],
    bound: &[f64],
    fails: &mut Failures,
) {
    match got.dtype() {
        DType::F32 => check_f32(what, &f32_of(got), want, bound, fails),
        DType::Bf16 => check_bf16_rows(what, &bf16_bits(got), want16, want, bound, fails),
        other => panic!("{what}: a Vector op gave a {other} result"),
    }
}

/// Every file in `tests/golden/vector` is listed in [`USED`], and every listed file exists, as does the
/// test file said to use it: a new golden cannot go untested.
pub fn assert_every_golden_used() {
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
            USED.iter().any(|(s, _)| *s == stem),
            "{} is not used by the golden_vector tests: add a test for it and its stem to USED in \
             tests/golden_vector_common/mod.rs",
            path.display()
        );
        seen.push(stem);
    }
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/numerics");
    for (stem, file) in USED {
        assert!(
            seen.iter().any(|s| s == stem),
            "USED lists {stem}, which is not in {}",
            dir.display()
        );
        assert!(
            tests.join(format!("{file}.rs")).is_file(),
            "USED says tests/numerics/{file}.rs uses {stem}, but there is no such file"
        );
    }
}
