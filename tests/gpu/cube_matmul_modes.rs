//! Every matmul mode on the fast path (`cube_matmul_sg`) gives the CPU twin's bits: a transposed A, the
//! fp32 and HF32 modes, Sequential accumulation, K not a multiple of 8, row-major B with N not a multiple
//! of 8 (the last three through the device-side repack, `kernels/cube_repack.rs`), batches and a B shared
//! by the batch; and the fused epilogue, written by the fast path's own dispatch, in those modes. Where the
//! adapter's subgroups hold 8 invocations, each case also asserts that the fast path takes it, so that a
//! regression to the general kernel cannot pass unseen.

use crate::common;
use davinci::program::{MatmulGeometry, TensorDesc};
use davinci::tensor::Tensor;
use davinci::tensor::random::splitmix64;
use davinci::{
    Accumulation, Activation, CubeFormat, DType, Epilogue, Executor, GpuExecutor, MatmulOptions,
    Program, Shape,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Values in [-2, 2) with specials mixed in: 1 in 61 is +-inf, 1 in 67 NaN, 1 in 71 -0, 1 in 73 a value
/// near f32's largest (products overflow), 1 in 79 near its smallest normal (products underflow, and in
/// the fp32 mode round to subnormals; left out with `tiny` false, for an adapter that flushes subnormals,
/// where the contract promises bit-identity only for results that never pass through one). As bf16
/// (rounded) or f32.
fn operand(seed: u64, dtype: DType, shape: Vec<usize>, tiny: bool) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n as u64)
        .map(|i| {
            let r = splitmix64(seed, i);
            let x = (r >> 40) as f32 / (1u64 << 22) as f32 - 2.0;
            match r % 4331 {
                s if s % 61 == 0 => f32::INFINITY.copysign(x),
                s if s % 67 == 0 => f32::NAN,
                s if s % 71 == 0 => -0.0,
                s if s % 73 == 0 => x * 1.0e38,
                s if s % 79 == 0 && tiny => x * 1.5e-38,
                _ => x,
            }
        })
        .collect();
    let t = Tensor::from_f32(Shape::new(shape), v).unwrap();
    if dtype == DType::Bf16 {
        davinci::cast(&davinci::CpuExecutor, &t, DType::Bf16).unwrap()
    } else {
        t
    }
}

/// One case: A `[batch?, M, K]` (or `[K, M]` with trans_a), B `[batch?, K, N]` (or `[N, K]`), B shared when
/// `shared_b`. Checks the fast path is taken (where subgroups allow) and the bits against the twin.
fn check(
    gpu: &GpuExecutor,
    (batch, m, k, n): (usize, usize, usize, usize),
    shared_b: bool,
    opts: MatmulOptions,
    seed: u64,
) -> Result<(), String> {
    let dtype = match opts.format {
        Some(CubeFormat::Fp32 | CubeFormat::Hf32) => DType::F32,
        _ => DType::Bf16,
    };
    let lead = |b: bool| if b { vec![batch] } else { Vec::new() };
    let mut a_shape = lead(batch > 1);
    a_shape.extend(if opts.trans_a { [k, m] } else { [m, k] });
    let mut b_shape = lead(batch > 1 && !shared_b);
    b_shape.extend(if opts.trans_b { [n, k] } else { [k, n] });
    let tiny = gpu.context().probe().ieee_subnormals();
    let a = operand(seed, dtype, a_shape, tiny);
    let b = operand(seed ^ 0x5eed, dtype, b_shape, tiny);
    let desc = |t: &Tensor| TensorDesc {
        name: String::new(),
        shape: t.shape().clone(),
        dtype: t.dtype(),
    };
    let g = MatmulGeometry::infer(&desc(&a), &desc(&b), &opts).map_err(|e| e.to_string())?;
    let subgroups = gpu.context().subgroup_min_size().is_some_and(|s| s >= 8);
    if subgroups && !gpu.uses_fast_matmul(&g, opts.accumulate) {
        return Err(format!(
            "{g:?} with {} is not on the fast path",
            opts.accumulate
        ));
    }
    common::compare_matmul(gpu, "mode", &a, &b, opts).map(|_| ())
}

fn opts(trans_a: bool, trans_b: bool, format: CubeFormat, acc: Accumulation) -> MatmulOptions {
    MatmulOptions {
        trans_a,
        trans_b,
        format: Some(format),
        accumulate: acc,
        ..MatmulOptions::default()
    }
}

const FORMATS: [CubeFormat; 3] = [CubeFormat::Bf16, CubeFormat::Fp32, CubeFormat::Hf32];
const ORDERS: [Accumulation; 2] = [Accumulation::Tree16, Accumulation::Sequential];

