//! Ops larger than one GPU storage binding are split into chunks (`exec/gpu/matmul/chunked.rs`,
//! `exec/gpu/cast.rs`), and launches beyond one dispatch's grid into several dispatches.
//! A GPU executor told that bindings hold only a few KiB must still give the CPU twin's bits, and say
//! clearly when an op cannot be split.

use crate::common;
use davinci::tensor::random::gen_bf16;
use davinci::{
    Accumulation, CpuExecutor, DType, Error, GpuExecutor, MatmulOptions, Shape, Tensor, cast,
    matmul,
};

/// Binding limits to plan with, in bytes.
const LIMITS: [u64; 2] = [2048, 4096];

fn small(gpu: GpuExecutor, bytes: u64) -> GpuExecutor {
    let g = gpu.with_max_binding_bytes(bytes);
    assert_eq!(g.max_binding_bytes(), bytes, "the limit was not applied");
    g
}

fn shape(batch: Option<usize>, rows: usize, cols: usize) -> Shape {
    Shape::new(batch.into_iter().chain([rows, cols]).collect::<Vec<_>>())
}

/// The chunked GPU result must be the CPU twin's, bit for bit.
fn check_matmul(gpu: &GpuExecutor, what: &str, a: &Tensor, b: &Tensor, opts: MatmulOptions) {
    let what = format!("{what}, binding limit {}", gpu.max_binding_bytes());
    if let Err(e) = common::compare_matmul(gpu, &what, a, b, opts) {
        panic!("{e}");
    }
}

#[test]
fn batched_matmul_in_chunks_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let ctx = gpu.context().clone();
    // batch x M x K x N = 3 x 40 x 70 x 50: A alone is 16,800 bytes, several times either limit.
    let (batch, m, k, n) = (3, 40, 70, 50);
    for limit in LIMITS {
        let gpu = small(GpuExecutor::new(ctx.clone()), limit);
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = gen_bf16(
                71,
                shape(Some(batch), if ta { k } else { m }, if ta { m } else { k }),
                1.0,
            );
            let b = gen_bf16(
                72,
                shape(Some(batch), if tb { n } else { k }, if tb { k } else { n }),
                1.0,
            );
            for accumulate in [Accumulation::Tree16, Accumulation::Sequential] {
                for dtype_out in [DType::F32, DType::Bf16] {
                    let opts = MatmulOptions {
                        trans_a: ta,
                        trans_b: tb,
                        dtype_out,
                        accumulate,
                        format: None,
                        tiling: Default::default(),
                    };
                    check_matmul(&gpu, "3x40x70x50", &a, &b, opts);
                }
            }
        }
    }
}

#[test]
fn shared_operand_and_wide_output_in_chunks() {
    let Some(gpu) = common::gpu() else { return };
    let gpu = small(gpu, 2048);
    // A batched with B shared; then a result too wide for one binding though each operand row fits.
    let a = gen_bf16(73, [2, 33, 48], 1.0);
    let b = gen_bf16(74, [48, 70], 1.0);
    for dtype_out in [DType::F32, DType::Bf16] {
        let opts = MatmulOptions {
            dtype_out,
            ..MatmulOptions::default()
        };
        check_matmul(&gpu, "A batched, B shared", &a, &b, opts);
        // b as the shared A: [48, 70] @ [2, 70, 9].
        check_matmul(
            &gpu,
            "A shared, B batched",
            &b,
            &gen_bf16(77, [2, 70, 9], 1.0),
            opts,
        );
    }
    let a = gen_bf16(75, [3, 20], 1.0);
    let b = gen_bf16(76, [20, 900], 1.0); // 900 f32 outputs per row = 3600 bytes > 2048
    check_matmul(&gpu, "wide N", &a, &b, MatmulOptions::default());
}

#[test]
fn tiny_limit_one_element_blocks() {
    let Some(gpu) = common::gpu() else { return };
    // 16 bytes: a row of A (6 bf16 = 12 bytes) fits, two do not, so every block is one element of C.
    let gpu = small(gpu, 16);
    let a = gen_bf16(78, [5, 6], 1.0);
    let b = gen_bf16(79, [6, 3], 1.0);
    for accumulate in [Accumulation::Tree16, Accumulation::Sequential] {
        for dtype_out in [DType::F32, DType::Bf16] {
            let opts = MatmulOptions {
                accumulate,
                dtype_out,
                ..MatmulOptions::default()
            };
            check_matmul(&gpu, "16-byte bindings", &a, &b, opts);
        }
    }
}

