//! The Vector unit's half of the numerics contract: for every Vector op and every fused `cube_matmul`
//! epilogue, the GPU executor and the CPU twin give the same bits, on odd shapes (1, not multiples of 16,
//! rows longer than the 256 reduction lanes), bf16 and f32 inputs and outputs, broadcasting, and special
//! values (infinities, NaN, signed zeros, subnormals, values that overflow exp).

use crate::common;
use davinci::exec::Executor;
use davinci::program::Epilogue;
use davinci::tensor::random::{gen_bf16, splitmix64};
use davinci::{
    Activation, BinaryFn, CpuExecutor, DType, GpuExecutor, MatmulOptions, Program, ReduceFn, Shape,
    Tensor, TensorId, UnaryFn,
};

/// Special values planted among the random ones.
const SPECIALS: [f32; 12] = [
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    0.0,
    -0.0,
    1.0e-40,  // subnormal
    -3.0e-39, // subnormal
    88.8,     // exp overflows
    -104.0,   // exp underflows through the subnormals
    1.0,
    -1.0,
    3.0e38,
];

/// Random values of `scale` with a special value every 7th element, in `dtype`.
fn values(seed: u64, shape: &[usize], scale: f32, dtype: DType, specials: bool) -> Tensor {
    let t = gen_bf16(seed, Shape::new(shape.to_vec()), scale);
    let mut v = t.to_f32_vec();
    for (i, x) in v.iter_mut().enumerate() {
        if specials && i % 7 == 3 {
            *x = SPECIALS[(splitmix64(seed, i as u64) % SPECIALS.len() as u64) as usize];
        } else if dtype == DType::F32 {
            // Use f32's extra bits so that f32 inputs are not just widened bf16.
            *x *= 1.0 + (splitmix64(seed ^ 0xf32, i as u64) >> 40) as f32 * 2f32.powi(-30);
        }
    }
    let f = Tensor::from_f32(Shape::new(shape.to_vec()), v).expect("shape");
    if dtype == DType::Bf16 { f.to_bf16() } else { f }
}

/// Records `build` over `inputs`, runs it on both executors, and requires the same bits.
fn same_bits(
    gpu: &GpuExecutor,
    what: &str,
    inputs: &[&Tensor],
    build: impl Fn(&mut Program, &[TensorId]) -> TensorId,
) {
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, inputs);
    let out = build(&mut p, &ids);
    p.output(out).expect("output");
    let g = gpu
        .run(&p, inputs)
        .unwrap_or_else(|e| panic!("{what}: gpu: {e}"));
    let c = CpuExecutor
        .run(&p, inputs)
        .unwrap_or_else(|e| panic!("{what}: cpu: {e}"));
    assert!(
        common::bits_equal_named(what, &g[0], &c[0]),
        "{what}: GPU and CPU differ"
    );
}

const SHAPES: [&[usize]; 5] = [&[1], &[7], &[3, 17], &[2, 3, 300], &[5, 1000]];
const DTYPES: [DType; 2] = [DType::F32, DType::Bf16];

#[test]
fn unary_ops_are_bit_identical() {
    let Some(gpu) = common::gpu() else { return };
    for f in UnaryFn::ALL {
        for (si, shape) in SHAPES.iter().enumerate() {
            for dt in DTYPES {
                // Scales that reach the interesting ranges: small, unit, and large (overflow, tails).
                let scale = [0.01, 1.0, 8.0, 100.0, 4.0][si];
                let x = values(si as u64 * 31 + f.code() as u64, shape, scale, dt, true);
                for out in DTYPES {
                    let what = format!("{} {dt}->{out} {shape:?}", f.name());
                    same_bits(&gpu, &what, &[&x], |p, ids| {
                        p.unary(f, ids[0], out).expect("record")
                    });
                }
            }
        }
    }
}

#[test]
fn binary_ops_with_broadcasting_are_bit_identical() {
    let Some(gpu) = common::gpu() else { return };
    // (x, y): equal, row, column, scalar, both stretched, and y larger than x.
    let pairs: [(&[usize], &[usize]); 6] = [
        (&[3, 17], &[3, 17]),
        (&[4, 33], &[33]),
        (&[4, 33], &[4, 1]),
        (&[2, 5, 9], &[]),
        (&[2, 1, 9], &[1, 5, 1]),
        (&[9], &[3, 9]),
    ];
    for f in BinaryFn::ALL {
        for (i, (sx, sy)) in pairs.iter().enumerate() {
            for (dx, dy) in [
                (DType::Bf16, DType::Bf16),
                (DType::F32, DType::Bf16),
                (DType::F32, DType::F32),
            ] {
                let x = values(100 + i as u64, sx, 4.0, dx, true);
                let y = values(200 + i as u64, sy, 4.0, dy, true);
                for out in DTYPES {
                    let what = format!("{} {sx:?}{dx} {sy:?}{dy} -> {out}", f.name());
                    same_bits(&gpu, &what, &[&x, &y], |p, ids| {
                        p.binary(f, ids[0], ids[1], out).expect("record")
                    });
                }
            }
        }
    }
}

#[test]
fn reductions_are_bit_identical() {
    let Some(gpu) = common::gpu() else { return };
    for f in ReduceFn::ALL {
        for (si, shape) in SHAPES.iter().enumerate() {
            for specials in [false, true] {
                let x = values(300 + si as u64, shape, 3.0, DType::F32, specials);
                for out in DTYPES {
                    let what = format!("{} {shape:?} specials={specials} -> {out}", f.name());
                    same_bits(&gpu, &what, &[&x], |p, ids| {
                        p.reduce(f, ids[0], out).expect("record")
                    });
                }
            }
        }
    }
}

