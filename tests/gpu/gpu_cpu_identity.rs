//! The numerics contract's central promise: the GPU executor and the CPU twin give the same bits for
//! `cube_matmul`, for both accumulation models (and the narrow-accumulator experiments) and both output dtypes, on any shape, layout and batch, and
//! on special values (infinities, NaNs, overflow; subnormals where the adapter keeps them).

use crate::common;
use davinci::tensor::random::{gen_bf16, splitmix64};
use davinci::{
    Accumulation, DType, GpuExecutor, MatmulOptions, NarrowAccumulator, Shape, Tensor, matmul,
};
use half::bf16;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// The contract's two models and two narrow-accumulator experiments (fp16 every fractal, bf16 every 4).
const MODELS: [Accumulation; 4] = [
    Accumulation::Tree16,
    Accumulation::Sequential,
    Accumulation::Narrow(NarrowAccumulator {
        format: DType::F16,
        every: 1,
    }),
    Accumulation::Narrow(NarrowAccumulator {
        format: DType::Bf16,
        every: 4,
    }),
];
const DTYPES: [DType; 2] = [DType::F32, DType::Bf16];

/// Every model and output dtype for one pair of operands.
fn all_options(
    gpu: &GpuExecutor,
    what: &str,
    a: &Tensor,
    b: &Tensor,
    trans_a: bool,
    trans_b: bool,
) {
    for accumulate in MODELS {
        for dtype_out in DTYPES {
            let opts = MatmulOptions {
                trans_a,
                trans_b,
                dtype_out,
                accumulate,
                format: None,
                tiling: Default::default(),
            };
            if let Err(e) = common::compare_matmul(gpu, what, a, b, opts) {
                panic!("{e}");
            }
        }
    }
}

/// Shape of A for M x K (stored [K, M] when transposed), with an optional batch.
fn a_shape(batch: Option<usize>, m: usize, k: usize, trans: bool) -> Shape {
    let mut s: Vec<usize> = batch.into_iter().collect();
    s.extend(if trans { [k, m] } else { [m, k] });
    Shape::new(s)
}

/// Shape of B for K x N (stored [N, K] when transposed), with an optional batch.
fn b_shape(batch: Option<usize>, k: usize, n: usize, trans: bool) -> Shape {
    let mut s: Vec<usize> = batch.into_iter().collect();
    s.extend(if trans { [n, k] } else { [k, n] });
    Shape::new(s)
}

#[test]
fn fixed_shapes() {
    let Some(gpu) = common::gpu() else { return };
    // M x K x N, as the goldens name them.
    for (m, k, n) in [(1, 1, 1), (17, 33, 65), (1, 4096, 4096), (128, 256, 512)] {
        let a = gen_bf16(11, [m, k], 1.0);
        let b = gen_bf16(12, [k, n], 1.0);
        all_options(&gpu, &format!("{m}x{k}x{n}"), &a, &b, false, false);
    }
}

#[test]
fn transposed_operands() {
    let Some(gpu) = common::gpu() else { return };
    let (m, k, n) = (37, 70, 45);
    for (ta, tb) in [(true, false), (false, true), (true, true)] {
        let a = gen_bf16(21, a_shape(None, m, k, ta), 1.0);
        let b = gen_bf16(22, b_shape(None, k, n, tb), 1.0);
        all_options(&gpu, &format!("trans_a={ta} trans_b={tb}"), &a, &b, ta, tb);
    }
}

#[test]
fn transposed_operands_give_the_transposed_problem() {
    // Not a GPU/CPU comparison: storing A as [K, M] with trans_a must compute the same product as the
    // untransposed layout of the same matrix (checked on both executors).
    let (m, k, n) = (19, 35, 23);
    let a = gen_bf16(31, [m, k], 1.0);
    let b = gen_bf16(32, [k, n], 1.0);
    let transpose = |t: &Tensor| {
        let (r, c) = (t.shape().dims()[0], t.shape().dims()[1]);
        let v = t.as_bf16().unwrap();
        let out: Vec<bf16> = (0..c)
            .flat_map(|j| (0..r).map(move |i| v[i * c + j]))
            .collect();
        Tensor::from_bf16([c, r], out).unwrap()
    };
    let (at, bt) = (transpose(&a), transpose(&b));
    for exec in common::executors() {
        let base = matmul(exec.as_ref(), &a, &b, MatmulOptions::default()).unwrap();
        let opts = MatmulOptions {
            trans_a: true,
            trans_b: true,
            ..MatmulOptions::default()
        };
        let both = matmul(exec.as_ref(), &at, &bt, opts).unwrap();
        assert!(
            common::bits_equal_named(&format!("{} transposed layout", exec.name()), &both, &base),
            "{}: trans_a/trans_b with transposed storage changed the result",
            exec.name()
        );
    }
}

