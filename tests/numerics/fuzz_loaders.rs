//! Property-based fuzzing of every loader: proptest mutates valid files (truncation, bit flips, byte
//! overwrites, inserted bytes, a rewritten safetensors header length, numbers in text files replaced by
//! extremes) and each mutant goes through the loader and, when it loads, through what uses it (every
//! tensor converted; a chip's prediction of a matmul; a cluster and model's step prediction). Zero panics
//! are allowed (proptest reports any panic with the smallest mutant that causes it), and every figure of
//! a loaded spec's prediction must be finite.
//!
//! Each loader runs for a time box: `DAVINCI_FUZZ_SECS` seconds (default 20), as many cases as fit.
//! Loaders: safetensors tensors (`TensorFile`), model weights (`Weights`, `config.json`), chip TOML,
//! cluster TOML, model TOML and JSON, ONNX models (decoded, described, lowered and run).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use davinci::cluster::{ClusterSpec, ModelSpec, Plan, Workload, predict_step};
use davinci::model::{BertConfig, MINILM_LAYER0_WEIGHTS, Weights};
use davinci::tensor::safetensors_io::TensorFile;
use davinci::{ChipSpec, DType, MatmulOptions, Program};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};

/// One edit of a file's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    FlipBit(usize, u8),
    Overwrite(usize, u8),
    Insert(usize, Vec<u8>),
    HeaderLen(u64),
    /// Replaces the n-th run of digits (text files) with an extreme number.
    Number(usize, &'static str),
}

const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1e-9",
    "1e300",
    "-1e300",
    "nan",
    "inf",
    "18446744073709551616",
    "9223372036854775807",
    "1.5",
    "\"x\"",
    "true",
    "[]",
    "{}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Overwrite(i, v)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        prop_oneof![Just(0u64), Just(u64::MAX), Just(1 << 40), 0u64..4096]
            .prop_map(Mutation::HeaderLen),
        (any::<usize>(), prop::sample::select(EXTREMES)).prop_map(|(i, s)| Mutation::Number(i, s)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Mutation]) -> Vec<u8> {
    for m in edits {
        let n = bytes.len().max(1);
        match m {
            Mutation::Truncate(i) => bytes.truncate(i % n),
            Mutation::FlipBit(i, b) if !bytes.is_empty() => bytes[i % n] ^= 1 << b,
            Mutation::Overwrite(i, v) if !bytes.is_empty() => bytes[i % n] = *v,
            Mutation::Insert(i, v) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, v.iter().copied());
            }
            Mutation::HeaderLen(len) if bytes.len() >= 8 => {
                bytes[..8].copy_from_slice(&len.to_le_bytes())
            }
            Mutation::Number(i, s) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let runs: Vec<(usize, usize)> = digit_runs(&text);
                if !runs.is_empty() {
                    let (a, b) = runs[i % runs.len()];
                    bytes = format!("{}{s}{}", &text[..a], &text[b..]).into_bytes();
                }
            }
            _ => {}
        }
    }
    bytes
}

/// Byte ranges of the runs of digits (with a decimal point or exponent) in a text.
fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e') {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    runs
}

/// Runs `check` on mutants of `seed` until the time box is spent; fails on the first panic or error that
/// `check` reports, with proptest's shrunk mutant.
fn fuzz(name: &str, seed: Vec<u8>, check: impl Fn(&[u8]) -> Result<(), String>) {
    let secs: u64 = std::env::var("DAVINCI_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let strategy = prop::collection::vec(mutation(), 1..5);
    let ran = std::cell::Cell::new(0u64);
    while Instant::now() < deadline {
        // A fresh runner per batch: each draws its own random seed and runs `cases` mutants.
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&strategy, |edits| {
            ran.set(ran.get() + 1);
            let bytes = apply(seed.clone(), &edits);
            check(&bytes).map_err(TestCaseError::fail)
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, edits)) => panic!("{name}: {why}\nmutations: {edits:?}"),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    eprintln!("fuzz {name}: {} mutants in {secs} s, no panic", ran.get());
    assert!(ran.get() > 0, "{name}: no mutant ran");
}

/// A scratch file unique to this process and loader.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("davinci-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn finite(what: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{what} = {v}"))
    }
}

