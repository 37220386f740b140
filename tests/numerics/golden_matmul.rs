//! `cube_matmul` against third-party results (`tests/golden/matmul`: float64 references, and a plain f32
//! sequential sum), on both executors, both accumulation models and both output dtypes.
//!
//! The bound, from `tests/golden/README.md`, is rigorous for any summation order:
//! `|c - c_ref_f32| <= g_K * abs_sum + ulp_f32(c_ref)`, `g_K = K*2^-24 / (1 - K*2^-24)`, plus one bf16 ulp of
//! `|c_ref|` for a bf16 output.

use crate::common;
use davinci::{Accumulation, DType, Executor, MatmulOptions, Tensor, matmul};

const CASES: [&str; 4] = [
    "matmul/mm_16x16x16.safetensors",
    "matmul/mm_17x33x65.safetensors",
    "matmul/mm_128x256x512.safetensors",
    "matmul/mm_64x1024x64_widerange.safetensors",
];

/// Distance from |x| to the next larger f32 (the smallest subnormal step below the normal range).
fn ulp_f32(x: f32) -> f64 {
    let a = x.abs();
    if a < f32::MIN_POSITIVE {
        2f64.powi(-149)
    } else {
        let exp = ((a.to_bits() >> 23) & 0xff) as i32 - 127;
        2f64.powi(exp - 23)
    }
}

/// One bf16 ulp of |x| (bf16 keeps 7 mantissa bits; its subnormals step by 2^-133).
fn ulp_bf16(x: f32) -> f64 {
    let a = x.abs();
    if a < f32::MIN_POSITIVE {
        2f64.powi(-133)
    } else {
        let exp = ((a.to_bits() >> 23) & 0xff) as i32 - 127;
        2f64.powi(exp - 7)
    }
}

struct Case {
    name: &'static str,
    a: Tensor,
    b: Tensor,
    k: usize,
    c_ref: Vec<f32>,
    c_seq: Tensor,
    abs_sum: Vec<f32>,
}

fn load(rel: &'static str) -> Case {
    let f = common::golden_file(rel);
    let get = |name: &str| {
        f.tensor(name)
            .unwrap_or_else(|e| panic!("golden {rel}: {e}"))
    };
    let a = get("a");
    let b = get("b");
    let k = a.shape().dims()[1];
    assert_eq!(
        b.shape().dims()[0],
        k,
        "{rel}: golden operands disagree on K"
    );
    let c_ref = get("c_ref_f32")
        .as_f32()
        .expect("c_ref_f32 is F32")
        .to_vec();
    let abs_sum = get("abs_sum_f32")
        .as_f32()
        .expect("abs_sum_f32 is F32")
        .to_vec();
    Case {
        name: rel,
        a,
        b,
        k,
        c_ref,
        c_seq: get("c_seq_f32"),
        abs_sum,
    }
}

