//! The Cube's fp32 mode (`cube_matmul` on two f32 operands): GPU = CPU bit for bit; on values that bf16
//! holds exactly it gives the bf16 mode's bits (the products are then exact in both); and against float64
//! it stays within the summation bound plus the rounding of each product.

use crate::common;
use davinci::tensor::random::{gen_bf16, splitmix64};
use davinci::{Accumulation, CpuExecutor, DType, MatmulOptions, Shape, Tensor, matmul};

/// f32 values in [-scale, scale) that use all 24 bits of the significand.
fn f32_values(seed: u64, dims: &[usize], scale: f32) -> Tensor {
    let n: usize = dims.iter().product();
    let v = (0..n)
        .map(|i| ((splitmix64(seed, i as u64) >> 40) as f32 * 2f32.powi(-23) - 1.0) * scale)
        .collect();
    Tensor::from_f32(Shape::new(dims.to_vec()), v).unwrap()
}

#[test]
fn gpu_and_cpu_agree_bit_for_bit_in_fp32_mode() {
    let Some(gpu) = common::gpu() else { return };
    for (i, &(m, k, n)) in [(1, 1, 1), (3, 17, 5), (17, 33, 65), (64, 100, 48)]
        .iter()
        .enumerate()
    {
        for (trans_a, trans_b) in [(false, false), (true, true)] {
            let a_dims = if trans_a { [k, m] } else { [m, k] };
            let b_dims = if trans_b { [n, k] } else { [k, n] };
            let a = f32_values(i as u64, &a_dims, 3.0);
            let b = f32_values(100 + i as u64, &b_dims, 3.0);
            for accumulate in [Accumulation::Tree16, Accumulation::Sequential] {
                for dtype_out in [DType::F32, DType::Bf16] {
                    let opts = MatmulOptions {
                        trans_a,
                        trans_b,
                        dtype_out,
                        accumulate,
                        format: None,
                        tiling: Default::default(),
                    };
                    let g = matmul(&gpu, &a, &b, opts).unwrap();
                    let c = matmul(&CpuExecutor, &a, &b, opts).unwrap();
                    let what = format!("fp32 {m}x{k}x{n} {opts:?}");
                    assert!(common::bits_equal_named(&what, &g, &c), "{what}");
                }
            }
        }
    }
}

#[test]
fn on_bf16_values_fp32_mode_equals_bf16_mode() {
    for exec in common::executors() {
        let a = gen_bf16(7, [19, 70], 2.0);
        let b = gen_bf16(8, [70, 23], 2.0);
        let (a32, b32) = (
            Tensor::from_f32([19, 70], a.to_f32_vec()).unwrap(),
            Tensor::from_f32([70, 23], b.to_f32_vec()).unwrap(),
        );
        for accumulate in [Accumulation::Tree16, Accumulation::Sequential] {
            let opts = MatmulOptions {
                accumulate,
                ..MatmulOptions::default()
            };
            let x = matmul(exec.as_ref(), &a, &b, opts).unwrap();
            let y = matmul(exec.as_ref(), &a32, &b32, opts).unwrap();
            assert!(
                common::bits_equal_named(exec.name(), &x, &y),
                "{}: {accumulate:?}",
                exec.name()
            );
        }
    }
}

#[test]
fn fp32_mode_is_within_the_summation_bound_of_float64() {
    // |c - c64| <= g_K * sum|a*b| * (1 + u) + u * sum|a*b|: each product rounds once (u = 2^-24), then the
    // K additions in any order add at most g_K = K u / (1 - K u) of the absolute sum.
    let (m, k, n) = (9, 300, 11);
    let a = f32_values(1, &[m, k], 1.0);
    let b = f32_values(2, &[k, n], 1.0);
    let (av, bv) = (a.to_f32_vec(), b.to_f32_vec());
    let u = 2f64.powi(-24);
    let g = k as f64 * u / (1.0 - k as f64 * u);
    for exec in common::executors() {
        let c = matmul(exec.as_ref(), &a, &b, MatmulOptions::default())
            .unwrap()
            .to_f32_vec();
        for i in 0..m {
            for j in 0..n {
                let (mut exact, mut abs) = (0f64, 0f64);
                for t in 0..k {
                    let p = av[i * k + t] as f64 * bv[t * n + j] as f64;
                    exact += p;
                    abs += p.abs();
                }
                let bound = (g * (1.0 + u) + u) * abs + u * exact.abs();
                let err = (c[i * n + j] as f64 - exact).abs();
                assert!(
                    err <= bound,
                    "{}: c[{i},{j}] off by {err:e} > {bound:e}",
                    exec.name()
                );
            }
        }
    }
}

