//! The wide elementwise layout (chunks of 8 elements per invocation, loaded and stored as whole vec4s:
//! `shaders/shared/elementwise_main.wgsl`) against the CPU twin, bit for bit, at every length modulo 8, in
//! every pairing of f32 and bf16, and on buffers the pool hands back dirty (a chunk's elements past the
//! end read whatever the buffer held before and must not change any result).

use crate::common;
use davinci::exec::Executor;
use davinci::tensor::random::splitmix64;
use davinci::{BinaryFn, CpuExecutor, DType, GpuExecutor, Program, Tensor, UnaryFn};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

pub(crate) const DTYPES: [DType; 2] = [DType::F32, DType::Bf16];

/// `n` values from random bits (NaNs, infinities and subnormals among them), in `dtype`.
pub(crate) fn random_bits(seed: u64, n: usize, dtype: DType) -> Tensor {
    let v: Vec<f32> = (0..n)
        .map(|i| {
            let bits = splitmix64(seed, i as u64) as u32;
            // Half of them near 1, where exp and the products are ordinary; half anything at all.
            if i % 2 == 0 {
                f32::from_bits(bits)
            } else {
                f32::from_bits(0x3f00_0000 | (bits & 0x80ff_ffff))
            }
        })
        .collect();
    let t = Tensor::from_f32([n], v).expect("shape");
    if dtype == DType::Bf16 { t.to_bf16() } else { t }
}

/// Runs `build` on both executors and compares the bits.
pub(crate) fn check(
    gpu: &GpuExecutor,
    what: &str,
    inputs: &[&Tensor],
    build: impl Fn(&mut Program, &[davinci::TensorId]) -> davinci::TensorId,
) -> Result<(), String> {
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, inputs);
    let out = build(&mut p, &ids);
    p.output(out).map_err(|e| e.to_string())?;
    let g = gpu
        .run(&p, inputs)
        .map_err(|e| format!("{what}: gpu: {e}"))?;
    let c = CpuExecutor
        .run(&p, inputs)
        .map_err(|e| format!("{what}: cpu: {e}"))?;
    if common::bits_equal_named(what, &g[0], &c[0]) {
        Ok(())
    } else {
        Err(format!("{what}: the GPU's bits differ from the twin's"))
    }
}

#[test]
fn the_cheap_functions_take_the_wide_layout_and_the_heavy_ones_do_not() {
    let Some(gpu) = common::gpu() else { return };
    for f in [UnaryFn::Relu, UnaryFn::Exp, UnaryFn::Neg, UnaryFn::Abs] {
        assert!(gpu.unary_is_wide(f), "{}", f.name());
    }
    for f in [UnaryFn::Gelu, UnaryFn::Log, UnaryFn::Sigmoid] {
        assert!(!gpu.unary_is_wide(f), "{}", f.name());
    }
    assert!(gpu.binary_is_wide(BinaryFn::Add, false));
    assert!(
        !gpu.binary_is_wide(BinaryFn::Add, true),
        "broadcasting reads element by element"
    );
    assert!(!gpu.binary_is_wide(BinaryFn::Div, false));
}

#[test]
fn property_every_length_and_format_matches_the_twin() {
    let Some(gpu) = common::gpu() else { return };
    let config = Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    };
    let unary = [UnaryFn::Relu, UnaryFn::Exp, UnaryFn::Neg, UnaryFn::Abs];
    let binary = [
        BinaryFn::Add,
        BinaryFn::Mul,
        BinaryFn::Max,
        BinaryFn::ReluGrad,
    ];
    let strategy = (1usize..70, 0usize..4, 0usize..8, any::<u64>());
    TestRunner::new(config)
        .run(&strategy, |(n, f, formats, seed)| {
            let (dx, dy, dout) = (
                DTYPES[formats & 1],
                DTYPES[(formats >> 1) & 1],
                DTYPES[(formats >> 2) & 1],
            );
            let x = random_bits(seed, n, dx);
            let y = random_bits(seed ^ 0x5eed, n, dy);
            let (u, b) = (unary[f], binary[f]);
            let what = format!("{} {dx}->{dout}, {n} elements", u.name());
            check(&gpu, &what, &[&x], |p, ids| {
                p.unary(u, ids[0], dout).expect("record")
            })
            .map_err(TestCaseError::fail)?;
            let what = format!("{} {dx},{dy}->{dout}, {n} elements", b.name());
            check(&gpu, &what, &[&x, &y], |p, ids| {
                p.binary(b, ids[0], ids[1], dout).expect("record")
            })
            .map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn a_dirty_pooled_buffer_changes_no_result() {
    let Some(gpu) = common::gpu() else { return };
    // A run that leaves NaNs in buffers of the size class the next op's buffers come from, then that op.
    for n in 1usize..=17 {
        let whole = n.next_multiple_of(8);
        let nan = Tensor::from_f32([whole], vec![f32::NAN; whole]).expect("shape");
        for dtype in DTYPES {
            let mut p = Program::new();
            let a = p.input("a", [whole], DType::F32);
            let r = p.unary(UnaryFn::Neg, a, DType::F32).expect("record");
            p.output(r).expect("output");
            gpu.run(&p, &[&nan]).expect("the NaN run");
            let x = random_bits(n as u64, n, dtype);
            for out in DTYPES {
                let what = format!("relu {dtype}->{out}, {n} elements after a NaN run");
                check(&gpu, &what, &[&x], |p, ids| {
                    p.unary(UnaryFn::Relu, ids[0], out).expect("record")
                })
                .unwrap();
            }
        }
    }
}
