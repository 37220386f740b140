//! ONNX graphs lowered into programs and run on every executor, against onnxruntime's outputs for the
//! same graphs (tests/golden_onnx, made by make_graphs.py with the onnx package and onnxruntime):
//! within 1e-4 on the f32 path (force_fp32), cosine >= 0.999 with the Cube in bf16, GPU = CPU bit for
//! bit; and the errors: ops it cannot lower (all listed at once), a missing or misshapen input, a bad
//! opset.

use crate::common;
use davinci::Tensor;
use davinci::onnx::io::{read_inputs, read_value};
use davinci::onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto};
use davinci::onnx::{Initializer, OnnxModel, Precision, encode, lower};
use davinci::tensor::safetensors_io::TensorFile;

/// A graph's inputs as `lower` takes them, or its outputs.
type Inputs = Vec<(String, Initializer)>;

/// The graph `name`, its inputs and onnxruntime's outputs (int64 ones as host integers).
fn golden(name: &str) -> (OnnxModel, Inputs, Inputs) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden_onnx/");
    let model = OnnxModel::open(format!("{dir}{name}.onnx")).unwrap();
    let file = TensorFile::open(format!("{dir}{name}.safetensors")).unwrap();
    let map: Vec<(String, String)> = model
        .info()
        .inputs
        .iter()
        .map(|v| (v.name.clone(), format!("in.{}", v.name)))
        .collect();
    let ins = read_inputs(&model, &file, &map).unwrap();
    let mut outs = Vec::new();
    for n in file.names() {
        if let Some(o) = n.strip_prefix("out.") {
            outs.push((o.to_string(), read_value(&file, &n).unwrap()));
        }
    }
    (model, ins, outs)
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// The graphs of make_graphs.py: `decoder` is a causal block with rotary tables computed in the graph,
/// GQA and a written-out RMSNorm; `ops` takes an int64 mask input, returns a shape, and holds the rest of
/// the op set (see tests/golden_onnx/README.md).
const GRAPHS: [&str; 7] = [
    "mlp",
    "attention",
    "erf",
    "decoder",
    "ops",
    "patterns",
    "matmul_bcast",
];

