//! `davinci run MODEL.onnx --info`: the description of a model as JSON and as a table, the real PyTorch
//! export where it is fetched, and the errors: no --info yet (running is still to come), a missing or
//! corrupt file.

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
            version: Some(11),
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
    assert_eq!(j["opset"], 11);
    assert_eq!(j["producer"], "hand");
    assert_eq!(j["ops"]["Relu"], 1);
    assert_eq!(j["outside_op_set"][0]["op_type"], "TopK");
    let human = stdout(&davinci(&["run", &p, "--info"]));
    assert!(human.contains("11 is outside the opsets 13-21"), "{human}");
    assert!(human.contains("t (TopK)"), "{human}");
    fails_with(&davinci(&["run", &p]), 2, &["--info", "not available yet"]);
    let bad = dir.path("bad.onnx");
    std::fs::write(&bad, b"\x08\x08\xff\xff\xff not a model").unwrap();
    let b = bad.display().to_string();
    let o = davinci(&["run", &b, "--info"]);
    assert!(!o.status.success());
    let o = davinci(&["run", "/no/such/model.onnx", "--info"]);
    assert!(!o.status.success());
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