#[test]
fn fuzz_safetensors_tensor_files() {
    let seed = davinci::tensor::random::gen_bf16(1, [3, 5], 1.0);
    let f = scratch("seed.safetensors");
    let other = davinci::Tensor::from_f32([2], vec![1.0, f32::NAN]).unwrap();
    davinci::tensor::safetensors_io::save(&f, &[("x", &seed), ("y", &other)], None).unwrap();
    let bytes = std::fs::read(&f).unwrap();
    let path = scratch("tensor.safetensors");
    fuzz("safetensors", bytes, |b| {
        std::fs::write(&path, b).unwrap();
        if let Ok(file) = TensorFile::open(&path) {
            for name in file.names() {
                let _ = file.tensor(&name);
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_model_weights_and_config_json() {
    // A few real tensors of MiniLM's layer 0 (the whole file is 6 MB: mutants of a small one reach the
    // header and every tensor's bounds as often as its data).
    let real = TensorFile::open(MINILM_LAYER0_WEIGHTS).unwrap();
    let names = [
        "embeddings.LayerNorm.weight",
        "encoder.layer.0.attention.self.query.bias",
        "encoder.layer.0.output.LayerNorm.bias",
    ];
    let tensors: Vec<(&str, davinci::Tensor)> = names
        .iter()
        .map(|n| (*n, real.tensor(n).unwrap()))
        .collect();
    let refs: Vec<(&str, &davinci::Tensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let small = scratch("weights-seed.safetensors");
    davinci::tensor::safetensors_io::save(&small, &refs, None).unwrap();
    let bytes = std::fs::read(&small).unwrap();
    let dir = scratch("weights");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    fuzz("weights", bytes, |b| {
        std::fs::write(&path, b).unwrap();
        if let Ok(w) = Weights::open(&path) {
            for name in w.names().into_iter().take(8) {
                let _ = w.get(&name, DType::Bf16, None);
            }
        }
        Ok(())
    });
    let config = br#"{"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"}"#;
    fuzz("config.json", config.to_vec(), |b| {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(b) {
            let _ = BertConfig::from_json(&v);
        }
        Ok(())
    });
}

#[test]
fn fuzz_chip_files() {
    let seed = b"name = \"fuzz\"\nbase = \"910c\"\nclock_mhz = 1850\ncube_cores_per_die = 24\nhbm_gb_per_s_per_die = { value = 1600, source = \"s\" }\nl1_kib = 512\ndie_link_latency_us = 0.2\nlaunch_overhead_us = 3\npower_w = 350\n";
    let mut p = Program::new();
    let a = p.input("a", [512, 1024], DType::Bf16);
    let b = p.input("b", [1024, 256], DType::Bf16);
    let c = p.cube_matmul(a, b, MatmulOptions::default()).unwrap();
    let y = p.softmax(c, None, DType::F32).unwrap();
    p.output(y).unwrap();
    fuzz("chip TOML", seed.to_vec(), |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(());
        };
        let Ok(chip) = ChipSpec::from_toml(text, "fuzz.toml") else {
            return Ok(());
        };
        let pred = davinci::predict(&p, &chip)
            .map_err(|e| format!("a loaded chip cannot predict: {e}"))?;
        finite("total ns", pred.total.0)?;
        finite("cube_util", pred.cube_util)?;
        finite("hbm_util", pred.hbm_util)
    });
}

#[test]
fn fuzz_cluster_files() {
    let seed = b"name = \"fuzz\"\nbase = \"atlas800-a2\"\nnodes = 1\nnode_gb_per_s = 196\nnode_latency_us = { value = 2.5, source = \"s\" }\nfabric_gb_per_s = 25\n";
    let model = ModelSpec::resolve("llama3-8b").unwrap();
    let plan = Plan::parse("dp=8").unwrap();
    let w = Workload::Prefill {
        batch: 8,
        prompt: 256,
    };
    fuzz("cluster TOML", seed.to_vec(), |bytes| {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(());
        };
        let Ok(cluster) = ClusterSpec::from_toml(text, "fuzz.toml") else {
            return Ok(());
        };
        if let Ok(s) = predict_step(&model, &cluster, &plan, &w) {
            finite("step ns", s.step.0)?;
            finite("tokens/s", s.tokens_per_s)?;
            finite("mfu", s.mfu)?;
        }
        Ok(())
    });
}

#[test]
fn fuzz_model_files() {
    let cluster = ClusterSpec::resolve("cloudmatrix384").unwrap();
    let plan = Plan::parse("dp=384").unwrap();
    let w = Workload::Decode {
        batch: 768,
        kv: 1024,
        mtp: None,
    };
    let check = |path: PathBuf| {
        let (cluster, plan) = (&cluster, &plan);
        move |bytes: &[u8]| -> Result<(), String> {
            std::fs::write(&path, bytes).unwrap();
            let Ok(model) = ModelSpec::from_file(&path) else {
                return Ok(());
            };
            if let Ok(s) = predict_step(&model, cluster, plan, &w) {
                finite("step ns", s.step.0)?;
                finite("tokens/s", s.tokens_per_s)?;
            }
            Ok(())
        }
    };
    let toml = b"name = \"fuzz\"\nbase = \"deepseek-v3\"\nlayers = 8\nexperts = 64\ntop_k = 4\nhidden = 2048\n";
    fuzz("model TOML", toml.to_vec(), check(scratch("model.toml")));
    let json = br#"{"name": "fuzz", "layers": 4, "hidden": 512, "heads": 8, "kv_heads": 2, "ffn": 1536, "vocab": 32000}"#;
    fuzz("model JSON", json.to_vec(), check(scratch("model.json")));
}

#[test]
fn fuzz_onnx_models() {
    // The small MLP graph of tests/golden_onnx: mutants reach the protobuf framing, the attributes, the
    // initializers' dimensions and data; what decodes is described, lowered and run on the CPU.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden_onnx/");
    let bytes = std::fs::read(format!("{dir}mlp.onnx")).unwrap();
    let x = TensorFile::open(format!("{dir}mlp.safetensors"))
        .unwrap()
        .tensor("in.x")
        .unwrap();
    let inputs = vec![("x".to_string(), x.into())];
    fuzz("onnx", bytes, |b| {
        if let Ok(m) = davinci::onnx::OnnxModel::from_bytes(b, "mutant.onnx") {
            let _ = m.info();
            let _ = m.initializers();
            let p = davinci::onnx::Precision::ForceFp32;
            if let Ok(l) = davinci::onnx::lower(&m, &inputs, p) {
                let _ = l.graph.run(&davinci::CpuExecutor);
            }
        }
        Ok(())
    });
}