#[test]
fn batched_operands() {
    let Some(gpu) = common::gpu() else { return };
    let (batch, m, k, n) = (3, 20, 40, 30);
    let cases = [
        ("both batched", Some(batch), Some(batch)),
        ("A batched, B shared", Some(batch), None),
        ("A shared, B batched", None, Some(batch)),
    ];
    for (what, ab, bb) in cases {
        for (ta, tb) in [(false, false), (true, true)] {
            let a = gen_bf16(41, a_shape(ab, m, k, ta), 1.0);
            let b = gen_bf16(42, b_shape(bb, k, n, tb), 1.0);
            all_options(&gpu, &format!("{what}, trans {ta}/{tb}"), &a, &b, ta, tb);
        }
    }
    // A shared B really is shared: batch entry i of the result equals the unbatched product of A[i] and B.
    let a = gen_bf16(43, [batch, m, k], 1.0);
    let b = gen_bf16(44, [k, n], 1.0);
    let c = matmul(&gpu, &a, &b, MatmulOptions::default()).unwrap();
    assert_eq!(c.shape().dims(), &[batch, m, n]);
    let av = a.as_bf16().unwrap();
    for i in 0..batch {
        let ai = Tensor::from_bf16([m, k], av[i * m * k..(i + 1) * m * k].to_vec()).unwrap();
        let ci = matmul(&gpu, &ai, &b, MatmulOptions::default()).unwrap();
        assert_eq!(
            &c.bits()[i * m * n..(i + 1) * m * n],
            &ci.bits()[..],
            "batch entry {i} with shared B differs from the unbatched product"
        );
    }
}