/// The kernels each node label recorded, in order, leaving out reshapes (views, which move no data).
fn kernels_by_node(name: &str) -> Vec<(String, Vec<&'static str>)> {
    let (model, ins, _) = golden(name);
    let l = lower(&model, &ins, Precision::ForceFp32).unwrap();
    let mut by: Vec<(String, Vec<&'static str>)> = Vec::new();
    for (op, node) in l.graph.program.ops().iter().zip(&l.op_nodes) {
        if matches!(op, davinci::program::Op::Move(m) if m.kind == davinci::program::MoveKind::Reshape)
        {
            continue;
        }
        match by.last_mut() {
            Some((n, ks)) if n == node => ks.push(op.kernel_name()),
            _ => by.push((node.clone(), vec![op.kernel_name()])),
        }
    }
    by
}

/// Node labels and the kernels each recorded.
type Expected<'a> = &'a [(&'a str, Vec<&'a str>)];

#[test]
fn atcs_fusions_record_one_op_per_pattern() {
    let mm = vec!["cube_matmul"];
    let soft = vec!["vector_softmax"];
    let want: [(&str, Expected); 3] = [
        (
            "patterns",
            &[
                ("ln1/mean (LayerNorm pattern)", vec!["vector_layernorm"]),
                ("fc1 (+Add+gelu)", mm.clone()),
                ("fc2 (+Mul)", mm.clone()),
                ("ln2/mean (LayerNorm pattern)", vec!["vector_layernorm"]),
                ("rms1/square (RMSNorm pattern)", vec!["vector_rmsnorm"]),
                // A weight of length 1 does not fit the norm's [len]: applied after it.
                (
                    "rms2/pow (RMSNorm pattern)",
                    vec!["vector_rmsnorm", "vector_binary"],
                ),
                ("silu/sigmoid (silu pattern)", vec!["vector_unary"]),
                ("fc3 (+relu)", mm.clone()),
                // lin4 is a graph output, so the Relu that reads it stays an op of its own.
                ("fc4 (+Add)", mm.clone()),
                ("fc4/relu", vec!["vector_unary"]),
                ("ln1_t", vec!["mte_permute"]),
                ("scores (+Div)", mm.clone()),
                ("scores/mask (+Softmax)", soft.clone()),
                // Softmax on axis 1 and a mask that grows x: the sum, then the softmax.
                (
                    "scores/mask_axis1 (+Softmax)",
                    vec![
                        "vector_binary",
                        "mte_permute",
                        "vector_softmax",
                        "mte_permute",
                    ],
                ),
                ("row_max", vec!["mte_permute", "vector_reduce"]),
                (
                    "grown/mask (+Softmax)",
                    vec!["vector_binary", "vector_softmax"],
                ),
            ],
        ),
        (
            "mlp",
            &[("fc1 (+Add+relu)", mm.clone()), ("fc2", mm.clone())],
        ),
        (
            "decoder",
            &[
                ("rms/pow (RMSNorm pattern)", vec!["vector_rmsnorm"]),
                ("scores (+Div)", mm.clone()),
                ("apply_mask (+Softmax)", soft.clone()),
                ("gate_proj (+silu)", mm.clone()),
                ("up_proj", mm.clone()),
            ],
        ),
    ];
    for (graph, expect) in want {
        let got = kernels_by_node(graph);
        if graph == "patterns" {
            // Every op of this graph belongs to one of the patterns: nothing else was recorded.
            let got: Vec<(&str, Vec<&str>)> =
                got.iter().map(|(n, k)| (n.as_str(), k.clone())).collect();
            assert_eq!(got, expect.to_vec(), "{graph}");
            continue;
        }
        for (node, kernels) in expect {
            let found = got.iter().find(|(n, _)| n == node);
            assert_eq!(
                found.map(|(_, k)| k),
                Some(kernels),
                "{graph}: {node} in {got:?}"
            );
        }
    }
}

#[test]
fn small_graphs_match_onnxruntime_on_every_executor() {
    for name in GRAPHS {
        let (model, ins, want) = golden(name);
        for precision in Precision::ALL {
            let lowered = lower(&model, &ins, precision).unwrap();
            assert_eq!(lowered.op_nodes.len(), lowered.graph.program.ops().len());
            let mut first: Option<Inputs> = None;
            for exec in common::executors() {
                let got = lowered.run(exec.as_ref()).unwrap();
                let what = format!("{name} {} on {}", precision.name(), exec.name());
                assert_eq!(got.len(), want.len(), "{what}: every output");
                for (wname, w) in &want {
                    let (_, g) = got
                        .iter()
                        .find(|(n, _)| n == wname)
                        .unwrap_or_else(|| panic!("{what}: no {wname}"));
                    assert_eq!(g.dims(), w.dims(), "{what} {wname}");
                    let (Initializer::Tensor(g), Initializer::Tensor(w)) = (g, w) else {
                        assert_eq!(g, w, "{what} {wname}");
                        continue;
                    };
                    let (gv, wv) = (g.to_f32_vec(), w.to_f32_vec());
                    let max = gv
                        .iter()
                        .zip(&wv)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0f32, f32::max);
                    match precision {
                        Precision::ForceFp32 | Precision::KeepOrigin => {
                            assert!(max <= 1e-4, "{what} {wname}: max |err| {max}");
                        }
                        // Every result rounded to bf16: a looser cosine.
                        Precision::ForceBf16 => {
                            let c = cosine(&gv, &wv);
                            assert!(c >= 0.99 || max <= 1e-2, "{what} {wname}: cosine {c}");
                        }
                        // Outputs the Cube does not touch stay f32; the others are bf16's cosine.
                        Precision::AllowMixBf16 => {
                            let c = cosine(&gv, &wv);
                            assert!(c >= 0.999 || max <= 1e-4, "{what} {wname}: cosine {c}");
                        }
                    }
                }
                match &first {
                    None => first = Some(got),
                    Some(f) => common::onnx_outputs_bit_equal(&what, f, &got),
                }
            }
        }
    }
}

