//! The narrow-accumulator experiment (`Accumulation::Narrow`): against a plain loop with the `half` crate's
//! conversions as the rounding, on every executor, and its two effects a user would look for: an fp16
//! accumulator overflows where f32 does not, and a bf16 one stops growing once each fractal's sum falls
//! below half its ulp, less so the longer it stays in f32 between roundings.

use crate::common;
use davinci::tensor::random::gen_bf16;
use davinci::{Accumulation, DType, MatmulOptions, Tensor, matmul};
use half::{bf16, f16};

fn narrow(format: DType, every: u32) -> Accumulation {
    Accumulation::narrow(format, every).unwrap()
}

fn options(accumulate: Accumulation) -> MatmulOptions {
    MatmulOptions {
        accumulate,
        ..MatmulOptions::default()
    }
}

/// `C = A @ B` (row-major, `[m][k]` by `[k][n]`) by the definition: per fractal of 16 along K the fixed
/// pairwise tree in f32 (zero past K), added to the accumulator, which `round` narrows after every
/// `every` fractals and after the last.
fn reference(
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    round: &dyn Fn(f32) -> f32,
    every: usize,
) -> Vec<u32> {
    let fractals = k.div_ceil(16);
    let mut c = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0f32;
            for f in 0..fractals {
                let prod = |q: usize| {
                    let kk = f * 16 + q;
                    if kk < k {
                        a[i * k + kk] * b[kk * n + j]
                    } else {
                        0.0
                    }
                };
                let s: Vec<f32> = (0..8).map(|q| prod(2 * q) + prod(2 * q + 1)).collect();
                let t = [s[0] + s[1], s[2] + s[3], s[4] + s[5], s[6] + s[7]];
                acc += (t[0] + t[1]) + (t[2] + t[3]);
                if (f + 1) % every == 0 || f + 1 == fractals {
                    acc = round(acc);
                }
            }
            c.push(acc.to_bits());
        }
    }
    c
}

fn values(t: &Tensor) -> Vec<f32> {
    t.as_bf16().unwrap().iter().map(|v| v.to_f32()).collect()
}

#[test]
fn narrow_accumulators_match_the_definition_on_every_executor() {
    let to_f16 = |x: f32| f16::from_f32(x).to_f32();
    let to_bf16 = |x: f32| bf16::from_f32(x).to_f32();
    for (m, k, n) in [(1, 1, 1), (5, 47, 9), (17, 300, 33)] {
        // Scale 8: fp16's 11-bit significand rounds these sums; bf16's 8-bit one more so.
        let a = gen_bf16(71, [m, k], 8.0);
        let b = gen_bf16(72, [k, n], 8.0);
        let (av, bv) = (values(&a), values(&b));
        for (format, every, round) in [
            (DType::F16, 1, &to_f16 as &dyn Fn(f32) -> f32),
            (DType::F16, 3, &to_f16),
            (DType::Bf16, 1, &to_bf16),
            (DType::Bf16, 8, &to_bf16),
        ] {
            let want = reference(&av, &bv, (m, k, n), round, every as usize);
            let acc = narrow(format, every);
            for exec in common::executors() {
                let c = matmul(exec.as_ref(), &a, &b, options(acc)).unwrap();
                let what = format!("{} {acc} {m}x{k}x{n}", exec.name());
                assert!(
                    common::bits_equal_slices(&what, &c.bits(), &want, 8),
                    "{what}: differs from the definition"
                );
            }
        }
    }
}

#[test]
fn an_fp16_accumulator_overflows_and_a_bf16_one_stagnates() {
    let k = 16384;
    let ones = |shape: [usize; 2], v: f32| {
        Tensor::from_bf16(shape, vec![bf16::from_f32(v); shape[0] * shape[1]]).unwrap()
    };
    let exec = davinci::CpuExecutor;
    let run = |a: &Tensor, b: &Tensor, acc: Accumulation| {
        matmul(&exec, a, b, options(acc)).unwrap().to_f32_vec()[0]
    };
    // 16384 products of 8 x 1: 131072 in f32, past fp16's 65504: infinity once rounded to fp16.
    let (a8, b1) = (ones([1, k], 8.0), ones([k, 1], 1.0));
    assert_eq!(run(&a8, &b1, Accumulation::Tree16), 131072.0);
    assert_eq!(run(&a8, &b1, narrow(DType::F16, 1)), f32::INFINITY);
    // 16384 ones: each fractal adds 16. A bf16 accumulator (8 significant bits) stops at 4096, where
    // 4096 + 16 is a tie that goes back to 4096; held in f32 for 16 fractals it adds 256 at a time,
    // which bf16 keeps exactly all the way.
    let a1 = ones([1, k], 1.0);
    assert_eq!(run(&a1, &b1, narrow(DType::Bf16, 1)), 4096.0);
    assert_eq!(run(&a1, &b1, narrow(DType::Bf16, 16)), 16384.0);
    assert_eq!(run(&a1, &b1, Accumulation::Tree16), 16384.0);
}

#[test]
fn narrow_accumulators_are_refused_where_they_mean_nothing() {
    assert!(Accumulation::narrow(DType::F8E4M3, 1).is_err());
    assert!(Accumulation::narrow(DType::Bf16, 0).is_err());
    // int8 accumulates exactly in int32: a narrow f32 accumulator would be a wrong answer, not an experiment.
    let int8 = |shape: [usize; 2]| {
        Tensor::new(shape.into(), davinci::tensor::TensorData::I8(vec![1; 32])).unwrap()
    };
    let (a, b) = (int8([2, 16]), int8([16, 2]));
    let opts = MatmulOptions {
        format: Some(davinci::CubeFormat::Int8),
        ..options(narrow(DType::F16, 1))
    };
    let e = matmul(&davinci::CpuExecutor, &a, &b, opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("int32") && e.contains("f16-every1"), "{e}");
}
