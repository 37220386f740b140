//! The number formats against `ml_dtypes` and numpy (tests/golden_formats, made by its make_goldens.py):
//! every conversion of every f32 input class to fp16, e4m3, e5m2 and bf16, every fp16, bf16 and fp8
//! code to f32 and to the other formats, bit for bit on each executor (NaN compared as NaN: libraries
//! differ in payloads); the fp16 matmul within the rigorous bound, int8 exactly equal to numpy's int64,
//! and W8A8's dequantisation bit for bit.

use davinci::tensor::safetensors_io::TensorFile;
use davinci::tensor::{Tensor, TensorData};
use davinci::{DType, Executor, MatmulOptions, Program, Rounding};

use crate::common;

fn golden(file: &str) -> TensorFile {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden_formats/").to_string() + file;
    TensorFile::open(&p)
        .unwrap_or_else(|e| panic!("golden {p}: {e} (restore tests/golden_formats)"))
}

/// Whether raw bits of `dtype` are a NaN.
fn is_nan(dtype: DType, bits: u32) -> bool {
    let t = Tensor::new(
        [1].into(),
        TensorData::from_bits(dtype, std::iter::once(bits)),
    )
    .unwrap();
    t.to_f32_vec()[0].is_nan()
}

/// Casts `x` to `to` on `exec` and checks every element against `want`; returns the mismatches.
fn check_cast(exec: &dyn Executor, what: &str, x: &Tensor, want: &Tensor) -> usize {
    let mut p = Program::new();
    let i = p.input("x", x.shape().clone(), x.dtype());
    let y = p.cast(i, want.dtype()).unwrap();
    p.output(y).unwrap();
    let got = exec.run(&p, &[x]).unwrap().remove(0);
    assert_eq!(got.dtype(), want.dtype(), "{what}");
    let (g, w, xin) = (got.bits(), want.bits(), x.bits());
    let mut bad = 0;
    for k in 0..w.len() {
        let ok = if is_nan(want.dtype(), w[k]) {
            is_nan(got.dtype(), g[k])
        } else {
            g[k] == w[k]
        };
        if !ok {
            if bad < 5 {
                eprintln!(
                    "{what} on {}: input {:#x} gave {:#x}, ml_dtypes {:#x}",
                    exec.name(),
                    xin[k],
                    g[k],
                    w[k]
                );
            }
            bad += 1;
        }
    }
    bad
}

/// Every code of a 16- or 8-bit format, code i at position i.
fn all_codes(dtype: DType) -> Tensor {
    let n = 1u32 << (8 * dtype.size());
    Tensor::new([n as usize].into(), TensorData::from_bits(dtype, 0..n)).unwrap()
}

#[test]
fn every_cast_matches_ml_dtypes_on_every_executor() {
    let f = golden("casts.safetensors");
    let x = f.tensor("f32_in").unwrap();
    let cases: Vec<(String, Tensor, Tensor)> = vec![
        ("f32_to_fp16", x.clone(), f.tensor("f32_to_fp16").unwrap()),
        ("f32_to_e4m3", x.clone(), f.tensor("f32_to_e4m3").unwrap()),
        ("f32_to_e5m2", x.clone(), f.tensor("f32_to_e5m2").unwrap()),
        (
            "fp16_all_to_f32",
            all_codes(DType::F16),
            f.tensor("fp16_all_to_f32").unwrap(),
        ),
        (
            "fp16_all_to_e4m3",
            all_codes(DType::F16),
            f.tensor("fp16_all_to_e4m3").unwrap(),
        ),
        (
            "fp16_all_to_e5m2",
            all_codes(DType::F16),
            f.tensor("fp16_all_to_e5m2").unwrap(),
        ),
        (
            "bf16_all_to_fp16",
            all_codes(DType::Bf16),
            f.tensor("bf16_all_to_fp16").unwrap(),
        ),
        (
            "bf16_all_to_e4m3",
            all_codes(DType::Bf16),
            f.tensor("bf16_all_to_e4m3").unwrap(),
        ),
        (
            "e4m3_all_to_f32",
            all_codes(DType::F8E4M3),
            f.tensor("e4m3_all_to_f32").unwrap(),
        ),
        (
            "e4m3_all_to_e5m2",
            all_codes(DType::F8E4M3),
            f.tensor("e4m3_all_to_e5m2").unwrap(),
        ),
        (
            "e5m2_all_to_f32",
            all_codes(DType::F8E5M2),
            f.tensor("e5m2_all_to_f32").unwrap(),
        ),
        (
            "e5m2_all_to_e4m3",
            all_codes(DType::F8E5M2),
            f.tensor("e5m2_all_to_e4m3").unwrap(),
        ),
    ]
    .into_iter()
    .map(|(n, a, b)| (n.to_string(), a, b))
    .collect();
    assert!(x.numel() > 30_000, "the f32 inputs: {}", x.numel());
    for exec in common::executors() {
        let mut failed = Vec::new();
        for (what, input, want) in &cases {
            assert_eq!(input.numel(), want.numel(), "{what}");
            let bad = check_cast(exec.as_ref(), what, input, want);
            if bad > 0 {
                failed.push(format!("{what}: {bad} of {}", want.numel()));
            }
        }
        assert!(failed.is_empty(), "{}: {failed:?}", exec.name());
    }
}

