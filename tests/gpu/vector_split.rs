//! Vector-unit ops beyond one storage binding are split by rows (`exec/gpu/vector_split.rs`): a GPU
//! executor told that bindings hold only a few hundred bytes must give the CPU twin's bits for every kind
//! (elementwise with broadcast operands, reductions, softmax with a broadcast or a full mask, the norms
//! with and without gamma and beta), in f32 and bf16, and refuse a row that no block can hold.

use crate::common;
use davinci::tensor::random::gen_bf16;
use davinci::{
    BinaryFn, CpuExecutor, DType, Error, Executor, GpuExecutor, Program, ReduceFn, Shape, Tensor,
    UnaryFn,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// The op kinds of the property, by index.
const KINDS: usize = 9;

/// A one-op program of kind `k` over x of `[rows, len]` (and the operands it takes), with its inputs.
fn case(k: usize, rows: usize, len: usize, dtype: DType, seed: u64) -> (Program, Vec<Tensor>) {
    let t = |s: u64, shape: Vec<usize>, scale: f32| {
        let b = gen_bf16(seed * 16 + s, Shape::new(shape), scale);
        if dtype == DType::F32 {
            Tensor::from_f32(b.shape().clone(), b.to_f32_vec()).unwrap()
        } else {
            b
        }
    };
    let mut p = Program::new();
    let x = t(1, vec![rows, len], 3.0);
    let xi = p.input("x", x.shape().clone(), dtype);
    let mut inputs = vec![x];
    let mut more = |p: &mut Program, name: &str, v: Tensor| {
        let id = p.input(name, v.shape().clone(), dtype);
        inputs.push(v);
        id
    };
    let r = match k {
        0 => p.unary(UnaryFn::Gelu, xi, dtype),
        1 => {
            let y = more(&mut p, "y", t(2, vec![len], 1.0)); // broadcast over rows
            p.binary(BinaryFn::Mul, xi, y, dtype)
        }
        2 => {
            let y = more(&mut p, "y", t(3, vec![rows, 1], 1.0)); // broadcast along each row
            p.binary(BinaryFn::Sub, xi, y, DType::F32)
        }
        3 => p.reduce(ReduceFn::Sum, xi, DType::F32),
        4 => p.softmax(xi, None, dtype),
        5 => {
            let m = more(&mut p, "mask", t(4, vec![len], 8.0));
            p.softmax(xi, Some(m), dtype)
        }
        6 => {
            let m = more(&mut p, "mask", t(5, vec![rows, len], 8.0));
            p.softmax(xi, Some(m), DType::F32)
        }
        7 => {
            let g = more(&mut p, "gamma", t(6, vec![len], 1.0));
            let b = more(&mut p, "beta", t(7, vec![len], 1.0));
            p.layernorm(xi, Some(g), Some(b), 1e-5, dtype)
        }
        _ => {
            let g = more(&mut p, "gamma", t(8, vec![len], 1.0));
            p.rmsnorm(xi, Some(g), 1e-6, dtype)
        }
    }
    .expect("the op records");
    p.output(r).expect("output");
    (p, inputs)
}

/// Runs case `k` on a GPU executor whose bindings hold `limit` bytes, against the CPU twin.
fn check(
    gpu: &GpuExecutor,
    k: usize,
    rows: usize,
    len: usize,
    dtype: DType,
    seed: u64,
) -> Result<(), String> {
    let (p, inputs) = case(k, rows, len, dtype, seed);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let want = CpuExecutor.run(&p, &refs).map_err(|e| e.to_string())?;
    let got = gpu.run(&p, &refs).map_err(|e| format!("kind {k}: {e}"))?;
    let what = format!(
        "kind {k}, [{rows}, {len}] {dtype}, binding {} bytes",
        gpu.max_binding_bytes()
    );
    if common::bits_equal_named(&what, &got[0], &want[0]) {
        Ok(())
    } else {
        Err(format!("{what} differs"))
    }
}

#[test]
fn every_vector_kind_in_blocks_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    // [37, 96]: an f32 x is 14,208 bytes; at 1,024 bytes a block holds 2 rows (and 256 elements).
    let small = GpuExecutor::new(gpu.context().clone()).with_max_binding_bytes(1024);
    for k in 0..KINDS {
        for dtype in [DType::F32, DType::Bf16] {
            check(&small, k, 37, 96, dtype, 1).unwrap();
        }
    }
}

#[test]
fn a_row_longer_than_a_binding_is_refused_with_the_reason() {
    let Some(gpu) = common::gpu() else { return };
    let small = GpuExecutor::new(gpu.context().clone()).with_max_binding_bytes(256);
    // A row of 100 f32 results is 400 bytes: no block holds one.
    let (p, inputs) = case(4, 3, 100, DType::F32, 2);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let err = small
        .run(&p, &refs)
        .expect_err("a row over the binding cannot be split");
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            Error::TooLargeForBinding {
                op: "softmax",
                limit: 256,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("row"),
        "the message says a row is too long: {msg}"
    );
    // An elementwise op of the same size splits fine.
    check(&small, 0, 3, 100, DType::F32, 2).unwrap();
}

#[test]
fn property_random_shapes_and_limits_in_blocks() {
    let Some(gpu) = common::gpu() else { return };
    let config = Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    };
    let strategy = (
        1usize..30,
        1usize..48,
        0usize..KINDS,
        prop::sample::select(vec![192u64, 400, 1000]),
        any::<bool>(),
        0u64..1000,
    );
    TestRunner::new(config)
        .run(&strategy, |(rows, len, k, limit, bf16, seed)| {
            // Rows must fit a block: keep len * 4 bytes within the limit.
            let len = len.min(limit as usize / 4);
            let small = GpuExecutor::new(gpu.context().clone()).with_max_binding_bytes(limit);
            let dtype = if bf16 { DType::Bf16 } else { DType::F32 };
            check(&small, k, rows, len, dtype, seed).map_err(TestCaseError::fail)
        })
        .unwrap();
}
