//! `davinci run MODEL.onnx`: `--info`'s description of a model as JSON and as a table (the real PyTorch
//! export where it is fetched); a small graph run on the CPU with its outputs written and predicted; and
//! the errors: no inputs, a renaming of no input, ops it cannot lower, a missing or corrupt file.

use crate::cli_common::{TempDir, davinci, fails_with, ok_json, stdout};
use crate::common;
use davinci::onnx::encode;
use davinci::onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto};

fn small_model() -> Vec<u8> {
    let node = |op: &str, name: &str| NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        ..NodeProto::default()
    };
    encode(&ModelProto {
        ir_version: Some(9),
        producer_name: Some("hand".into()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(5),
        }],
        graph: Some(GraphProto {
            node: vec![node("Relu", "r"), node("TopK", "t")],
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    })
}

#[test]
fn run_info_describes_a_model_and_refuses_what_it_cannot_do() {
    let dir = TempDir::new("run-info");
    let path = dir.path("m.onnx");
    std::fs::write(&path, small_model()).unwrap();
    let p = path.display().to_string();
    let j = ok_json(&davinci(&["run", &p, "--info", "--json"]));
    assert_eq!(j["opset"], 5);
    assert_eq!(j["producer"], "hand");
    assert_eq!(j["ops"]["Relu"], 1);
    assert_eq!(j["outside_op_set"][0]["op_type"], "TopK");
    let human = stdout(&davinci(&["run", &p, "--info"]));
    assert!(human.contains("5 is outside the opsets 6-21"), "{human}");
    assert!(human.contains("t (TopK)"), "{human}");
    fails_with(&davinci(&["run", &p]), 2, &["--inputs"]);
    let bad = dir.path("bad.onnx");
    std::fs::write(&bad, b"\x08\x08\xff\xff\xff not a model").unwrap();
    let b = bad.display().to_string();
    let o = davinci(&["run", &b, "--info"]);
    let err = crate::cli_common::stderr(&o);
    assert!(
        !o.status.success() && err.contains("not a readable ONNX model"),
        "{err}"
    );
    let o = davinci(&["run", "/no/such/model.onnx", "--info"]);
    let err = crate::cli_common::stderr(&o);
    assert!(
        !o.status.success() && err.contains("/no/such/model.onnx"),
        "{err}"
    );
    if let Some(real) = common::minilm_onnx() {
        let j = ok_json(&davinci(&[
            "run",
            &real.display().to_string(),
            "--info",
            "--json",
        ]));
        assert_eq!(j["opset"], 17);
        assert_eq!(j["inputs"][0]["name"], "input_ids");
        assert_eq!(j["inputs"][0]["dims"][0], "batch_size");
        assert_eq!(j["outside_op_set"].as_array().unwrap().len(), 0);
    }
}

#[test]
fn run_executes_a_graph_writes_its_outputs_and_predicts_it() {
    let g = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden_onnx/");
    let (model, inputs) = (
        format!("{g}attention.onnx"),
        format!("{g}attention.safetensors"),
    );
    let dir = TempDir::new("run-graph");
    let out = dir.path("y.safetensors").display().to_string();
    let j = ok_json(&davinci(&[
        "run",
        &model,
        "--inputs",
        &inputs,
        "--map",
        "x=in.x",
        "--out",
        &out,
        "--executor",
        "cpu",
        "--precision-mode",
        "force_fp32",
        "--predict",
        "--json",
    ]));
    assert_eq!(j["precision_mode"], "force_fp32");
    assert_eq!(j["outputs"][0]["name"], "y");
    assert_eq!(j["outputs"][0]["shape"], serde_json::json!([2, 5, 16]));
    assert_eq!(j["kernels"]["cube_matmul"], 5);
    let slowest = &j["prediction"]["slowest"][0];
    assert!(
        slowest["node"].as_str().is_some_and(|n| !n.is_empty()),
        "{j}"
    );
    assert!(j["prediction"]["time_us"].as_f64().unwrap() > 0.0);
    let file = davinci::tensor::safetensors_io::TensorFile::open(&out).unwrap();
    let y = file.tensor("y").unwrap();
    let want = davinci::tensor::safetensors_io::TensorFile::open(&inputs)
        .unwrap()
        .tensor("out.y")
        .unwrap();
    let max = y
        .to_f32_vec()
        .iter()
        .zip(want.to_f32_vec())
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(max <= 1e-4, "max |err| against onnxruntime {max}");
    // A renaming of no graph input, and a graph the importer does not take.
    fails_with(
        &davinci(&["run", &model, "--inputs", &inputs, "--map", "z=in.x"]),
        2,
        &["z"],
    );
    let small = dir.path("m.onnx");
    std::fs::write(&small, small_model()).unwrap();
    let o = davinci(&["run", &small.display().to_string(), "--inputs", &inputs]);
    assert!(!o.status.success());
    // Its opset (5) is refused first; ops it cannot lower are refused by name (tests/numerics/onnx_lower.rs).
    let err = crate::cli_common::stderr(&o);
    assert!(err.contains("opset 5"), "{err}");
}