#[test]
fn random_shapes_property() {
    let Some(gpu) = common::gpu() else { return };
    let dims = 1usize..=80;
    let strategy = (
        (dims.clone(), dims.clone(), dims),
        (0usize..=3, 0usize..4),
        (any::<bool>(), any::<bool>()),
        (
            proptest::sample::select(MODELS.to_vec()),
            prop_oneof![Just(DType::F32), Just(DType::Bf16)],
        ),
        (
            any::<u64>(),
            prop_oneof![Just(1.0f32), Just(100.0f32), Just(1e-3f32)],
        ),
    );
    // Few cases: lavapipe runs the shaders on the CPU.
    let config = Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(
        &strategy,
        |(
            (m, n, k),
            (batch, batched),
            (trans_a, trans_b),
            (accumulate, dtype_out),
            (seed, scale),
        )| {
            // batched: 0 neither, 1 A only, 2 B only, 3 both (batch 0 means no batch dimension at all).
            let ab = (batch > 0 && batched & 1 == 1).then_some(batch);
            let bb = (batch > 0 && batched & 2 == 2).then_some(batch);
            let a = gen_bf16(seed, a_shape(ab, m, k, trans_a), scale);
            let b = gen_bf16(seed ^ 0x5555, b_shape(bb, k, n, trans_b), scale);
            let opts = MatmulOptions {
                trans_a,
                trans_b,
                dtype_out,
                accumulate,
                format: None,
                tiling: Default::default(),
            };
            common::compare_matmul(&gpu, &format!("proptest {m}x{k}x{n}"), &a, &b, opts)
                .map(|_| ())
                .map_err(TestCaseError::fail)
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn bf(bits: u16) -> bf16 {
    bf16::from_bits(bits)
}

/// Operands full of special values. `a` is M x K, `b` is K x N, laid out so that output elements see:
/// a NaN (several payloads, both signs, signalling), +inf alone, inf - inf, a sum of huge finite values
/// that overflows to +inf and one to -inf, huge values that cancel, and ordinary values.
fn special_operands(m: usize, k: usize, n: usize) -> (Tensor, Tensor) {
    let normal = gen_bf16(51, [m, k], 1.0);
    let mut a: Vec<bf16> = normal.as_bf16().unwrap().to_vec();
    let mut b: Vec<bf16> = gen_bf16(52, [k, n], 1.0).as_bf16().unwrap().to_vec();
    let huge = bf(0x7f7f); // the largest finite bf16, about 3.39e38
    let neg_huge = bf(0xff7f);
    let specials = [
        bf(0x7fc0), // quiet NaN
        bf(0xffc1), // negative quiet NaN with payload
        bf(0x7f81), // signalling NaN
        bf(0x7f80), // +inf
        bf(0xff80), // -inf
    ];
    // Row r of A: a special value at column r (wrapping), so rows differ in what they meet.
    for r in 0..m.min(specials.len() * 2) {
        a[r * k + (r * 7) % k] = specials[r % specials.len()];
    }
    // Row 10: +inf and -inf in the same row: inf - inf = NaN where B is positive at both.
    if m > 10 {
        a[10 * k] = bf(0x7f80);
        a[10 * k + 1] = bf(0xff80);
        for j in 0..n {
            b[j] = bf16::ONE;
            b[n + j] = bf16::ONE;
        }
    }
    // Row 11: all huge, so the f32 sum overflows (to +inf where B is 1, -inf where B is -1).
    if m > 11 {
        for x in &mut a[11 * k..12 * k] {
            *x = huge;
        }
        for kk in 0..k {
            b[kk * n] = bf16::ONE;
            b[kk * n + 1] = bf16::NEG_ONE;
        }
    }
    // Row 12: huge values that cancel pairwise, so the exact sum is small but partial sums are not.
    if m > 12 {
        for kk in 0..k {
            a[12 * k + kk] = if kk % 2 == 0 { huge } else { neg_huge };
        }
    }
    (
        Tensor::from_bf16([m, k], a).unwrap(),
        Tensor::from_bf16([k, n], b).unwrap(),
    )
}

#[test]
fn special_values_inf_nan_overflow() {
    let Some(gpu) = common::gpu() else { return };
    let (m, k, n) = (16, 40, 24);
    let (a, b) = special_operands(m, k, n);
    for accumulate in MODELS {
        for dtype_out in DTYPES {
            let opts = MatmulOptions {
                accumulate,
                dtype_out,
                ..MatmulOptions::default()
            };
            let c = common::compare_matmul(&gpu, "special values", &a, &b, opts)
                .unwrap_or_else(|e| panic!("{e}"));
            // The inputs really produce what they are meant to, so the comparison above covered them.
            let v = c.to_f32_vec();
            assert!(v.iter().any(|x| x.is_nan()), "no NaN in the result");
            assert_eq!(
                v[11 * n],
                f32::INFINITY,
                "row 11 col 0 should overflow to +inf"
            );
            assert_eq!(
                v[11 * n + 1],
                f32::NEG_INFINITY,
                "row 11 col 1 should overflow to -inf"
            );
            assert!(v[10 * n].is_nan(), "inf - inf should be NaN");
            assert!(v.iter().any(|x| x.is_finite()), "no finite element at all");
        }
    }
}

/// `len` bf16 values of magnitude in [2^-8, 2): any product of one of them with a bf16 (subnormal or not)
/// that stays above 2^-149 is exact in f32, so no rounding of the product itself is involved.
fn moderate_bf16(seed: u64, len: usize) -> Vec<bf16> {
    (0..len as u64)
        .map(|i| {
            let z = splitmix64(seed, i);
            let sign = ((z >> 63) as u16) << 15;
            let exp = 119 + (z >> 32) as u16 % 9; // 2^-8 ..= 2^0
            bf(sign | exp << 7 | (z as u16 & 0x7f))
        })
        .collect()
}

/// The subnormal cases every adapter that keeps subnormals must match: subnormal operands (in A, then in
/// B) times moderate values, whose products are exact, and sums that cancel down into the subnormal range.
#[test]
fn subnormal_inputs_and_results() {
    let Some(gpu) = common::gpu() else { return };
    let probe = *gpu.context().probe();
    if !probe.ieee_subnormals() {
        eprintln!(
            "SKIP subnormal_inputs_and_results: this adapter flushes f32 subnormals ({probe:?}); the contract \
             promises bit-identity there only for results that never pass through a subnormal"
        );
        return;
    }
    let (m, k, n) = (8, 48, 20);
    let subnormals = [
        0x0001u16, 0x007f, 0x8003, 0x0040, 0x8001, 0x0011, 0x0002, 0x807e,
    ];
    let mut a = moderate_bf16(61, m * k);
    let mut b = moderate_bf16(62, k * n);
    // Rows 0 and 1 of A: subnormal bf16s (the smallest, the largest, negative ones); their products with
    // B are subnormal and the sums stay in or near the subnormal range.
    for kk in 0..k {
        a[kk] = bf(subnormals[kk % subnormals.len()]);
        a[k + kk] = bf(subnormals[(kk * 3 + 1) % subnormals.len()]);
    }
    // Row 2 with column 1: normal values whose sum cancels down into the subnormal range.
    for kk in 0..k {
        a[2 * k + kk] = bf(if kk % 2 == 0 { 0x0090 } else { 0x8080 }); // 2^-126 * 1.125 and -2^-126
        b[kk * n + 1] = bf16::ONE;
    }
    let a = Tensor::from_bf16([m, k], a).unwrap();
    let b = Tensor::from_bf16([k, n], b).unwrap();
    // The same with the roles swapped: subnormal columns of B against moderate A.
    let a2 = Tensor::from_bf16([m, k], moderate_bf16(63, m * k)).unwrap();
    let mut b2 = moderate_bf16(64, k * n);
    for kk in 0..k {
        b2[kk * n + 3] = bf(subnormals[kk % subnormals.len()]);
        b2[kk * n + 7] = bf(subnormals[(kk + 5) % subnormals.len()]);
    }
    let b2 = Tensor::from_bf16([k, n], b2).unwrap();
    for (what, a, b) in [("subnormal A", &a, &b), ("subnormal B", &a2, &b2)] {
        // The contract's models only: a narrow accumulator rounds these tiny sums away by design.
        for accumulate in MODELS[..2].iter().copied() {
            for dtype_out in DTYPES {
                let opts = MatmulOptions {
                    accumulate,
                    dtype_out,
                    ..MatmulOptions::default()
                };
                let c = common::compare_matmul(&gpu, what, a, b, opts)
                    .unwrap_or_else(|e| panic!("{e}"));
                let v = c.to_f32_vec();
                assert!(
                    v.iter().any(|x| x.is_subnormal()),
                    "{what} {accumulate} {dtype_out}: no subnormal result, so subnormals went untested"
                );
            }
        }
    }
}

/// bf16 products too small for f32's precision: about 2^-140 (rounded into the subnormal range) and about
/// 2^-260 (gone, leaving a signed zero). Each product is rounded to f32 on its own, in the shader as in the
/// twin; a compiler that fused it into the following add (NVIDIA contracts, lavapipe splits WGSL's fma)
/// would change exactly these results, so this is where the shader's guards against that show.
#[test]
fn underflowing_products() {
    let Some(gpu) = common::gpu() else { return };
    let probe = *gpu.context().probe();
    if !probe.ieee_subnormals() {
        eprintln!(
            "SKIP underflowing_products: this adapter flushes f32 subnormals ({probe:?}); the contract \
             promises bit-identity only for results that never pass through a subnormal"
        );
        return;
    }
    let (m, k, n) = (4, 48, 8);
    let mut a = gen_bf16(65, [m, k], 1.0).as_bf16().unwrap().to_vec();
    let mut b = gen_bf16(66, [k, n], 1.0).as_bf16().unwrap().to_vec();
    for kk in 0..k {
        a[kk] = bf(0x1c80 + kk as u16); // about 2^-70
        b[kk * n] = bf(0x1c80 + 2 * kk as u16); // about 2^-70: products about 2^-140, 16 bits long
        a[k + kk] = bf(0x0001 + kk as u16); // subnormal
        b[kk * n + 1] = bf(0x8003 + kk as u16); // subnormal: products about 2^-260
    }
    // The inputs do what they are meant to: some products in column 0 are inexact in f32.
    let inexact = (0..k)
        .filter(|&kk| {
            let (x, y) = (a[kk].to_f32(), b[kk * n].to_f32());
            (x * y) as f64 != x as f64 * y as f64
        })
        .count();
    assert!(inexact > 0, "no product of column 0 needs rounding");
    let a = Tensor::from_bf16([m, k], a).unwrap();
    let b = Tensor::from_bf16([k, n], b).unwrap();
    // The contract's models only: a narrow accumulator rounds these tiny sums away by design.
    for accumulate in MODELS[..2].iter().copied() {
        for dtype_out in DTYPES {
            let opts = MatmulOptions {
                accumulate,
                dtype_out,
                ..MatmulOptions::default()
            };
            let c = common::compare_matmul(&gpu, "underflowing products", &a, &b, opts)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(c.to_f32_vec()[0] != 0.0, "the 2^-140 products all vanished");
        }
    }
}
