//! The number formats on the GPU give the CPU twin's bits: `cube_matmul` in every Cube format (fp16,
//! fp8 e4m3 and e5m2, hf32, the fp32 mode, int8 into int32 and dequantised) on odd shapes, transposes,
//! batches and special values, both accumulation models and every output dtype; `cast_formats` for every
//! pair of dtypes on random bit patterns, nearest and stochastic; and both through the chunked path.

use crate::common;
use davinci::program::Dequant;
use davinci::tensor::random::splitmix64;
use davinci::tensor::{Shape, Tensor, TensorData};
use davinci::{
    Accumulation, CpuExecutor, DType, Executor, GpuExecutor, MatmulOptions, Program, Rounding,
};

/// Random elements of `dtype`: raw bit patterns for the narrow floats and integers (every class,
/// NaN and infinity included); for f32, values of ordinary size with specials sprinkled in.
fn random_elems(seed: u64, dtype: DType, shape: impl Into<Shape>) -> Tensor {
    let shape = shape.into();
    let n = shape.numel() as u64;
    let bits = (0..n).map(|i| {
        let r = splitmix64(seed, i);
        match dtype {
            DType::F32 => match r % 61 {
                0 => f32::NAN.to_bits(),
                1 => f32::INFINITY.to_bits(),
                2 => 0x0000_0123, // a subnormal
                3 => f32::MAX.to_bits(),
                _ => {
                    ((((r >> 8) % 2001) as f32 - 1000.0) / 97.0 + (r >> 40) as f32 * 1e-9).to_bits()
                }
            },
            _ => r as u32,
        }
    });
    Tensor::new(shape, TensorData::from_bits(dtype, bits)).unwrap()
}

/// Operands of a matmul: mostly finite values (so that results are not all NaN), a few specials.
fn operand(seed: u64, dtype: DType, shape: impl Into<Shape>) -> Tensor {
    let t = random_elems(seed, dtype, shape);
    if dtype == DType::I8 || dtype == DType::F32 {
        return t;
    }
    // Keep a code only if it is finite; replace the rest (all but 1 in 50) by a small value's code.
    let one = Tensor::from_f32([1], vec![0.75]).unwrap();
    let mut p = Program::new();
    let i = p.input("x", [1], DType::F32);
    let c = p.cast(i, dtype).unwrap();
    p.output(c).unwrap();
    let small = CpuExecutor.run(&p, &[&one]).unwrap().remove(0).bits()[0];
    let vals = t.to_f32_vec();
    let bits = t.bits().into_iter().enumerate().map(|(k, b)| {
        if vals[k].is_finite() || k % 50 == 7 {
            b
        } else {
            small
        }
    });
    Tensor::new(t.shape().clone(), TensorData::from_bits(dtype, bits)).unwrap()
}

const SHAPES: [(usize, usize, usize); 5] = [
    (1, 1, 1),
    (17, 33, 65),
    (5, 300, 7),
    (64, 48, 16),
    (3, 19, 130),
];

#[test]
fn every_cube_format_matches_the_cpu_twin() {
    let Some(gpu) = common::gpu() else { return };
    let formats = [DType::F16, DType::F8E4M3, DType::F8E5M2, DType::F32];
    for (fi, &dt) in formats.iter().enumerate() {
        for (si, &(m, k, n)) in SHAPES.iter().enumerate() {
            for tb in [false, true] {
                let seed = (fi * 100 + si * 10) as u64;
                let a = operand(seed, dt, [m, k]);
                let b = operand(seed + 1, dt, if tb { [n, k] } else { [k, n] });
                for (acc, out, hf32) in [
                    (Accumulation::Tree16, DType::F32, false),
                    (Accumulation::Sequential, DType::Bf16, false),
                    (Accumulation::Tree16, DType::F16, dt == DType::F32),
                ] {
                    let opts = MatmulOptions {
                        trans_b: tb,
                        accumulate: acc,
                        dtype_out: out,
                        format: hf32.then_some(davinci::CubeFormat::Hf32),
                        ..MatmulOptions::default()
                    };
                    if let Err(e) = common::compare_matmul(&gpu, &format!("{dt}"), &a, &b, opts) {
                        panic!("{e}");
                    }
                }
            }
        }
    }
}

