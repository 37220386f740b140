//! `davinci bert`, run as a user would. Without the full model: the errors users meet (weights that lack
//! the word embeddings, a truncated file, a missing path, a token beyond the vocabulary, 513 tokens, a mask
//! of the wrong length, bad `--tokens` syntax), each with its exit code, a message that names the problem
//! and an empty stdout. With all-MiniLM-L6-v2 (fetched into `.models/` or named by `DAVINCI_MINILM`; tests print `SKIP` without
//! it, fail under `DAVINCI_REQUIRE_MODELS=1`):
//! the JSON report (stages, per-op predictions), the `--out` file (hidden states and the unit-norm sentence
//! embedding, the embedding stage equal to the golden `input_hidden`), the Chrome trace, a padded batch,
//! and `--executor both` agreeing bit for bit.

use crate::cli_common;
use crate::common;
use cli_common::{TempDir, davinci, fails_with, ok_json, s, stderr};
use davinci::tensor::safetensors_io::TensorFile;
use serde_json::Value;

const LAYER0_WEIGHTS: &str = "minilm/weights_layer0_and_embed_ln.safetensors";
const S0: &str = "101,2023,2003,1037,3231,6251,1012,102";

/// The full model's folder ([`common::minilm_dir`]: skips with the fetch command, or fails under
/// `DAVINCI_REQUIRE_MODELS=1`), as a command-line argument.
fn minilm() -> Option<String> {
    common::minilm_dir().map(|p| p.display().to_string())
}

fn golden() -> String {
    common::golden_path(LAYER0_WEIGHTS).display().to_string()
}

#[test]
fn weights_without_word_embeddings_name_the_tensor() {
    let o = davinci(&[
        "bert",
        "--weights",
        &golden(),
        "--tokens",
        S0,
        "--executor",
        "cpu",
    ]);
    fails_with(&o, 1, &["embeddings.word_embeddings.weight"]);
    assert!(
        stderr(&o).contains("no config.json"),
        "the fallback is announced"
    );
}