#[test]
fn every_mode_on_its_edges() {
    let Some(gpu) = common::gpu() else { return };
    // One row and one column; K of 1, 13 (repacked), 8 (half a fractal), 24, 40 (K % 16 == 8) and 100;
    // N of 8, 37 and 64; M past one workgroup's rows (4 x 32 on lavapipe).
    let shapes = [
        (1, 1, 1, 1),
        (1, 5, 13, 37),
        (1, 33, 8, 8),
        (1, 70, 24, 64),
        (1, 129, 40, 9),
        (1, 3, 100, 16),
    ];
    let mut seed = 1;
    for shape in shapes {
        for format in FORMATS {
            for acc in ORDERS {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    seed += 1;
                    let o = opts(ta, tb, format, acc);
                    check(&gpu, shape, false, o, seed).unwrap();
                }
            }
        }
    }
}

#[test]
fn batches_and_a_shared_b_in_every_mode() {
    let Some(gpu) = common::gpu() else { return };
    for format in FORMATS {
        for acc in ORDERS {
            for ta in [false, true] {
                for shared in [false, true] {
                    let o = opts(ta, !shared, format, acc);
                    check(&gpu, (3, 21, 19, 11), shared, o, 7).unwrap();
                }
            }
        }
    }
}

#[test]
fn property_random_layouts_formats_and_orders() {
    let Some(gpu) = common::gpu() else { return };
    let dims = 1usize..=48;
    let strategy = (
        (1usize..=3, dims.clone(), dims.clone(), dims),
        (0usize..FORMATS.len(), 0usize..ORDERS.len()),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<u64>()),
    );
    // Few cases: lavapipe runs the shaders on the CPU.
    let config = Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    };
    let result =
        TestRunner::new(config).run(&strategy, |(shape, (fi, oi), (ta, tb, shared, seed))| {
            let o = opts(ta, tb, FORMATS[fi], ORDERS[oi]);
            check(&gpu, shape, shared, o, seed).map_err(TestCaseError::fail)
        });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The epilogue (scale, bias, GELU, residual) and the bf16 rounding in the fast path's dispatch, with a
/// transposed A in the fp32 mode and with Sequential bf16: the twin's bits. N even takes the fused way out
/// for a bf16 result; N odd rounds in a second dispatch (a packed word would span two rows).
#[test]
fn the_fused_epilogue_in_the_new_modes() {
    let Some(gpu) = common::gpu() else { return };
    let tiny = gpu.context().probe().ieee_subnormals();
    let subgroups = gpu.context().subgroup_min_size().is_some_and(|s| s >= 8);
    for (i, (format, acc, n)) in [
        (CubeFormat::Fp32, Accumulation::Tree16, 38),
        (CubeFormat::Bf16, Accumulation::Sequential, 38),
        (CubeFormat::Hf32, Accumulation::Tree16, 37),
    ]
    .into_iter()
    .enumerate()
    {
        let (m, k) = (19, 27);
        let o = MatmulOptions {
            dtype_out: DType::Bf16,
            ..opts(true, false, format, acc)
        };
        let dtype = format.operand_dtype();
        let seed = 40 + i as u64;
        let inputs = [
            operand(seed, dtype, vec![k, m], tiny),
            operand(seed + 1, dtype, vec![k, n], tiny),
            operand(seed + 2, DType::Bf16, vec![n], tiny),
            operand(seed + 3, DType::F32, vec![m, n], tiny),
        ];
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let mut p = Program::new();
        let ids = common::declare_inputs(&mut p, &refs);
        let e = Epilogue {
            scale: Some(0.5),
            bias: Some(ids[2]),
            activation: Activation::Gelu,
            residual: Some(ids[3]),
        };
        let c = p.cube_matmul_fused(ids[0], ids[1], o, e).unwrap();
        p.output(c).unwrap();
        let Some(davinci::program::Op::CubeMatmul(mm)) = p.ops().last() else {
            panic!("the program's one op is the fused matmul");
        };
        let fused = gpu.fuses_matmul_way_out(&mm.geometry, acc, DType::Bf16);
        assert_eq!(fused, subgroups && n % 2 == 0, "{format:?} {acc} N = {n}");
        let want = davinci::CpuExecutor.run(&p, &refs).unwrap();
        let got = gpu.run(&p, &refs).unwrap();
        let what = format!("fused epilogue, {format:?} {acc} A^T, N = {n}");
        assert!(common::bits_equal_named(&what, &got[0], &want[0]), "{what}");
    }
}