/// An int8 matmul with FixPipe's dequantisation (channel and token scales), batched.
fn int8_program(batch: usize, m: usize, k: usize, n: usize, out: DType) -> (Program, Vec<Tensor>) {
    let a = random_elems(5, DType::I8, [batch, m, k]);
    let b = random_elems(6, DType::I8, [k, n]);
    let scale = |seed, len| {
        let v = (0..len)
            .map(|i| (1 + splitmix64(seed, i as u64) % 1000) as f32 / 12_345.0)
            .collect();
        Tensor::from_f32([len], v).unwrap()
    };
    let channel = scale(7, n);
    let token = Tensor::new(Shape::new([batch, m]), scale(8, batch * m).data().clone()).unwrap();
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, &[&a, &b, &channel, &token]);
    let opts = MatmulOptions {
        dtype_out: out,
        ..MatmulOptions::default()
    };
    let dq = Dequant {
        channel: ids[2],
        token: Some(ids[3]),
    };
    let y = p
        .cube_matmul_dequant(ids[0], ids[1], opts, dq, Default::default())
        .unwrap();
    p.output(y).unwrap();
    (p, vec![a, b, channel, token])
}

fn same_on_both(gpu: &GpuExecutor, what: &str, p: &Program, inputs: &[Tensor]) {
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let g = gpu
        .run(p, &refs)
        .unwrap_or_else(|e| panic!("{what}: gpu: {e}"));
    let c = CpuExecutor
        .run(p, &refs)
        .unwrap_or_else(|e| panic!("{what}: cpu: {e}"));
    for (x, y) in g.iter().zip(&c) {
        assert!(
            common::bits_equal_named(what, x, y),
            "{what}: GPU and CPU differ"
        );
    }
}

#[test]
fn int8_with_dequantisation_matches_the_cpu_twin_also_in_chunks() {
    let Some(gpu) = common::gpu() else { return };
    for out in [DType::F32, DType::Bf16, DType::F16] {
        for &(m, k, n) in &SHAPES {
            let (p, inputs) = int8_program(2, m, k, n, out);
            same_on_both(&gpu, &format!("int8 {m}x{k}x{n} -> {out}"), &p, &inputs);
        }
    }
    // Through the chunked path: bindings of 2 KiB hold a fraction of each operand.
    let small = GpuExecutor::new(gpu.context().clone()).with_max_binding_bytes(2048);
    let (p, inputs) = int8_program(2, 40, 300, 50, DType::Bf16);
    same_on_both(&small, "int8 in chunks", &p, &inputs);
    let a = operand(3, DType::F16, [40, 70]);
    let b = operand(4, DType::F16, [70, 50]);
    let opts = MatmulOptions {
        dtype_out: DType::F16,
        ..MatmulOptions::default()
    };
    if let Err(e) = common::compare_matmul(&small, "fp16 in chunks", &a, &b, opts) {
        panic!("{e}");
    }
}

#[test]
fn casts_between_every_pair_match_the_cpu_twin() {
    let Some(gpu) = common::gpu() else { return };
    for (i, &from) in DType::ALL.iter().enumerate() {
        let x = random_elems(40 + i as u64, from, [1037]);
        for &to in &DType::ALL {
            let stochastic = to.minifloat().is_some();
            for rounding in [Rounding::Nearest, Rounding::Stochastic { seed: 99 }] {
                if from == to || (!stochastic && rounding != Rounding::Nearest) {
                    continue;
                }
                let mut p = Program::new();
                let id = p.input("x", x.shape().clone(), from);
                let y = p.cast_rounded(id, to, rounding).unwrap();
                p.output(y).unwrap();
                let what = format!("{from} -> {to} ({rounding:?})");
                same_on_both(&gpu, &what, &p, std::slice::from_ref(&x));
                // In chunks of a few hundred elements, the stochastic stream continuing across them.
                let small = GpuExecutor::new(gpu.context().clone()).with_max_binding_bytes(1024);
                same_on_both(
                    &small,
                    &format!("{what} in chunks"),
                    &p,
                    std::slice::from_ref(&x),
                );
            }
        }
    }
}