#[test]
fn mixed_operand_dtypes_are_refused() {
    let a = Tensor::from_f32([2, 3], vec![1.0; 6]).unwrap();
    let b = gen_bf16(1, [3, 4], 1.0);
    let e = matmul(&CpuExecutor, &a, &b, MatmulOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cube_matmul") && e.contains("takes f32 operands") && e.contains("bf16 [3, 4]"),
        "{e}"
    );
}

#[test]
fn fp32_mode_and_fused_epilogues_split_past_the_binding_limit_keep_their_bits() {
    use davinci::program::Epilogue;
    use davinci::{Activation, Executor, Program};
    let Some(gpu) = common::gpu() else { return };
    // A is 40 x 70 f32 = 11,200 bytes: several blocks under a 4 KiB binding.
    let small = gpu.with_max_binding_bytes(4096);
    let a = f32_values(31, &[40, 70], 2.0);
    let w = f32_values(32, &[50, 70], 2.0);
    let bias = f32_values(33, &[50], 1.0);
    for dtype_out in [DType::F32, DType::Bf16] {
        let mut p = Program::new();
        let (ia, iw, ib) = (
            p.input("a", [40, 70], DType::F32),
            p.input("w", [50, 70], DType::F32),
            p.input("bias", [50], DType::F32),
        );
        let opts = MatmulOptions {
            trans_b: true,
            dtype_out,
            ..MatmulOptions::default()
        };
        let e = Epilogue {
            scale: Some(0.5),
            bias: Some(ib),
            activation: Activation::Gelu,
            residual: None,
        };
        let out = p.cube_matmul_fused(ia, iw, opts, e).unwrap();
        p.output(out).unwrap();
        let g = small.run(&p, &[&a, &w, &bias]).unwrap().remove(0);
        let c = CpuExecutor.run(&p, &[&a, &w, &bias]).unwrap().remove(0);
        assert!(
            common::bits_equal_named("split fp32 linear", &g, &c),
            "{dtype_out}"
        );
    }
}

#[test]
fn a_nan_result_is_the_canonical_quiet_nan_on_every_executor() {
    // Operands carrying NaNs of different payloads and signs: hardware differs in which one an addition
    // returns, so the Cube stores every NaN result as 0x7FC00000 (numerics::bf16::cube_out).
    let mut av = vec![1.0f32; 4 * 32];
    av[3] = f32::from_bits(0xffc0_1234); // negative quiet NaN with a payload
    av[32 + 7] = f32::from_bits(0x7f80_0001); // signalling NaN
    av[64 + 1] = f32::INFINITY; // inf * 0 below
    let mut bv = vec![0.5f32; 32 * 3];
    bv[3 + 1] = 0.0; // B[1, 1]
    let a32 = Tensor::from_f32([4, 32], av).unwrap();
    let b32 = Tensor::from_f32([32, 3], bv).unwrap();
    let (a16, b16) = (a32.to_bf16(), b32.to_bf16());
    for exec in common::executors() {
        for (a, b) in [(&a32, &b32), (&a16, &b16)] {
            for accumulate in [Accumulation::Tree16, Accumulation::Sequential] {
                let opts = MatmulOptions {
                    accumulate,
                    ..MatmulOptions::default()
                };
                let c = matmul(exec.as_ref(), a, b, opts).unwrap();
                let bits = c.bits();
                // Rows 0 and 1 hold a NaN operand; row 2 has inf * 0 in column 1 only.
                for (i, &bit) in bits.iter().enumerate() {
                    let nan = i < 6 || i == 7;
                    let want_nan_bits = 0x7fc0_0000;
                    if nan {
                        assert_eq!(
                            bit,
                            want_nan_bits,
                            "{} {accumulate:?} {}: element {i}",
                            exec.name(),
                            a.dtype()
                        );
                    } else {
                        assert!(
                            !f32::from_bits(bit).is_nan(),
                            "{}: element {i} is NaN",
                            exec.name()
                        );
                    }
                }
            }
        }
    }
}