/// Checks every element against the bound; returns the largest fraction of the bound used.
fn check_bound(case: &Case, what: &str, c: &Tensor) -> f64 {
    let m = case.a.shape().dims()[0];
    let n = case.b.shape().dims()[1];
    assert_eq!(c.shape().dims(), &[m, n], "{what}: result shape");
    let bf16_out = c.dtype() == DType::Bf16;
    let u = case.k as f64 * 2f64.powi(-24);
    let g_k = u / (1.0 - u);
    let got = c.to_f32_vec();
    let mut worst = 0f64;
    let mut failures = Vec::new();
    for (i, &x) in got.iter().enumerate() {
        let r = case.c_ref[i];
        let mut bound = g_k * case.abs_sum[i] as f64 + ulp_f32(r);
        if bf16_out {
            bound += ulp_bf16(r);
        }
        let err = (x as f64 - r as f64).abs();
        // A NaN result or reference is a failure, as it must be.
        let within = !err.is_nan() && err <= bound;
        if !within {
            failures.push(format!(
                "[{}, {}]: got {x:e}, c_ref_f32 {r:e}, |err| {err:e} > bound {bound:e}",
                i / n,
                i % n,
            ));
        }
        worst = worst.max(err / bound);
    }
    assert!(
        failures.is_empty(),
        "{what}: {} of {} elements outside the README's bound; first:\n{}",
        failures.len(),
        got.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    worst
}

fn options(acc: Accumulation, dtype_out: DType) -> MatmulOptions {
    MatmulOptions {
        accumulate: acc,
        dtype_out,
        ..MatmulOptions::default()
    }
}

fn run(exec: &dyn Executor, case: &Case, opts: MatmulOptions) -> Tensor {
    matmul(exec, &case.a, &case.b, opts).unwrap_or_else(|e| {
        panic!(
            "{} {} {} {}: {e}",
            case.name,
            exec.name(),
            opts.accumulate,
            opts.dtype_out
        )
    })
}

#[test]
fn within_error_bound_of_float64_reference() {
    let execs = common::executors();
    for rel in CASES {
        let case = load(rel);
        for exec in &execs {
            for acc in [Accumulation::Tree16, Accumulation::Sequential] {
                for dtype in [DType::F32, DType::Bf16] {
                    let c = run(exec.as_ref(), &case, options(acc, dtype));
                    assert_eq!(c.dtype(), dtype);
                    let what = format!("{rel} on {} ({acc}, {dtype} out)", exec.name());
                    let worst = check_bound(&case, &what, &c);
                    eprintln!("{what}: max {:.2}% of the bound", 100.0 * worst);
                }
            }
        }
    }
}

/// The bf16 output is the f32 result rounded once: it must equal the library's f32 result rounded to
/// nearest even, which ties FixPipe's rounding to the f32 path checked above.
#[test]
fn bf16_output_is_f32_output_rounded_once() {
    let execs = common::executors();
    for rel in CASES {
        let case = load(rel);
        for exec in &execs {
            for acc in [Accumulation::Tree16, Accumulation::Sequential] {
                let f = run(exec.as_ref(), &case, options(acc, DType::F32));
                let h = run(exec.as_ref(), &case, options(acc, DType::Bf16));
                // half's from_f32 is an independent round-to-nearest-even.
                let rounded: Vec<half::bf16> = f
                    .as_f32()
                    .unwrap()
                    .iter()
                    .map(|&x| half::bf16::from_f32(x))
                    .collect();
                let rounded = Tensor::from_bf16(f.shape().clone(), rounded).unwrap();
                assert!(
                    common::bits_equal_named(
                        &format!("{rel} {} {acc}: bf16 out vs f32 out rounded", exec.name()),
                        &h,
                        &rounded
                    ),
                    "{rel} on {} ({acc}): bf16 output is not the f32 output rounded once",
                    exec.name()
                );
            }
        }
    }
}

/// `Sequential` is the golden's plain k = 0..K-1 f32 accumulation: each product rounded to f32 (exact for
/// bf16 operands unless it underflows, which these inputs never do), then added with one rounding, starting
/// from +0. The bits must agree exactly.
#[test]
fn sequential_equals_plain_f32_accumulation() {
    let execs = common::executors();
    for rel in CASES {
        let case = load(rel);
        for exec in &execs {
            let c = run(
                exec.as_ref(),
                &case,
                options(Accumulation::Sequential, DType::F32),
            );
            assert!(
                common::bits_equal_named(
                    &format!("{rel} on {} sequential vs c_seq_f32", exec.name()),
                    &c,
                    &case.c_seq
                ),
                "{rel} on {}: sequential f32 result differs from the golden c_seq_f32",
                exec.name()
            );
        }
    }
}

/// Tree16 must really be another order: on these inputs it differs from the sequential sum somewhere
/// (otherwise the model switch would be doing nothing), while staying inside the bound (checked above).
#[test]
fn tree16_differs_from_sequential_somewhere() {
    let case = load("matmul/mm_128x256x512.safetensors");
    let exec = davinci::CpuExecutor;
    let tree = run(&exec, &case, options(Accumulation::Tree16, DType::F32));
    let differ = tree
        .bits()
        .iter()
        .zip(case.c_seq.bits())
        .filter(|(t, s)| **t != *s)
        .count();
    eprintln!(
        "tree16 differs from c_seq_f32 in {differ} of {} elements",
        tree.numel()
    );
    assert!(
        differ > 0,
        "tree16 gave exactly the sequential sum on all 65536 elements"
    );
}