#[test]
fn softmax_with_and_without_masks_is_bit_identical() {
    let Some(gpu) = common::gpu() else { return };
    for (si, shape) in SHAPES.iter().enumerate() {
        for dt in DTYPES {
            for specials in [false, true] {
                let x = values(400 + si as u64, shape, 6.0, dt, specials);
                let what = format!("softmax {shape:?} {dt} specials={specials}");
                same_bits(&gpu, &what, &[&x], |p, ids| {
                    p.softmax(ids[0], None, DType::F32).expect("record")
                });
                // A causal-style mask over the last axis: -inf on a stripe, small values elsewhere.
                let last = *shape.last().expect("rank >= 1");
                let mask: Vec<f32> = (0..last)
                    .map(|j| {
                        if j % 5 == 4 {
                            f32::NEG_INFINITY
                        } else {
                            -(j as f32) * 0.01
                        }
                    })
                    .collect();
                let mask = Tensor::from_f32([last], mask).expect("mask");
                same_bits(&gpu, &format!("{what} masked"), &[&x, &mask], |p, ids| {
                    p.softmax(ids[0], Some(ids[1]), DType::Bf16)
                        .expect("record")
                });
            }
        }
    }
}

#[test]
fn norms_are_bit_identical() {
    let Some(gpu) = common::gpu() else { return };
    for (si, shape) in SHAPES.iter().enumerate() {
        let last = *shape.last().expect("rank >= 1");
        let gamma = values(500 + si as u64, &[last], 1.0, DType::Bf16, false);
        let beta = values(600 + si as u64, &[last], 0.5, DType::F32, false);
        for dt in DTYPES {
            for specials in [false, true] {
                let x = values(700 + si as u64, shape, 5.0, dt, specials);
                let what = format!("{shape:?} {dt} specials={specials}");
                for eps in [0.0, 1e-12, 1e-5] {
                    same_bits(
                        &gpu,
                        &format!("layernorm {what} eps={eps}"),
                        &[&x, &gamma, &beta],
                        |p, ids| {
                            p.layernorm(ids[0], Some(ids[1]), Some(ids[2]), eps, DType::F32)
                                .expect("record")
                        },
                    );
                    same_bits(
                        &gpu,
                        &format!("rmsnorm {what} eps={eps}"),
                        &[&x, &gamma],
                        |p, ids| {
                            p.rmsnorm(ids[0], Some(ids[1]), eps, DType::Bf16)
                                .expect("record")
                        },
                    );
                }
                same_bits(
                    &gpu,
                    &format!("layernorm {what} no affine"),
                    &[&x],
                    |p, ids| {
                        p.layernorm(ids[0], None, None, 1e-5, DType::Bf16)
                            .expect("record")
                    },
                );
            }
        }
    }
}

#[test]
fn fused_matmul_epilogues_are_bit_identical() {
    let Some(gpu) = common::gpu() else { return };
    for (m, k, n) in [(1, 16, 1), (17, 33, 65), (64, 40, 30)] {
        let a = gen_bf16(800 + m as u64, [m, k], 2.0);
        let w = gen_bf16(900 + n as u64, [n, k], 2.0);
        let bias = values(1000, &[n], 1.0, DType::Bf16, false);
        let residual = values(1100, &[m, n], 1.0, DType::F32, true);
        for activation in Activation::ALL {
            for dtype_out in DTYPES {
                for (scale, with_bias, with_res) in [
                    (None, true, false),
                    (Some(0.125), true, true),
                    (Some(-3.0), false, true),
                ] {
                    let what = format!(
                        "linear {m}x{k}x{n} {} scale={scale:?} bias={with_bias} residual={with_res} -> {dtype_out}",
                        activation.name()
                    );
                    same_bits(&gpu, &what, &[&a, &w, &bias, &residual], |p, ids| {
                        let e = Epilogue {
                            scale,
                            bias: with_bias.then_some(ids[2]),
                            activation,
                            residual: with_res.then_some(ids[3]),
                        };
                        let opts = MatmulOptions {
                            trans_b: true,
                            dtype_out,
                            ..MatmulOptions::default()
                        };
                        p.cube_matmul_fused(ids[0], ids[1], opts, e)
                            .expect("record")
                    });
                }
            }
        }
    }
}

#[test]
fn a_chain_of_ops_stays_on_the_device_and_matches() {
    // A whole MLP block as one program: linear + gelu, linear, residual, layernorm, softmax of the result.
    let Some(gpu) = common::gpu() else { return };
    let x = gen_bf16(1, [9, 48], 1.0);
    let w1 = gen_bf16(2, [96, 48], 0.2);
    let b1 = gen_bf16(3, [96], 0.1);
    let w2 = gen_bf16(4, [48, 96], 0.2);
    let gamma = gen_bf16(5, [48], 1.0);
    same_bits(&gpu, "mlp chain", &[&x, &w1, &b1, &w2, &gamma], |p, ids| {
        let opts = MatmulOptions {
            dtype_out: DType::Bf16,
            ..MatmulOptions::default()
        };
        let h = p
            .linear(ids[0], ids[1], Some(ids[2]), Activation::Gelu, opts)
            .expect("linear 1");
        let y = p
            .linear(h, ids[3], None, Activation::None, MatmulOptions::default())
            .expect("linear 2");
        let r = p
            .binary(BinaryFn::Add, y, ids[0], DType::F32)
            .expect("residual");
        let n = p
            .layernorm(r, Some(ids[4]), None, 1e-5, DType::Bf16)
            .expect("layernorm");
        p.softmax(n, None, DType::F32).expect("softmax")
    });
}
