//! The ONNX reader on a real PyTorch export nobody on this project wrote (paraphrase-MiniLM-L3-v2.onnx
//! from PyPI): its description and every initializer, against what the `onnx` package reads from the
//! same file (tests/golden_onnx/minilm_l3_info.json, made by make_info.py there).

use crate::common;
use davinci::onnx::{Dim, Initializer, OnnxModel};
use serde_json::Value;

fn golden() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden_onnx/minilm_l3_info.json"
    );
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn dims_json(dims: &Option<Vec<Dim>>) -> Value {
    let d = dims.as_ref().expect("the export gives every shape");
    Value::Array(
        d.iter()
            .map(|d| match d {
                Dim::Fixed(v) => Value::from(*v),
                Dim::Named(n) => Value::from(n.as_str()),
                Dim::Unknown => Value::Null,
            })
            .collect(),
    )
}

#[test]
fn the_pytorch_export_reads_as_the_onnx_package_reads_it() {
    let Some(path) = common::minilm_onnx() else {
        return;
    };
    let want = golden();
    let m = OnnxModel::open(&path).unwrap();
    let info = m.info();
    assert_eq!(Some(want["ir_version"].as_i64().unwrap()), info.ir_version);
    assert_eq!(Some(want["opset"].as_i64().unwrap()), info.opset);
    assert_eq!(want["producer"], info.producer.as_str());
    assert_eq!(want["nodes"], info.nodes);
    let ops: Value = serde_json::to_value(&info.ops).unwrap();
    assert_eq!(want["ops"], ops);
    assert!(info.outside.is_empty(), "{:?}", info.outside);
    for (kind, got) in [("inputs", &info.inputs), ("outputs", &info.outputs)] {
        let w = want[kind].as_array().unwrap();
        assert_eq!(w.len(), got.len(), "{kind}");
        for (w, g) in w.iter().zip(got) {
            assert_eq!(w["name"], g.name.as_str());
            assert_eq!(w["type"], g.elem_type.as_str());
            assert_eq!(w["dims"], dims_json(&g.dims), "{kind} {}", g.name);
        }
    }
    // Every initializer decodes to the values the onnx package decodes.
    let inits = m.initializers().unwrap();
    let w = want["initializers"].as_array().unwrap();
    assert_eq!(inits.len(), w.len());
    for ((name, t), w) in inits.iter().zip(w) {
        assert_eq!(w["name"], name.as_str());
        assert_eq!(w["type"], t.type_name(), "{name}");
        let dims: Vec<usize> = serde_json::from_value(w["dims"].clone()).unwrap();
        assert_eq!(dims, t.dims(), "{name}");
        let Initializer::Tensor(t) = t else {
            panic!("{name}: expected float data");
        };
        let v = t.to_f32_vec();
        let sum: f64 = v.iter().map(|&x| x as f64).sum();
        let want_sum = w["sum"].as_f64().unwrap();
        // Both sum the same f32 values in f64, in possibly different orders.
        assert!(
            (sum - want_sum).abs() <= 1e-9 * v.len() as f64 * (1.0 + want_sum.abs()),
            "{name}: sum {sum} vs {want_sum}"
        );
        // f32 values printed by Python's shortest repr of their f64 widening: equal once narrowed back
        // (serde_json's parse of the decimal may be an ulp off in f64, never in f32).
        let first: Vec<f32> = w["first"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let got: Vec<f32> = v.iter().take(4).copied().collect();
        assert_eq!(got, first, "{name}");
    }
    // One initializer by name, as the importer will look them up.
    let name = w[0]["name"].as_str().unwrap();
    assert_eq!(m.initializer(name).unwrap(), inits[0].1);
}