#[test]
fn truncated_and_missing_weights_are_runtime_errors() {
    let dir = TempDir::new("truncated");
    let bytes = std::fs::read(golden()).unwrap();
    let cut = dir.path("model.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let o = davinci(&["bert", "--weights", s(dir.dir()), "--tokens", S0]);
    fails_with(&o, 1, &["truncated"]);
    let o = davinci(&["bert", "--weights", "/nonexistent/minilm", "--tokens", S0]);
    fails_with(&o, 1, &["/nonexistent/minilm"]);
    let empty = TempDir::new("empty");
    let o = davinci(&["bert", "--weights", s(empty.dir()), "--tokens", S0]);
    fails_with(&o, 1, &["no .safetensors file"]);
}

#[test]
fn bad_tokens_and_masks_are_usage_errors() {
    let g = golden();
    let long = vec!["101"; 513].join(",");
    for (tokens, mask, needle) in [
        ("101,30522,102", None, "beyond the vocabulary"),
        (long.as_str(), None, "position table"),
        (
            S0,
            Some("1,1,1"),
            "mask of sequence 0 has 3 entries for 8 tokens",
        ),
        (
            "101,102;101",
            Some("1,1"),
            "--mask has 1 sequences but --tokens has 2",
        ),
        ("101,2023,102", Some("1,2,1"), "not 0 or 1"),
        ("101,abc,102", None, "'abc'"),
        ("101,-5", None, "'-5'"),
        ("101;;102", None, "sequence 1 is empty"),
    ] {
        let mut args = vec![
            "bert",
            "--weights",
            &g,
            "--tokens",
            tokens,
            "--executor",
            "cpu",
        ];
        if let Some(m) = mask {
            args.extend(["--mask", m]);
        }
        fails_with(&davinci(&args), 2, &[needle]);
    }
}

#[test]
fn full_model_report_out_file_and_trace() {
    let Some(w) = minilm() else { return };
    let dir = TempDir::new("full");
    let (out, trace) = (dir.path("minilm.safetensors"), dir.path("trace.json"));
    let (out_s, trace_s) = (out.to_str().unwrap(), trace.to_str().unwrap());
    let args = [
        "bert",
        "--weights",
        &w,
        "--tokens",
        S0,
        "--dtype",
        "f32",
        "--executor",
        "cpu",
        "--predict",
        "--out",
        out_s,
        "--trace",
        trace_s,
        "--json",
    ];
    let v = ok_json(&davinci(&args));
    let stages = v["stages"].as_array().expect("stages");
    let names: Vec<&str> = stages
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "embeddings");
    assert_eq!(
        names[1..7],
        [
            "layer 0", "layer 1", "layer 2", "layer 3", "layer 4", "layer 5"
        ]
    );
    assert_eq!(names[7], "pooling");
    let mut total = 0.0;
    for s in stages {
        assert!(s["host_ms"]["cpu"].as_f64().unwrap() > 0.0, "{s}");
        let p = &s["predicted"];
        assert!(p["time_us"].as_f64().unwrap() > 0.0, "{s}");
        let ops = p["ops"].as_array().unwrap();
        assert!(
            !ops.is_empty()
                && ops.iter().all(|o| o["kernel"].is_string()
                    && o["bound"].is_string()
                    && o["time_us"].as_f64().is_some()),
            "{s}"
        );
        total += p["time_us"].as_f64().unwrap();
    }
    let reported = v["predicted_total_us"].as_f64().unwrap();
    assert!(
        (reported - total).abs() <= 1e-9 * total,
        "{reported} vs {total}"
    );

    let f = TensorFile::open(&out).unwrap();
    let input_hidden = common::golden_tensor("minilm/layer0_fp32.safetensors", "input_hidden");
    for i in 0..=6 {
        let h = f.tensor(&format!("hidden_states.{i}")).unwrap();
        assert_eq!(h.shape().dims(), &[1, 8, 384]);
        if i == 0 {
            let (a, b) = (h.to_f32_vec(), input_hidden.to_f32_vec());
            let d = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(
                d <= 1e-5 * b.iter().fold(0.0f32, |m, y| m.max(y.abs())),
                "max |diff| {d:e}"
            );
        }
    }
    let e = f.tensor("sentence_embedding").unwrap();
    assert_eq!(e.shape().dims(), &[1, 384]);
    let norm = e
        .to_f32_vec()
        .iter()
        .map(|x| (*x as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((norm - 1.0).abs() <= 1e-5, "|e| = {norm}");

    let events: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let events = events
        .as_array()
        .expect("a Chrome trace is an array of events");
    let mut end = 0.0f64;
    for e in events {
        assert!(
            e["ph"].is_string() && e["pid"].is_number() && e["tid"].is_number(),
            "{e}"
        );
        end = end.max(e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap());
    }
    assert!(
        (end - reported).abs() <= 1e-6 * reported,
        "trace ends at {end} us, run takes {reported}"
    );
    let pooling = events
        .iter()
        .find(|e| e["args"]["stage"] == "pooling")
        .expect("pooling events");
    assert!(
        pooling["ts"].as_f64().unwrap()
            >= total - stages[7]["predicted"]["time_us"].as_f64().unwrap() - 1e-6
    );
}

#[test]
fn padded_batch_gives_each_sentence_its_own_embedding() {
    let Some(w) = minilm() else { return };
    let embedding = |tokens: &str| {
        let v = ok_json(&davinci(&[
            "bert",
            "--weights",
            &w,
            "--tokens",
            tokens,
            "--dtype",
            "f32",
            "--executor",
            "cpu",
            "--json",
        ]));
        let rows: Vec<Vec<f64>> = v["sentence_embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect();
        (
            v["batch"].as_u64().unwrap(),
            v["seq"].as_u64().unwrap(),
            rows,
        )
    };
    let (_, _, alone) = embedding(S0);
    let (batch, seq, rows) = embedding(&format!(
        "{S0};101,7592,2088,2003,1037,2936,6251,2007,2062,19204,2015,102"
    ));
    assert_eq!((batch, seq), (2, 12));
    let d = alone[0]
        .iter()
        .zip(&rows[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(d <= 1e-6, "s0 padded in a batch moves by {d:e}");
    let dot: f64 = rows[0].iter().zip(&rows[1]).map(|(a, b)| a * b).sum();
    assert!(
        dot < 0.99,
        "two different sentences give the same embedding (cosine {dot})"
    );
}

#[test]
fn both_executors_agree_at_every_stage() {
    let Some(w) = minilm() else { return };
    if common::gpu().is_none() {
        return;
    }
    let v = ok_json(&davinci(&[
        "bert",
        "--weights",
        &w,
        "--tokens",
        S0,
        "--executor",
        "both",
        "--json",
    ]));
    assert_eq!(v["bit_exact"], Value::Bool(true), "{v}");
    assert_eq!(v["executors"], serde_json::json!(["gpu", "cpu"]));
    assert!(
        v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["bit_exact"] == Value::Bool(true))
    );
}