/// Casts of a few thousand elements, odd counts included so that a chunk ends inside a bf16 pair.
#[test]
fn casts_in_chunks_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let ctx = gpu.context().clone();
    for limit in LIMITS {
        let gpu = small(GpuExecutor::new(ctx.clone()), limit);
        for len in [5000usize, 5001] {
            // Every kind of f32 bit pattern: a multiplicative hash over all 2^32 (NaNs, infinities,
            // subnormals and ties included).
            let f32s: Vec<f32> = (0..len as u32)
                .map(|i| f32::from_bits(i.wrapping_mul(0x9e37_79b9) ^ (i << 3)))
                .collect();
            let x = Tensor::from_f32([len], f32s).unwrap();
            let g = cast(&gpu, &x, DType::Bf16).unwrap();
            let c = cast(&CpuExecutor, &x, DType::Bf16).unwrap();
            assert!(
                common::bits_equal_named(&format!("f32 -> bf16, {len}, limit {limit}"), &g, &c),
                "chunked f32 -> bf16 cast of {len} elements differs from the CPU (limit {limit})"
            );
            let h = Tensor::from_bf16(
                [len],
                (0..len as u32)
                    .map(|i| half::bf16::from_bits((i.wrapping_mul(40_503) >> 3) as u16))
                    .collect(),
            )
            .unwrap();
            let g = cast(&gpu, &h, DType::F32).unwrap();
            let c = cast(&CpuExecutor, &h, DType::F32).unwrap();
            assert!(
                common::bits_equal_named(&format!("bf16 -> f32, {len}, limit {limit}"), &g, &c),
                "chunked bf16 -> f32 cast of {len} elements differs from the CPU (limit {limit})"
            );
        }
    }
}

#[test]
fn row_too_long_for_binding_is_an_error() {
    let Some(gpu) = common::gpu() else { return };
    // K = 100: one row of A is 200 bytes and K is never split, so a 64-byte binding cannot take the op.
    let gpu = small(gpu, 64);
    let a = gen_bf16(81, [4, 100], 1.0);
    let b = gen_bf16(82, [100, 4], 1.0);
    let err = matmul(&gpu, &a, &b, MatmulOptions::default())
        .expect_err("a row of A larger than a binding must be refused");
    let msg = err.to_string();
    match &err {
        Error::TooLargeForBinding {
            op, bytes, limit, ..
        } => {
            assert_eq!(*op, "cube_matmul");
            assert_eq!(*limit, 64);
            assert!(
                *bytes > *limit,
                "reported {bytes} bytes, not over the limit"
            );
        }
        other => panic!("expected Error::TooLargeForBinding, got {other:?}: {msg}"),
    }
    assert!(
        msg.contains("cube_matmul"),
        "message does not name the op: {msg}"
    );
    assert!(msg.contains("64"), "message does not give the limit: {msg}");
    eprintln!("error as reported: {msg}");
    // The same op still runs on the CPU.
    assert!(matmul(&CpuExecutor, &a, &b, MatmulOptions::default()).is_ok());
}

/// A launch that needs more workgroups along the batch (z) or row (y) axis than one dispatch allows is
/// issued as several dispatches with offsets; the result must still be the CPU twin's, bit for bit. The
/// executor is told that a dimension holds only 5 workgroups, so small tensors need several dispatches.
#[test]
fn launches_beyond_one_dispatch_are_split() {
    let Some(gpu) = common::gpu() else { return };
    let max = 5;
    let gpu = GpuExecutor::new(gpu.context().clone()).with_max_workgroups(max as u32);
    // One workgroup per batch entry: 2 * max + 3 entries need three dispatches along z.
    let batch = 2 * max + 3;
    let a = gen_bf16(41, [batch, 2, 3], 1.0);
    let b = gen_bf16(42, [batch, 3, 2], 1.0);
    check_matmul(
        &gpu,
        "batch beyond one dispatch",
        &a,
        &b,
        MatmulOptions::default(),
    );
    // 64 rows per workgroup: max * 64 + 5 rows need two dispatches along y.
    let m = max * 64 + 5;
    let a = gen_bf16(43, [m, 1], 1.0);
    let b = gen_bf16(44, [1, 3], 1.0);
    let opts = MatmulOptions {
        accumulate: Accumulation::Sequential,
        dtype_out: DType::Bf16,
        ..Default::default()
    };
    check_matmul(&gpu, "rows beyond one dispatch", &a, &b, opts);
    // A row kernel runs max * max rows per dispatch: 2 * 25 + 7 rows need three, and an elementwise
    // kernel's grid spills from x into y.
    let x = gen_bf16(45, [2 * max * max + 7, 40], 4.0);
    let mut p = davinci::Program::new();
    let ix = p.input("x", x.shape().clone(), DType::Bf16);
    let s = p.softmax(ix, None, DType::Bf16).expect("softmax");
    let e = p.unary(davinci::UnaryFn::Exp, ix, DType::F32).expect("exp");
    p.output(s).expect("output");
    p.output(e).expect("output");
    let cpu = davinci::Executor::run(&CpuExecutor, &p, &[&x]).expect("cpu");
    let got = davinci::Executor::run(&gpu, &p, &[&x]).expect("gpu");
    for (what, (c, g)) in ["softmax", "exp"].iter().zip(cpu.iter().zip(&got)) {
        assert!(
            common::bits_equal_named(what, g, c),
            "{what} over several dispatches differs from the CPU twin"
        );
    }
}