/// `allow_mix_precision_bf16` by ATC's lists (src/onnx/mixlist.rs): the Cube's results are bf16, the
/// blocklist's (softmax, norms, exp, log, sums) f32, a permute of a bf16 value moves bf16, and no value
/// is cast to bf16 twice.
#[test]
fn mixed_precision_follows_the_trust_block_and_gray_lists() {
    use davinci::DType;
    use davinci::program::{Op, ReduceFn, UnaryFn, VectorKind};
    for name in GRAPHS {
        let (model, ins, _) = golden(name);
        let l = lower(&model, &ins, Precision::AllowMixBf16).unwrap();
        let p = &l.graph.program;
        let dtype = |id| p.desc(id).unwrap().dtype;
        let mut cast_inputs = Vec::new();
        for (op, node) in p.ops().iter().zip(&l.op_nodes) {
            let what = format!("{name}: {} from {node}", op.kernel_name());
            match op {
                Op::CubeMatmul(m) => assert_eq!(dtype(m.out), DType::Bf16, "{what}"),
                Op::Vector(v) => {
                    let block = matches!(
                        v.kind,
                        VectorKind::Softmax
                            | VectorKind::LayerNorm { .. }
                            | VectorKind::RmsNorm { .. }
                            | VectorKind::Unary(
                                UnaryFn::Exp | UnaryFn::Log | UnaryFn::Sqrt | UnaryFn::Erf
                            )
                            | VectorKind::Reduce(ReduceFn::Sum | ReduceFn::Mean)
                    );
                    if block {
                        assert_eq!(dtype(v.out), DType::F32, "{what}");
                    }
                }
                Op::Move(m) => assert_eq!(dtype(m.out), dtype(m.input), "{what}"),
                Op::Cast(c) if c.to == DType::Bf16 => {
                    assert!(
                        !cast_inputs.contains(&c.input),
                        "{what}: cast to bf16 twice"
                    );
                    cast_inputs.push(c.input);
                }
                _ => {}
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
        vec![node("Relu", "ok"), node("Conv", "s"), node("TopK", "t")],
        17,
    );
    let e = lower(&m, &[], Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("2 node(s)") && e.contains("'s' (Conv, opset 17)") && e.contains("'t' (TopK"),
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
    for bad in ["force_fp16", "fp32"] {
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
    // numpy's rules: 1-D operands and broadcast batches are taken; a scalar, batches that do not
    // broadcast and unequal inner dimensions are refused by name.
    assert!(run("MatMul", t(&[4]), t(&[4, 3])).is_none());
    assert!(run("MatMul", t(&[2, 1, 3, 4]), t(&[5, 4, 6])).is_none());
    let e = run("MatMul", t(&[]), t(&[4, 3])).unwrap();
    assert!(
        e.contains("rank >= 1") && e.contains("node 'n' (MatMul)"),
        "{e}"
    );
    let e = run("MatMul", t(&[2, 3, 4]), t(&[5, 4, 6])).unwrap();
    assert!(e.contains("do not broadcast"), "{e}");
    let e = run("MatMul", t(&[2, 3]), t(&[4, 6])).unwrap();
    assert!(e.contains("cube_matmul") && e.contains("[2, 3]"), "{e}");
    let e = run("ReduceSum", t(&[]), t(&[1])).unwrap();
    assert!(e.contains("scalar"), "{e}");
    let e = run("Softmax", t(&[]), t(&[1])).unwrap();
    assert!(e.contains("axis"), "{e}");
    assert!(run("Add", t(&[2, 3]), t(&[3])).is_none());
}

#[test]
fn wrong_inputs_and_missing_values_are_refused_by_name() {
    // The ops graph takes a float x and an int64 mask m: each given as the other type is refused.
    let (model, ins, _) = golden("ops");
    let x = ins.iter().find(|(n, _)| n == "x").unwrap().1.clone();
    let m = ins.iter().find(|(n, _)| n == "m").unwrap().1.clone();
    let swapped: Inputs = vec![("x".into(), m.clone()), ("m".into(), x.clone())];
    let e = lower(&model, &swapped, Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("'x' is float") && e.contains("int64"), "{e}");
    // A mask of another batch than x: the symbolic dimension binds two values.
    let Initializer::Int64 { values, .. } = &m else {
        panic!("m is int64")
    };
    let short = Initializer::Int64 {
        dims: vec![1, 5],
        values: values[..5].to_vec(),
        bool: false,
    };
    let e = lower(
        &model,
        &[("x".into(), x.clone()), ("m".into(), short)],
        Precision::ForceFp32,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("'m' has batch = 1") && e.contains("'x' bound batch = 2"),
        "{e}"
    );
    // A node that reads a value nothing produces (a missing initializer).
    let mut proto = model.proto().clone();
    let g = proto.graph.as_mut().unwrap();
    g.initializer.retain(|t| t.name.as_deref() != Some("rms_w"));
    let broken = OnnxModel::from_bytes(&encode(&proto), "broken.onnx").unwrap();
    let e = lower(&broken, &ins, Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("'rmsnorm'") && e.contains("'rms_w' is produced by no earlier node"),
        "{e}"
    );
    // Sine of a computed value: the device has none.
    let m = model_with(vec![], 17);
    let mut p = m.proto().clone();
    let g = p.graph.as_mut().unwrap();
    g.node = vec![
        NodeProto {
            op_type: Some("Relu".into()),
            name: Some("r".into()),
            input: vec!["a".into()],
            output: vec!["h".into()],
            ..NodeProto::default()
        },
        NodeProto {
            op_type: Some("Sin".into()),
            name: Some("sine".into()),
            input: vec!["h".into()],
            output: vec!["y".into()],
            ..NodeProto::default()
        },
    ];
    let (gm, _, _) = golden("erf");
    g.input = gm.graph().input.clone();
    g.input[0].name = Some("a".into());
    g.output = gm.graph().output.clone();
    g.output[0].name = Some("y".into());
    let sine = OnnxModel::from_bytes(&encode(&p), "sine.onnx").unwrap();
    let a = Tensor::from_f32([4, 64], vec![0.5; 256]).unwrap();
    let e = lower(&sine, &[("a".into(), a.into())], Precision::ForceFp32)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("'sine' (Sin)") && e.contains("no sine"), "{e}");
}
