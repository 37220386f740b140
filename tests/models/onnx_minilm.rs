//! A real PyTorch export nobody on this project wrote, run end to end: paraphrase-MiniLM-L3-v2.onnx from
//! PyPI (int64 token ids and mask in, dynamic batch and sequence, shape subgraphs, embedding gathers,
//! erf GELU, mean pooling), against onnxruntime's outputs for the same inputs
//! (tests/golden_onnx/minilm_l3.safetensors, made by make_minilm.py there):
//!
//! - `force_fp32`: every float output within 1e-4 absolute, the int64 outputs equal;
//! - `allow_mix_precision_bf16`: each sentence embedding at cosine >= 0.999;
//! - GPU = CPU bit for bit in both;
//! - its predicted 910C time within 10% of the same encoder built from the project's own BERT layers
//!   (all-MiniLM-L6-v2's weights cut to 3 layers: the same shapes), since both record the same kernels.

use crate::common;
use davinci::model::{BertConfig, BertModel};
use davinci::onnx::io::read_value;
use davinci::onnx::{Initializer, OnnxModel, Precision, lower};
use davinci::report::predict_run::PredictTarget;
use davinci::tensor::safetensors_io::TensorFile;
use davinci::{DType, Shape, Tensor};

const CASES: [&str; 2] = ["s0", "sbatch"];

fn golden() -> TensorFile {
    TensorFile::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden_onnx/minilm_l3.safetensors"
    ))
    .unwrap()
}

/// The case's int64 inputs, or its expected output `name`, as the importer's host values.
fn value(file: &TensorFile, name: &str) -> Initializer {
    read_value(file, name).unwrap()
}

fn inputs(file: &TensorFile, case: &str) -> Vec<(String, Initializer)> {
    ["input_ids", "attention_mask"]
        .iter()
        .map(|n| (n.to_string(), value(file, &format!("{case}.in.{n}"))))
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn minilm_l3_matches_onnxruntime_on_every_executor() {
    let Some(path) = common::minilm_onnx() else {
        return;
    };
    let model = OnnxModel::open(&path).unwrap();
    let file = golden();
    for case in CASES {
        for precision in [Precision::ForceFp32, Precision::AllowMixBf16] {
            let lowered = lower(&model, &inputs(&file, case), precision).unwrap();
            let mut first: Option<Vec<(String, Initializer)>> = None;
            for exec in common::executors() {
                let what = format!("{case} {} on {}", precision.name(), exec.name());
                let got = lowered.run(exec.as_ref()).unwrap();
                assert_eq!(got.len(), 4, "{what}: every graph output");
                for (name, g) in &got {
                    let want = value(&file, &format!("{case}.out.{name}"));
                    assert_eq!(g.dims(), want.dims(), "{what} {name}");
                    match (g, &want, precision) {
                        (Initializer::Int64 { .. }, _, _) => assert_eq!(g, &want, "{what} {name}"),
                        (Initializer::Tensor(g), Initializer::Tensor(w), Precision::ForceFp32) => {
                            let max = g
                                .to_f32_vec()
                                .iter()
                                .zip(w.to_f32_vec())
                                .map(|(a, b)| (a - b).abs())
                                .fold(0f32, f32::max);
                            assert!(max <= 1e-4, "{what} {name}: max |err| {max}");
                        }
                        (Initializer::Tensor(g), Initializer::Tensor(w), _) if name == "461" => {
                            // The sentence embeddings, one row per sentence.
                            let (g, w) = (g.to_f32_vec(), w.to_f32_vec());
                            for (r, (a, b)) in g.chunks(384).zip(w.chunks(384)).enumerate() {
                                let c = cosine(a, b);
                                assert!(c >= 0.999, "{what}: sentence {r} cosine {c}");
                            }
                        }
                        _ => {}
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

#[test]
fn minilm_l3_is_predicted_as_the_projects_own_bert_layers_are() {
    let (Some(path), Some(dir)) = (common::minilm_onnx(), common::minilm_dir()) else {
        return;
    };
    let target = PredictTarget::resolve("910c", None).unwrap();
    let model = OnnxModel::open(&path).unwrap();
    let file = golden();
    let lowered = lower(&model, &inputs(&file, "sbatch"), Precision::ForceFp32).unwrap();
    let imported = target.predict(&lowered.graph.program).unwrap().total.0;

    // The same shapes from the project's own layers: all-MiniLM-L6-v2 (hidden 384, 12 heads, FFN 1536)
    // with 3 layers, f32 (the Cube's fp32 mode), on the same tokens.
    let mut bert = BertModel::open(&dir, DType::F32, Some(BertConfig::minilm_l6())).unwrap();
    bert.config.layers = 3;
    let ids = |name: &str| -> Vec<Vec<i64>> {
        let Initializer::Int64 { dims, values, .. } = value(&file, name) else {
            panic!("{name} is int64");
        };
        values.chunks(dims[1]).map(<[i64]>::to_vec).collect()
    };
    let tokens: Vec<Vec<u32>> = ids("sbatch.in.input_ids")
        .iter()
        .map(|r| r.iter().map(|&v| v as u32).collect())
        .collect();
    let mask: Vec<Vec<u8>> = ids("sbatch.in.attention_mask")
        .iter()
        .map(|r| r.iter().map(|&v| v as u8).collect())
        .collect();
    let (b, s) = bert.check_tokens(&tokens, &mask).unwrap();
    let hidden = || Tensor::from_f32([b * s, 384], vec![0.0; b * s * 384]).unwrap();
    let mut programs = vec![bert.embeddings(&tokens).unwrap()];
    for i in 0..3 {
        let m = bert.additive_mask(&mask).unwrap();
        programs.push(bert.layer(i, hidden(), m, b, s, false).unwrap());
    }
    let pooled = Tensor::new(Shape::new([b * s, 384]), hidden().data().clone()).unwrap();
    programs.push(bert.pooling(pooled, &mask).unwrap());
    // Predicted time by kernel.
    let by = |ps: &[&davinci::program::Program]| {
        let mut m = std::collections::BTreeMap::<&str, f64>::new();
        for p in ps {
            for o in target.predict(p).unwrap().ops {
                *m.entry(o.kernel).or_default() += o.time.0;
            }
        }
        m
    };
    let (bi, bo) = (
        by(&[&lowered.graph.program]),
        by(&programs.iter().map(|g| &g.program).collect::<Vec<_>>()),
    );
    eprintln!("predicted by kernel (ns): imported {bi:?}\n  own layers {bo:?}");
    // The kernels both record the same way take the same time.
    for k in [
        "cube_matmul",
        "vector_layernorm",
        "vector_softmax",
        "mte_gather",
    ] {
        let (a, b) = (bi[k], bo[k]);
        assert!(
            (a / b - 1.0).abs() < 0.02,
            "{k}: imported {a} ns vs own {b} ns"
        );
    }
    let own: f64 = bo.values().sum();
    let ratio = imported / own;
    eprintln!("predicted: imported {imported:.0} ns, own layers {own:.0} ns, ratio {ratio:.3}");
    // The importer fuses GELU into the FFN's epilogue and the mask into the softmax, as ATC does; the
    // own layers record both separately so every result rounds as torch's. So it is faster, by no more
    // than those ops.
    assert!(
        (0.9..=1.0).contains(&ratio),
        "imported {imported} ns vs own {own} ns"
    );
}
