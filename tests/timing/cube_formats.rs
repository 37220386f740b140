//! The Cube's formats in the timing model: int8 at twice the bf16 MAC rate on half the operand bytes,
//! fp16 exactly as bf16, hf32 and fp32 slower, each against its own peak; executors refuse the formats
//! that are timed only, and a format that contradicts its operands is refused at recording.

use davinci::report::predict_run::{self, MatmulSizes, PredictTarget};
use davinci::{ChipSpec, CubeFormat, DType, MatmulOptions, Program};

fn sizes(m: usize, k: usize, n: usize) -> MatmulSizes {
    MatmulSizes {
        m,
        k,
        n,
        batch: 1,
        shared_b: false,
        opts: MatmulOptions::default(),
    }
}

fn predicted(s: &MatmulSizes, f: CubeFormat) -> serde_json::Value {
    let target = PredictTarget::resolve("910c", None).unwrap();
    predict_run::matmul(s, f, &target).unwrap().json
}

#[test]
fn each_format_runs_at_its_own_rate_and_reports_its_own_peak() {
    let chip = ChipSpec::default_chip();
    assert_eq!(chip.peak(CubeFormat::Int8).0, 2.0 * chip.peak_bf16().0);
    assert_eq!(chip.peak(CubeFormat::Fp16).0, chip.peak_bf16().0);
    assert_eq!(chip.peak(CubeFormat::Fp32).0, chip.peak_bf16().0 / 4.0);

    // Compute-bound: 8192^3 is far above the ridge point in every format.
    let big = sizes(8192, 8192, 8192);
    let t = |f| predicted(&big, f)["time_us"].as_f64().unwrap();
    let (bf16, fp16, int8, hf32, fp32) = (
        t(CubeFormat::Bf16),
        t(CubeFormat::Fp16),
        t(CubeFormat::Int8),
        t(CubeFormat::Hf32),
        t(CubeFormat::Fp32),
    );
    assert_eq!(fp16, bf16, "fp16 has bf16's fractal and bytes");
    assert!(int8 < 0.75 * bf16, "int8 {int8} us vs bf16 {bf16} us");
    assert!(
        bf16 < hf32 && hf32 < fp32,
        "bf16 {bf16}, hf32 {hf32}, fp32 {fp32}"
    );
    assert!(fp32 > 3.0 * bf16, "fp32 {fp32} us vs bf16 {bf16} us");

    for f in CubeFormat::ALL {
        let v = predicted(&big, f);
        assert_eq!(v["dtype"], f.name());
        let peak = v["peak_tflops"].as_f64().unwrap();
        assert!(
            (peak * 1e12 / chip.peak(f).0 - 1.0).abs() < 1e-12,
            "{f}: {peak}"
        );
        let eff = v["efficiency"].as_f64().unwrap();
        let tflops = v["tflops"].as_f64().unwrap();
        assert!(eff > 0.5 && eff <= 1.0, "{f}: efficiency {eff}");
        assert!(
            (tflops / peak - eff).abs() < 1e-9,
            "{f}: {tflops} / {peak} vs {eff}"
        );
    }
}

#[test]
fn int8_halves_the_operand_traffic_of_a_memory_bound_matmul() {
    // One row against a large weight: the weight's bytes set the time.
    let gemv = sizes(1, 8192, 8192);
    let t = |f| predicted(&gemv, f)["time_us"].as_f64().unwrap();
    let (bf16, int8) = (t(CubeFormat::Bf16), t(CubeFormat::Int8));
    assert!(int8 < 0.7 * bf16, "int8 {int8} us vs bf16 {bf16} us");
}

#[test]
fn formats_refuse_operands_and_results_they_do_not_take_at_recording() {
    let mut p = Program::new();
    let a = p.input("a", [16, 32], DType::Bf16);
    let b = p.input("b", [32, 16], DType::Bf16);
    let int8 = MatmulOptions {
        format: Some(CubeFormat::Int8),
        ..MatmulOptions::default()
    };
    let e = p.cube_matmul(a, b, int8).unwrap_err().to_string();
    assert!(
        e.contains("int8 format takes i8 operands") && e.contains("bf16 [16, 32]"),
        "{e}"
    );
    let raw = MatmulOptions {
        dtype_out: DType::I32,
        ..MatmulOptions::default()
    };
    let e = p.cube_matmul(a, b, raw).unwrap_err().to_string();
    assert!(e.contains("not i32"), "{e}");

    // K at 2^17 could wrap the int32 accumulator: refused, naming K.
    let mut p = Program::new();
    let a = p.input("a", [2, 1 << 17], DType::I8);
    let b = p.input("b", [1 << 17, 2], DType::I8);
    let e = p
        .cube_matmul(a, b, MatmulOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("K = 131072") && e.contains("wrap"), "{e}");
    let a = p.input("a2", [2, (1 << 17) - 1], DType::I8);
    let b = p.input("b2", [(1 << 17) - 1, 2], DType::I8);
    assert!(p.cube_matmul(a, b, MatmulOptions::default()).is_ok());

    let mut p = Program::new();
    let a = p.input("a", [16, 32], DType::F32);
    let b = p.input("b", [32, 16], DType::F32);
    let bf16 = MatmulOptions {
        format: Some(CubeFormat::Bf16),
        ..MatmulOptions::default()
    };
    let e = p.cube_matmul(a, b, bf16).unwrap_err().to_string();
    assert!(e.contains("bf16 format takes bf16 operands"), "{e}");
}
