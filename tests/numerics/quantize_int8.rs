//! Dynamic int8 quantisation (`model::quantize`): per tensor, per row and per column, recorded as Vector
//! ops and run on every executor, against the definition written out here in plain f64-checked loops,
//! and equal to the host rule used for offline weights.

use crate::common;
use davinci::model::Graph;
use davinci::model::quantize::{MIN_INT8_SCALE, QuantScale, quantize_int8_host};
use davinci::tensor::TensorData;
use davinci::tensor::random::gen_bf16;
use davinci::{DType, Tensor};

/// Rows with every hazard: negative extremes larger than the positive ones, an all-zero row, a single
/// huge value, ties at half a step.
fn hazards() -> Tensor {
    let mut v = gen_bf16(5, [6, 37], 3.0).to_f32_vec();
    for x in &mut v[37..74] {
        *x = -x.abs() * 2.0; // all negative: amax must be |min|, not max
    }
    v[74..111].fill(0.0);
    v[111 + 5] = 1e30;
    // Row 4: 127 = amax, and 0.5, 1.5, 2.5 steps (scale 1): ties to even.
    v[148..185].fill(0.5);
    v[148] = 127.0;
    v[149] = 1.5;
    v[150] = -2.5;
    Tensor::from_f32([6, 37], v).unwrap()
}

/// The definition: per group amax = max |x|, scale = max(amax / 127, MIN) (f32 division, exact rules
/// checked through f64), q = x / scale rounded half to even and clamped.
fn definition(v: &[f32], cols: usize, by: QuantScale) -> (Vec<i8>, Vec<f32>) {
    let rows = v.len() / cols;
    let group = |i: usize| match by {
        QuantScale::Tensor => 0,
        QuantScale::Row => i / cols,
        QuantScale::Column => i % cols,
    };
    let groups = [1, rows, cols][by as usize];
    let mut amax = vec![0f32; groups];
    for (i, x) in v.iter().enumerate() {
        amax[group(i)] = amax[group(i)].max(x.abs());
    }
    // f64 division of two f32 values rounded to f32 is the correctly rounded f32 quotient.
    let div = |a: f32, b: f32| (a as f64 / b as f64) as f32;
    let scales: Vec<f32> = amax
        .iter()
        .map(|&a| div(a, 127.0).max(MIN_INT8_SCALE))
        .collect();
    let q = v
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            div(x, scales[group(i)])
                .round_ties_even()
                .clamp(-128.0, 127.0) as i8
        })
        .collect();
    (q, scales)
}

fn i8s(t: &Tensor) -> Vec<i8> {
    match t.data() {
        TensorData::I8(v) => v.clone(),
        d => panic!("expected int8 codes, got {}", d.dtype()),
    }
}

#[test]
fn quantisation_matches_its_definition_on_every_executor() {
    for x in [hazards(), gen_bf16(9, [33, 20], 0.01)] {
        let cols = x.shape().dims()[1];
        let v = x.to_f32_vec();
        for by in [QuantScale::Tensor, QuantScale::Row, QuantScale::Column] {
            let (want_q, want_s) = definition(&v, cols, by);
            let (hq, hs) = quantize_int8_host(&x, by).unwrap();
            assert_eq!(i8s(&hq), want_q, "host rule {by:?}");
            assert_eq!(hs.to_f32_vec(), want_s, "host scales {by:?}");
            let mut g = Graph::new();
            let id = g.constant("x", x.clone());
            let (q, s) = g.quantize_int8(id, by).unwrap();
            g.output("q", q).unwrap();
            g.output("scale", s).unwrap();
            for exec in common::executors() {
                let out = g.run(exec.as_ref()).unwrap();
                let what = format!("{} {by:?} {}", exec.name(), x.shape());
                assert_eq!(out[0].1.dtype(), DType::I8, "{what}");
                assert_eq!(i8s(&out[0].1), want_q, "{what}: codes");
                assert_eq!(out[1].1.to_f32_vec(), want_s, "{what}: scales");
            }
        }
    }
}

#[test]
fn the_zero_row_dequantises_to_zero_and_the_negative_row_keeps_its_range() {
    let (q, s) = quantize_int8_host(&hazards(), QuantScale::Row).unwrap();
    let (q, s) = (i8s(&q), s.to_f32_vec());
    assert_eq!(s[2], MIN_INT8_SCALE);
    assert!(q[74..111].iter().all(|&c| c == 0));
    // The all-negative row reaches -127 exactly once (its amax) and never saturates at -128.
    assert_eq!(q[37..74].iter().min(), Some(&-127));
    // Scale 1 row: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2 (half to even).
    assert_eq!(s[4], 1.0);
    assert_eq!(&q[148..152], &[127, 2, -2, 0]);
}

#[test]
fn a_bad_input_is_refused_with_its_shape() {
    let mut g = Graph::new();
    let x = g.constant("x", Tensor::from_f32([2, 3, 4], vec![1.0; 24]).unwrap());
    let e = g.quantize_int8(x, QuantScale::Row).unwrap_err().to_string();
    assert!(
        e.contains("quantize_int8") && e.contains("[2, 3, 4]"),
        "{e}"
    );
}
