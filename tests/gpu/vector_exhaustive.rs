//! The Vector unit's functions on the GPU against the CPU twin over many inputs, bit for bit: every unary
//! function on every bf16 value (all 65536, as f32) and on random f32 bit patterns, and division on random
//! pairs (every class: zeros, subnormals, normals, infinities, NaNs). The shader divides and takes square
//! roots from the adapter's own estimate made exact (shared/softfloat.wgsl); these are the inputs where a
//! wrong correction step would show. On an adapter that flushes subnormals, elements whose input or either
//! result is subnormal are left out, as the contract allows (DESIGN.md).

use crate::common;
use davinci::exec::Executor;
use davinci::tensor::random::splitmix64;
use davinci::{BinaryFn, CpuExecutor, DType, GpuExecutor, Program, Shape, Tensor, UnaryFn};

fn subnormal(bits: u32) -> bool {
    bits & 0x7f80_0000 == 0 && bits & 0x007f_ffff != 0
}

/// Runs `build` on both executors over `inputs` (f32) and compares the f32 results element by element.
fn compare(
    gpu: &GpuExecutor,
    what: &str,
    inputs: &[Vec<u32>],
    build: impl Fn(&mut Program, &[davinci::TensorId]) -> davinci::TensorId,
) {
    let flushes = !gpu.context().probe().ieee_subnormals();
    let n = inputs[0].len();
    let tensors: Vec<Tensor> = inputs
        .iter()
        .map(|v| {
            let f = v.iter().map(|&b| f32::from_bits(b)).collect();
            Tensor::from_f32(Shape::new(vec![n]), f).expect("tensor")
        })
        .collect();
    let refs: Vec<&Tensor> = tensors.iter().collect();
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, &refs);
    let out = build(&mut p, &ids);
    p.output(out).expect("output");
    let g = gpu
        .run(&p, &refs)
        .unwrap_or_else(|e| panic!("{what}: gpu: {e}"));
    let c = CpuExecutor
        .run(&p, &refs)
        .unwrap_or_else(|e| panic!("{what}: cpu: {e}"));
    let (g, c) = (g[0].bits(), c[0].bits());
    let mut bad = Vec::new();
    for i in 0..n {
        let skip = flushes
            && (inputs.iter().any(|v| subnormal(v[i])) || subnormal(g[i]) || subnormal(c[i]));
        if !skip && g[i] != c[i] && bad.len() < 8 {
            let args: Vec<String> = inputs.iter().map(|v| format!("{:#010x}", v[i])).collect();
            bad.push(format!(
                "({}) gpu {:#010x} cpu {:#010x}",
                args.join(", "),
                g[i],
                c[i]
            ));
        }
    }
    assert!(bad.is_empty(), "{what}: GPU and CPU differ: {bad:?}");
}

#[test]
fn unary_functions_on_every_bf16_value_and_random_f32_bits() {
    let Some(gpu) = common::gpu() else { return };
    let mut x: Vec<u32> = (0..=0xffffu32).map(|b| b << 16).collect();
    x.extend((0..1u64 << 17).map(|i| splitmix64(31, i) as u32));
    for f in UnaryFn::ALL {
        compare(&gpu, f.name(), &[x.clone()], |p, ids| {
            p.unary(f, ids[0], DType::F32).expect("record")
        });
    }
}

#[test]
fn division_on_random_pairs() {
    let Some(gpu) = common::gpu() else { return };
    let n = 1usize << 18;
    let a: Vec<u32> = (0..n as u64).map(|i| splitmix64(32, i) as u32).collect();
    let mut b: Vec<u32> = (0..n as u64)
        .map(|i| (splitmix64(32, i) >> 32) as u32)
        .collect();
    // A quarter with divisors of the same significand as the dividend's neighbours: quotients near 1.
    for i in (0..n).step_by(4) {
        b[i] = (a[i] & 0x807f_ffff) ^ (splitmix64(33, i as u64) as u32 & 0x3f80_0007);
    }
    compare(&gpu, "div", &[a, b], |p, ids| {
        p.binary(BinaryFn::Div, ids[0], ids[1], DType::F32)
            .expect("record")
    });
}
