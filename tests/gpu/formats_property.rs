//! A property over the number formats: for random odd shapes, every Cube format (bf16, fp16, fp8 e4m3 and
//! e5m2, hf32, the fp32 mode, int8), every accumulation model that applies to it (the narrow-accumulator
//! experiments included) and every output dtype, the GPU gives the CPU twin's bits.

use crate::common;
use davinci::tensor::random::splitmix64;
use davinci::tensor::{Tensor, TensorData};
use davinci::{Accumulation, CubeFormat, DType, MatmulOptions, NarrowAccumulator};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const FORMATS: [CubeFormat; 7] = [
    CubeFormat::Bf16,
    CubeFormat::Fp16,
    CubeFormat::Fp8E4M3,
    CubeFormat::Fp8E5M2,
    CubeFormat::Hf32,
    CubeFormat::Fp32,
    CubeFormat::Int8,
];

const MODELS: [Accumulation; 4] = [
    Accumulation::Tree16,
    Accumulation::Sequential,
    Accumulation::Narrow(NarrowAccumulator {
        format: DType::F16,
        every: 2,
    }),
    Accumulation::Narrow(NarrowAccumulator {
        format: DType::Bf16,
        every: 1,
    }),
];

/// `len` values in [-2, 2) with a few specials (0 in 40 is -0, 1 in 97 is inf for float formats), converted
/// to the format's dtype by the library's cast (tested against ml_dtypes elsewhere).
fn operand(seed: u64, format: CubeFormat, shape: [usize; 2]) -> Tensor {
    let n = shape[0] * shape[1];
    let dt = format.operand_dtype();
    let v: Vec<f32> = (0..n as u64)
        .map(|i| {
            let r = splitmix64(seed, i);
            match r % 97 {
                0 if dt != DType::I8 => f32::INFINITY,
                1 => -0.0,
                _ => {
                    ((r >> 40) as f32 / (1u64 << 22) as f32 - 2.0)
                        * if dt == DType::I8 { 60.0 } else { 1.0 }
                }
            }
        })
        .collect();
    let data = davinci::reference::cast_formats::cast_formats(
        &TensorData::F32(v),
        dt,
        davinci::Rounding::Nearest,
        0,
    );
    Tensor::new(shape.into(), data).unwrap()
}

#[test]
fn random_shapes_formats_and_accumulators() {
    let Some(gpu) = common::gpu() else { return };
    let dims = 1usize..=70;
    let strategy = (
        (dims.clone(), dims.clone(), dims),
        (0usize..FORMATS.len(), 0usize..MODELS.len(), 0usize..3),
        (any::<bool>(), any::<u64>()),
    );
    // Few cases: lavapipe runs the shaders on the CPU.
    let config = Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    };
    let result =
        TestRunner::new(config).run(&strategy, |((m, k, n), (fi, ai, oi), (trans_b, seed))| {
            let format = FORMATS[fi];
            // int8 accumulates exactly (no model applies); its outputs include the raw i32.
            let int8 = format == CubeFormat::Int8;
            let accumulate = if int8 {
                Accumulation::Tree16
            } else {
                MODELS[ai]
            };
            let dtype_out = if int8 {
                [DType::I32, DType::F32, DType::F16][oi]
            } else {
                [DType::F32, DType::Bf16, DType::F16][oi]
            };
            let a = operand(seed, format, [m, k]);
            let b = operand(seed ^ 0xabc, format, if trans_b { [n, k] } else { [k, n] });
            let opts = MatmulOptions {
                trans_b,
                accumulate,
                dtype_out,
                format: Some(format),
                ..MatmulOptions::default()
            };
            let what =
                format!("{format} {accumulate} -> {dtype_out} {m}x{k}x{n} trans_b={trans_b}");
            common::compare_matmul(&gpu, &what, &a, &b, opts)
                .map(|_| ())
                .map_err(TestCaseError::fail)
        });
    if let Err(e) = result {
        panic!("{e}");
    }
}
