//! ONNX graphs lowered into programs and run on every executor, against onnxruntime's outputs for the
//! same graphs (tests/golden_onnx, made by make_graphs.py with the onnx package and onnxruntime):
//! within 1e-4 on the f32 path (force_fp32), cosine >= 0.999 with the Cube in bf16, GPU = CPU bit for
//! bit; and the errors: ops it cannot lower (all listed at once), a missing or misshapen input, a bad
//! opset.

use crate::common;
use davinci::Tensor;
use davinci::onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto};
use davinci::onnx::{Initializer, OnnxModel, Precision, encode, lower};
use davinci::tensor::safetensors_io::TensorFile;

/// Named tensors: a graph's inputs or outputs.
type Named = Vec<(String, Tensor)>;
/// A graph's inputs as `lower` takes them.
type Inputs = Vec<(String, Initializer)>;

/// The graph `name`, its inputs and onnxruntime's outputs.
fn golden(name: &str) -> (OnnxModel, Inputs, Named) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden_onnx/");
    let model = OnnxModel::open(format!("{dir}{name}.onnx")).unwrap();
    let file = TensorFile::open(format!("{dir}{name}.safetensors")).unwrap();
    let (mut ins, mut outs) = (Vec::new(), Vec::new());
    for n in file.names() {
        let t = file.tensor(&n).unwrap();
        if let Some(i) = n.strip_prefix("in.") {
            ins.push((i.to_string(), t.into()));
        } else if let Some(o) = n.strip_prefix("out.") {
            outs.push((o.to_string(), t));
        }
    }
    (model, ins, outs)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn small_graphs_match_onnxruntime_on_every_executor() {
    for name in ["mlp", "attention", "erf"] {
        let (model, ins, want) = golden(name);
        for precision in [Precision::ForceFp32, Precision::AllowMixBf16] {
            let lowered = lower(&model, &ins, precision).unwrap();
            assert_eq!(lowered.op_nodes.len(), lowered.graph.program.ops().len());
            let mut first: Option<Vec<Tensor>> = None;
            for exec in common::executors() {
                let got = lowered.graph.run(exec.as_ref()).unwrap();
                let what = format!("{name} {} on {}", precision.name(), exec.name());
                for (wname, w) in &want {
                    let (_, g) = got
                        .iter()
                        .find(|(n, _)| n == wname)
                        .unwrap_or_else(|| panic!("{what}: no {wname}"));
                    assert_eq!(g.shape(), w.shape(), "{what} {wname}");
                    let (gv, wv) = (g.to_f32_vec(), w.to_f32_vec());
                    match precision {
                        Precision::ForceFp32 => {
                            let max = gv
                                .iter()
                                .zip(&wv)
                                .map(|(a, b)| (a - b).abs())
                                .fold(0f32, f32::max);
                            assert!(max <= 1e-4, "{what} {wname}: max |err| {max}");
                        }
                        Precision::AllowMixBf16 => {
                            let c = cosine(&gv, &wv);
                            assert!(c >= 0.999, "{what} {wname}: cosine {c}");
                        }
                    }
                }
                let tensors: Vec<Tensor> = got.into_iter().map(|(_, t)| t).collect();
                match &first {
                    None => first = Some(tensors),
                    Some(f) => {
                        for (a, b) in f.iter().zip(&tensors) {
                            assert!(
                                common::bits_equal_named(&what, b, a),
                                "{what}: GPU and CPU differ"
                            );
                        }
                    }
                }
            }
        }
    }
}

fn model_with(nodes: Vec<NodeProto>, opset: i64) -> OnnxModel {
    let m = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            node: nodes,
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    };
    OnnxModel::from_bytes(&encode(&m), "hand.onnx").unwrap()
}

fn node(op: &str, name: &str) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        ..NodeProto::default()
    }
}

#[test]
fn what_cannot_be_lowered_is_refused_up_front_and_by_name() {
    let m = model_with(
        vec![node("Relu", "ok"), node("Sin", "s"), node("TopK", "t")],
        17,
    );
    let e = lower(&m, &[], Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("2 node(s)") && e.contains("'s' (Sin, opset 17)") && e.contains("'t' (TopK"),
        "{e}"
    );
    let e = lower(&model_with(vec![], 5), &[], Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("opset 5"), "{e}");

    let (model, ins, _) = golden("mlp");
    let e = lower(&model, &[], Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("'x'") && e.contains("[batch, 20]"), "{e}");
    let wrong = vec![(
        "x".to_string(),
        Tensor::from_f32([3, 21], vec![0.0; 63]).unwrap().into(),
    )];
    let e = lower(&model, &wrong, Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("[3, 21]") && e.contains("[batch, 20]"), "{e}");
    // Any batch binds the symbolic dimension.
    let one = vec![(
        "x".to_string(),
        Tensor::from_f32([1, 20], vec![0.5; 20]).unwrap().into(),
    )];
    assert!(lower(&model, &one, Precision::ForceFp32).is_ok());
    assert_eq!(ins.len(), 1);
    for bad in ["force_bf16", "fp32"] {
        assert!(bad.parse::<Precision>().is_err(), "{bad}");
    }
}

#[test]
fn shapes_it_does_not_take_are_refused_not_panicked() {
    use davinci::onnx::proto::TypeProto;
    use davinci::onnx::proto::ValueInfoProto;
    use davinci::onnx::proto::tensor_proto::DataType;
    use davinci::onnx::proto::type_proto::{Tensor as TensorType, Value};
    let input = |name: &str| ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(Value::TensorType(TensorType {
                elem_type: Some(DataType::Float as i32),
                shape: None,
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    };
    let graph_of = |op: &str| {
        let m = ModelProto {
            ir_version: Some(8),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(17),
            }],
            graph: Some(GraphProto {
                node: vec![NodeProto {
                    op_type: Some(op.into()),
                    name: Some("n".into()),
                    input: vec!["a".into(), "b".into()],
                    output: vec!["y".into()],
                    ..NodeProto::default()
                }],
                input: vec![input("a"), input("b")],
                output: vec![input("y")],
                ..GraphProto::default()
            }),
            ..ModelProto::default()
        };
        OnnxModel::from_bytes(&encode(&m), "shapes.onnx").unwrap()
    };
    let t = |dims: &[usize]| {
        Tensor::from_f32(
            davinci::Shape::new(dims.to_vec()),
            vec![1.0; dims.iter().product()],
        )
        .unwrap()
    };
    let run = |op: &str, a: Tensor, b: Tensor| {
        let ins: Inputs = vec![("a".to_string(), a.into()), ("b".to_string(), b.into())];
        lower(&graph_of(op), &ins, Precision::ForceFp32)
            .err()
            .map(|e| e.to_string())
    };
    let e = run("MatMul", t(&[4]), t(&[4, 3])).unwrap();
    assert!(
        e.contains("1-D operands") && e.contains("node 'n' (MatMul)"),
        "{e}"
    );
    let e = run("MatMul", t(&[2, 3, 4]), t(&[5, 4, 6])).unwrap();
    assert!(e.contains("broadcasting"), "{e}");
    let e = run("ReduceSum", t(&[]), t(&[1])).unwrap();
    assert!(e.contains("scalar"), "{e}");
    let e = run("Softmax", t(&[]), t(&[1])).unwrap();
    assert!(e.contains("axis"), "{e}");
    assert!(run("Add", t(&[2, 3]), t(&[3])).is_none());
}
