//! The ONNX reader on small models built here with the generated protobuf types: every way a tensor's
//! data can be stored (raw, typed fields, external files), every element type it takes, and the files and
//! tensors it must refuse with a clear error (truncated, not protobuf, no graph, negative or overflowing
//! dimensions, data of the wrong length, external paths that leave the model's folder, unsupported types).

use davinci::onnx::proto::tensor_proto::{DataLocation, DataType};
use davinci::onnx::proto::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
};
use davinci::onnx::{Initializer, OnnxModel, encode};
use davinci::tensor::TensorData;

fn tensor(name: &str, dtype: DataType, dims: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        data_type: Some(dtype as i32),
        dims: dims.to_vec(),
        ..TensorProto::default()
    }
}

fn model(inits: Vec<TensorProto>, nodes: Vec<NodeProto>) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            name: Some("g".into()),
            initializer: inits,
            node: nodes,
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    }
}

fn read(m: &ModelProto) -> OnnxModel {
    OnnxModel::from_bytes(&encode(m), "test model").unwrap()
}

fn err(m: &ModelProto, name: &str) -> String {
    read(m).initializer(name).unwrap_err().to_string()
}

#[test]
fn every_storage_and_element_type_decodes() {
    let mut raw = tensor("raw_f32", DataType::Float, &[2, 2]);
    raw.raw_data = Some(
        [1.0f32, -2.5, 0.0, 7.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    );
    let mut typed = tensor("typed_f32", DataType::Float, &[3]);
    typed.float_data = vec![0.5, 1.5, -3.0];
    let mut h = tensor("f16", DataType::Float16, &[2]);
    h.int32_data = vec![0x3c00, 0xc000]; // 1.0, -2.0 as bits in int32_data
    let mut b = tensor("bf16", DataType::Bfloat16, &[2]);
    b.raw_data = Some(vec![0x80, 0x3f, 0x00, 0x40]); // 1.0, 2.0
    let mut i64s = tensor("ids", DataType::Int64, &[3]);
    i64s.int64_data = vec![101, -1, 1 << 40];
    let mut raw64 = tensor("shape", DataType::Int64, &[2]);
    raw64.raw_data = Some([4i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect());
    let mut flag = tensor("mask", DataType::Bool, &[3]);
    flag.raw_data = Some(vec![1, 0, 1]);
    let mut i8s = tensor("q", DataType::Int8, &[2]);
    i8s.int32_data = vec![-128, 127];
    let scalar = {
        let mut t = tensor("scalar", DataType::Float, &[]);
        t.float_data = vec![9.0];
        t
    };
    let m = read(&model(
        vec![raw, typed, h, b, i64s, raw64, flag, i8s, scalar],
        vec![],
    ));
    let f32s = |name: &str| match m.initializer(name).unwrap() {
        Initializer::Tensor(t) => (t.shape().dims().to_vec(), t.to_f32_vec()),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(f32s("raw_f32"), (vec![2, 2], vec![1.0, -2.5, 0.0, 7.0]));
    assert_eq!(f32s("typed_f32").1, vec![0.5, 1.5, -3.0]);
    assert_eq!(f32s("f16").1, vec![1.0, -2.0]);
    assert_eq!(f32s("bf16").1, vec![1.0, 2.0]);
    assert_eq!(f32s("scalar"), (vec![], vec![9.0]));
    let ints = |name: &str| match m.initializer(name).unwrap() {
        Initializer::Int64 { values, bool, .. } => (values, bool),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(ints("ids"), (vec![101, -1, 1 << 40], false));
    assert_eq!(ints("shape"), (vec![4, -1], false));
    assert_eq!(ints("mask"), (vec![1, 0, 1], true));
    match m.initializer("q").unwrap() {
        Initializer::Tensor(t) => assert_eq!(t.data(), &TensorData::I8(vec![-128, 127])),
        other => panic!("{other:?}"),
    }
    assert!(
        m.initializer("absent")
            .unwrap_err()
            .to_string()
            .contains("absent")
    );
}

#[test]
fn external_data_is_read_inside_the_models_folder_only() {
    let dir = std::env::temp_dir().join(format!("davinci-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = [0f32, 3.0, 4.0, 5.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.join("weights.bin"), &data).unwrap();
    let ext = |location: &str, offset: &str, length: Option<&str>| {
        let mut t = tensor("w", DataType::Float, &[3]);
        t.data_location = Some(DataLocation::External as i32);
        let kv = |k: &str, v: &str| StringStringEntryProto {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        t.external_data = vec![kv("location", location), kv("offset", offset)];
        if let Some(l) = length {
            t.external_data.push(kv("length", l));
        }
        t
    };
    let open = |t: TensorProto| {
        let path = dir.join("m.onnx");
        std::fs::write(&path, encode(&model(vec![t], vec![]))).unwrap();
        OnnxModel::open(&path).unwrap().initializer("w")
    };
    match open(ext("weights.bin", "4", Some("12"))).unwrap() {
        Initializer::Tensor(t) => assert_eq!(t.to_f32_vec(), vec![3.0, 4.0, 5.0]),
        other => panic!("{other:?}"),
    }
    for (t, needle) in [
        (
            ext("../weights.bin", "0", None),
            "inside the model's folder",
        ),
        (ext("/etc/passwd", "0", None), "inside the model's folder"),
        (ext("weights.bin", "8", None), "past its end"),
        (ext("weights.bin", "0", Some("16")), "length 16"),
        (ext("weights.bin", "x", None), "not a byte count"),
        (ext("missing.bin", "0", None), "missing.bin"),
    ] {
        let e = open(t).unwrap_err().to_string();
        assert!(e.contains(needle), "expected '{needle}' in: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_tensors_and_files_are_refused_by_name() {
    let mut short = tensor("short", DataType::Float, &[4]);
    short.raw_data = Some(vec![0; 12]);
    assert!(err(&model(vec![short], vec![]), "short").contains("needs 16"));
    let mut few = tensor("few", DataType::Int64, &[3]);
    few.int64_data = vec![1, 2];
    assert!(err(&model(vec![few], vec![]), "few").contains("holds 2 elements"));
    let neg = tensor("neg", DataType::Float, &[2, -1]);
    assert!(err(&model(vec![neg], vec![]), "neg").contains("negative"));
    let huge = tensor("huge", DataType::Float, &[1 << 40, 1 << 40]);
    assert!(err(&model(vec![huge], vec![]), "huge").contains("overflow"));
    let mut dbl = tensor("dbl", DataType::Double, &[1]);
    dbl.double_data = vec![1.0];
    assert!(err(&model(vec![dbl], vec![]), "dbl").contains("double"));

    let good = encode(&model(vec![], vec![]));
    let half = &good[..good.len() / 2];
    for (bytes, needle) in [
        (half.to_vec(), "not a readable ONNX model"),
        (
            b"definitely not protobuf \xff\xff\xff".to_vec(),
            "not a readable ONNX model",
        ),
        (encode(&ModelProto::default()), "no graph"),
    ] {
        let e = OnnxModel::from_bytes(&bytes, "bad.onnx")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(needle) && e.contains("bad.onnx"), "{e}");
    }
    let e = OnnxModel::open("/dev/null/none.onnx")
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("none.onnx"), "{e}");
}

#[test]
fn info_lists_ops_and_what_is_outside_the_op_set() {
    let node = |op: &str, domain: &str, name: &str| NodeProto {
        op_type: Some(op.into()),
        domain: Some(domain.into()),
        name: Some(name.into()),
        ..NodeProto::default()
    };
    let m = read(&model(
        vec![],
        vec![
            node("MatMul", "", "mm"),
            node("MatMul", "", "mm2"),
            node("NonMaxSuppression", "", "nms"),
            node("FusedGemm", "com.microsoft", "fg"),
        ],
    ));
    let i = m.info();
    assert_eq!(i.opset, Some(17));
    assert_eq!(i.nodes, 4);
    assert_eq!(i.ops["MatMul"], 2);
    assert_eq!(i.ops["com.microsoft.FusedGemm"], 1);
    let outside: Vec<&str> = i.outside.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(outside, ["nms", "fg"]);
}