#[test]
fn fp16_matmul_is_within_the_rigorous_bound() {
    let f = golden("matmul.safetensors");
    for case in ["fp16_17x33x65", "fp16_64x300x48"] {
        let a = f.tensor(&format!("{case}_a")).unwrap();
        let b = f.tensor(&format!("{case}_b")).unwrap();
        assert_eq!(a.dtype(), DType::F16);
        let want = f.tensor(&format!("{case}_c_ref_f32")).unwrap().to_f32_vec();
        let abs = f
            .tensor(&format!("{case}_abs_sum_f32"))
            .unwrap()
            .to_f32_vec();
        let k = a.shape().dims()[1] as f64;
        let g_k = k * 2f64.powi(-24) / (1.0 - k * 2f64.powi(-24));
        for exec in common::executors() {
            let c = davinci::matmul(exec.as_ref(), &a, &b, MatmulOptions::default()).unwrap();
            for (i, (&got, &w)) in c.to_f32_vec().iter().zip(&want).enumerate() {
                let ulp = f32::from_bits(w.abs().to_bits() + 1) - w.abs();
                let bound = g_k * abs[i] as f64 + ulp as f64;
                assert!(
                    ((got - w) as f64).abs() <= bound,
                    "{case} on {}: element {i} is {got}, reference {w}, bound {bound}",
                    exec.name()
                );
            }
        }
    }
}

#[test]
fn int8_matmul_is_exact_and_its_dequantisation_bit_exact() {
    let f = golden("matmul.safetensors");
    for case in ["int8_19x70x33", "int8_24x1100x16"] {
        let t = |n: &str| f.tensor(&format!("{case}_{n}")).unwrap();
        let (a, b) = (t("a"), t("b"));
        assert_eq!(a.dtype(), DType::I8);
        let want = t("c_i64_as_i32");
        let (channel, token, deq) = (t("channel_scale"), t("token_scale"), t("dequant_f32"));
        for exec in common::executors() {
            let raw = MatmulOptions {
                dtype_out: DType::I32,
                ..MatmulOptions::default()
            };
            let c = davinci::matmul(exec.as_ref(), &a, &b, raw).unwrap();
            assert!(c.bit_eq(&want), "{case} on {}: int32 differs", exec.name());
            let mut p = Program::new();
            let ids = common::declare_inputs(&mut p, &[&a, &b, &channel, &token]);
            let dq = davinci::program::Dequant {
                channel: ids[2],
                token: Some(ids[3]),
            };
            let y = p
                .cube_matmul_dequant(
                    ids[0],
                    ids[1],
                    MatmulOptions::default(),
                    dq,
                    Default::default(),
                )
                .unwrap();
            p.output(y).unwrap();
            let got = exec.run(&p, &[&a, &b, &channel, &token]).unwrap().remove(0);
            assert!(
                common::bits_equal_named(&format!("{case} dequant on {}", exec.name()), &got, &deq),
                "{case}: dequantised result differs from numpy's f32"
            );
        }
    }
}

#[test]
fn stochastic_casts_are_reproducible_and_differ_by_seed() {
    let x = Tensor::from_f32([4096], (0..4096).map(|i| 1.0 + i as f32 * 1e-5).collect()).unwrap();
    let run = |exec: &dyn Executor, seed| {
        let mut p = Program::new();
        let i = p.input("x", x.shape().clone(), DType::F32);
        let y = p
            .cast_rounded(i, DType::F16, Rounding::Stochastic { seed })
            .unwrap();
        p.output(y).unwrap();
        exec.run(&p, &[&x]).unwrap().remove(0)
    };
    let cpu = davinci::CpuExecutor;
    let (a, b, c) = (run(&cpu, 1), run(&cpu, 1), run(&cpu, 2));
    assert!(a.bit_eq(&b));
    assert!(!a.bit_eq(&c), "two seeds gave the same roundings");
    let nearest: Vec<u32> = x
        .to_f32_vec()
        .iter()
        .map(|v| davinci::numerics::formats::FP16.encode(v.to_bits()))
        .collect();
    assert_ne!(
        a.bits(),
        nearest,
        "stochastic rounding equals nearest everywhere"
    );
}
