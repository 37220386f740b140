//! The register-tiled fast path of `cube_matmul` (`shaders/cube_matmul_sg.wgsl`) gives the CPU twin's bits:
//! on the shapes it takes (K and N multiples of 8, row-major operands) at their edges (M not a multiple of
//! the tile, N of 8 or 32 columns, K ending on half a fractal, one row, batches, a B shared by the batch),
//! and on special values (NaNs, infinities, overflow, subnormals, products that underflow); and with a
//! transposed B (`[N][K]`), which it takes for any N.

use crate::common;
use davinci::program::MatmulGeometry;
use davinci::tensor::random::gen_bf16;
use davinci::{Accumulation, DType, MatmulOptions, Shape, Tensor};
use half::bf16;

/// Row-major `[batch] M x K` times `[batch] K x N`, as `MatmulGeometry::infer` lays them out.
fn geometry(batch: usize, m: usize, k: usize, n: usize, shared_b: bool) -> MatmulGeometry {
    MatmulGeometry {
        batch,
        m,
        k,
        n,
        batched_out: batch > 1,
        format: davinci::CubeFormat::Bf16,
        f32_inputs: false,
        a_batch: m * k,
        a_m: k,
        a_k: 1,
        b_batch: if shared_b { 0 } else { k * n },
        b_k: n,
        b_n: 1,
    }
}

fn both_dtypes(gpu: &davinci::GpuExecutor, what: &str, a: &Tensor, b: &Tensor) {
    for dtype_out in [DType::F32, DType::Bf16] {
        let opts = MatmulOptions {
            dtype_out,
            ..MatmulOptions::default()
        };
        if let Err(e) = common::compare_matmul(gpu, what, a, b, opts) {
            panic!("{e}");
        }
    }
}

#[test]
fn edges_of_the_fast_path_match_the_cpu_twin() {
    let Some(gpu) = common::gpu() else { return };
    let ctx = gpu.context().clone();
    // M x K x N: one row; M past a whole tile; K = 8 (half a fractal only) and K % 16 == 8; N = 8, 40, 104.
    for (i, &(m, k, n)) in [
        (1, 8, 8),
        (33, 24, 40),
        (70, 1000, 104),
        (129, 16, 8),
        (5, 136, 264),
    ]
    .iter()
    .enumerate()
    {
        let g = geometry(1, m, k, n, false);
        if ctx.subgroup_min_size().is_some_and(|s| s >= 8) {
            assert!(
                gpu.uses_fast_matmul(&g, Accumulation::Tree16),
                "{m}x{k}x{n}"
            );
        }
        let a = gen_bf16(100 + i as u64, [m, k], 1.0);
        let b = gen_bf16(200 + i as u64, [k, n], 1.0);
        both_dtypes(&gpu, &format!("{m}x{k}x{n}"), &a, &b);
    }
}

#[test]
fn batches_and_a_shared_b() {
    let Some(gpu) = common::gpu() else { return };
    let (batch, m, k, n) = (3, 37, 32, 16);
    let a = gen_bf16(31, [batch, m, k], 1.0);
    let b = gen_bf16(32, [batch, k, n], 1.0);
    both_dtypes(&gpu, "batched", &a, &b);
    let shared = gen_bf16(33, [k, n], 1.0);
    both_dtypes(&gpu, "batched A, shared B", &a, &shared);
    let ctx = gpu.context().clone();
    if ctx.subgroup_min_size().is_some_and(|s| s >= 8) {
        assert!(gpu.uses_fast_matmul(&geometry(batch, m, k, n, true), Accumulation::Tree16));
    }
}

#[test]
fn special_values_on_the_fast_path() {
    let Some(gpu) = common::gpu() else { return };
    let (m, k, n) = (40, 48, 32);
    let mut a: Vec<bf16> = gen_bf16(41, [m, k], 1.0).as_bf16().unwrap().to_vec();
    let mut b: Vec<bf16> = gen_bf16(42, [k, n], 1.0).as_bf16().unwrap().to_vec();
    // One special value per row of A and at most one per column of B, so that two different NaNs never
    // meet in one sum: which payload survives that is the hardware's choice, not the contract's.
    let a_specials = [
        0x7fc0, // quiet NaN
        0xffc1, // negative NaN with a payload
        0x7f80, // +inf
        0xff80, // -inf
        0x7f7f, // the largest finite bf16: overflows against B's
        0xff7f, 0x0001, // the smallest subnormal
        0x8040, // a negative subnormal
        0x0080, // the smallest normal: its products with B's tiny column underflow
    ];
    for r in 0..m {
        a[r * k + (r * 5) % k] = bf16::from_bits(a_specials[r % a_specials.len()]);
    }
    let b_specials = [0x7f7f, 0x0001, 0x8040, 0x0080, 0x0400];
    for kk in 0..n {
        b[kk * n + kk] = bf16::from_bits(b_specials[kk % b_specials.len()]);
    }
    // Column 1: tiny values, so that products with the smallest normal land near 2^-149 and round.
    for kk in 0..k {
        b[kk * n + 1] = bf16::from_bits(0x3400 + kk as u16); // about 2^-23
    }
    let a = Tensor::from_bf16(Shape::new(vec![m, k]), a).unwrap();
    let b = Tensor::from_bf16(Shape::new(vec![k, n]), b).unwrap();
    both_dtypes(&gpu, "special values", &a, &b);
}

/// Transposed B (`[N][K]`, as a linear layer's weight) takes the fast path for any N.
#[test]
fn transposed_b_matches_the_cpu_twin() {
    let Some(gpu) = common::gpu() else { return };
    let ctx = gpu.context().clone();
    for (i, &(m, k, n)) in [(1, 8, 1), (33, 24, 37), (70, 1000, 45), (5, 136, 264)]
        .iter()
        .enumerate()
    {
        let g = MatmulGeometry {
            b_k: 1,
            b_n: k,
            ..geometry(1, m, k, n, false)
        };
        if ctx.subgroup_min_size().is_some_and(|s| s >= 8) {
            assert!(
                gpu.uses_fast_matmul(&g, Accumulation::Tree16),
                "{m}x{k}x{n}"
            );
        }
        let a = gen_bf16(300 + i as u64, [m, k], 1.0);
        let b = gen_bf16(400 + i as u64, [n, k], 1.0);
        for dtype_out in [DType::F32, DType::Bf16] {
            let opts = MatmulOptions {
                trans_b: true,
                dtype_out,
                ..MatmulOptions::default()
            };
            let what = format!("{m}x{k}x{n} B^T");
            if let Err(e) = common::compare_matmul(&gpu, &what, &a, &b, opts) {
                panic!("{e}");
            }
        }
    }
    // A batch of A against one shared transposed B.
    let a = gen_bf16(51, [3, 37, 32], 1.0);
    let b = gen_bf16(52, [19, 32], 1.0);
    let opts = MatmulOptions {
        trans_b: true,
        ..MatmulOptions::default()
    };
    if let Err(e) = common::compare_matmul(&gpu, "batched A, shared B^T", &a, &b, opts) {
        panic!("{e}");
    }
}
