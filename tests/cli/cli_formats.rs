//! `davinci formats`: every configuration of the linear layers against the f32 run, on both executors,
//! with the errors in the order the formats' precision implies, and bad configurations refused; and
//! `davinci matmul`'s error against the exact product under the narrow-accumulator experiments.

use crate::cli_common::{davinci, ok_json, stderr};
use crate::common;

const SMALL: [&str; 10] = [
    "--hidden",
    "64",
    "--heads",
    "4",
    "--kv-heads",
    "2",
    "--ffn",
    "128",
    "--seq",
    "8",
];

#[test]
fn formats_reports_error_time_and_memory_per_configuration() {
    let mut args = vec!["formats", "--json", "--executor", "both"];
    args.extend(SMALL);
    let o = davinci(&args);
    // Without a GPU, `both` cannot run: the CPU-only form must then work (CI has lavapipe).
    let j = if o.status.success() {
        ok_json(&o)
    } else {
        let mut cpu = vec!["formats", "--json", "--executor", "cpu"];
        cpu.extend(SMALL);
        ok_json(&davinci(&cpu))
    };
    let configs = j["configs"].as_array().unwrap();
    let by = |name: &str| {
        configs
            .iter()
            .find(|c| c["format"] == name)
            .unwrap_or_else(|| panic!("{name}: {j}"))
    };
    let err = |name: &str| by(name)["rel_frobenius_error"].as_f64().unwrap();
    for c in configs {
        assert!(c["cosine"].as_f64().unwrap() > 0.99, "{c}");
        // The seeded LM head's argmax: most rows agree with the f32 run in every format.
        let agree = c["argmax_agreement"].as_f64().unwrap();
        assert!((0.5..=1.0).contains(&agree), "{c}");
        assert!(c["predicted_us"].as_f64().unwrap() > 0.0, "{c}");
        if let Some(same) = c["bit_exact_gpu_cpu"].as_bool() {
            assert!(same, "{c}");
        }
    }
    // fp16 keeps 11 significand bits, bf16 8, e4m3 4: the errors against f32 follow.
    assert!(
        err("fp16") < err("bf16") && err("bf16") < err("fp8_e4m3"),
        "{j}"
    );
    assert!(err("w8a8") > err("bf16"), "{j}");
    let agree = |name: &str| by(name)["argmax_agreement"].as_f64().unwrap();
    assert!(agree("fp16") >= agree("fp8_e4m3"), "{j}");
    let bytes = |name: &str| by(name)["weight_bytes"].as_f64().unwrap();
    assert_eq!(bytes("w8a8") * 2.0, bytes("bf16"));
    assert_eq!(bytes("fp8_e4m3"), bytes("w8a8"));
    // The same seed gives the same stochastic roundings.
    let mut again = vec![
        "formats",
        "--json",
        "--executor",
        "cpu",
        "--formats",
        "fp16+sr",
    ];
    again.extend(SMALL);
    let (a, b) = (ok_json(&davinci(&again)), ok_json(&davinci(&again)));
    assert_eq!(a["configs"], b["configs"]);
}

#[test]
fn formats_draws_the_plot_and_refuses_a_path_it_cannot_write() {
    let dir = std::env::temp_dir().join(format!("davinci-formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("formats.svg");
    let mut args = vec![
        "formats",
        "--json",
        "--executor",
        "cpu",
        "--formats",
        "bf16,fp8_e4m3",
        "--svg",
    ];
    let path = svg.display().to_string();
    args.push(&path);
    args.extend(SMALL);
    let j = ok_json(&davinci(&args));
    assert_eq!(j["svg"], path.as_str());
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("\nfp8_e4m3\n"),
        "{text}"
    );
    assert_eq!(text.matches("<circle").count(), 2);
    // A directory that does not exist: refused before any work, and nothing is left behind.
    let missing = dir.join("no/such/dir/plot.svg").display().to_string();
    let o = davinci(&["formats", "--executor", "cpu", "--svg", &missing]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("plot.svg"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn formats_runs_the_minilm_encoder_from_its_weights() {
    let Some(weights) = common::minilm_dir() else {
        return;
    };
    let w = weights.display().to_string();
    let o = davinci(&[
        "formats",
        "--json",
        "--executor",
        "cpu",
        "--model",
        "bert",
        "--weights",
        &w,
        "--formats",
        "bf16,fp16,w8a8",
    ]);
    let j = ok_json(&o);
    let configs = j["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 3);
    let err = |i: usize| configs[i]["rel_frobenius_error"].as_f64().unwrap();
    // The sentence embedding: fp16 closer to f32 than bf16, W8A8 further; all still the same sentence.
    assert!(err(1) < err(0) && err(0) < err(2), "{j}");
    for c in configs {
        assert!(c["cosine"].as_f64().unwrap() > 0.99, "{c}");
        assert!(
            c["argmax_agreement"].is_null(),
            "an encoder has no head: {c}"
        );
    }
    // all-MiniLM-L6-v2's six layers of 4 * 384^2 + 2 * 384 * 1536 weights, two bytes each in bf16.
    assert_eq!(
        configs[0]["weight_bytes"],
        6.0 * 2.0 * (4.0 * 384.0 * 384.0 + 2.0 * 384.0 * 1536.0)
    );
    let o = davinci(&["formats", "--model", "bert"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--weights"), "{}", stderr(&o));
}

#[test]
fn bad_formats_and_sizes_are_usage_errors() {
    for bad in [
        vec!["formats", "--formats", "int4"],
        vec!["formats", "--formats", "w8a8+sr"],
        vec!["formats", "--heads", "3"],
        vec!["formats", "--seq", "0"],
        vec!["formats", "--vocab", "1"],
        vec!["formats", "--model", "gpt"],
    ] {
        let o = davinci(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
}

#[test]
fn matmul_reports_its_error_and_narrow_accumulators_add_to_it() {
    let err = |acc: &str| {
        let j = ok_json(&davinci(&[
            "matmul",
            "8",
            "2048",
            "8",
            "--executor",
            "cpu",
            "--json",
            "--repeat",
            "1",
            "--accumulate",
            acc,
        ]));
        assert_eq!(j["accumulate"], acc);
        let e = &j["error_vs_f64"];
        assert_eq!(e["non_finite"], 0, "{j}");
        e["rel_frobenius"].as_f64().unwrap()
    };
    // f32 accumulation of products exact in f32: errors near 2^-24; fp16 keeps 11 bits, bf16 8.
    let tree = err("tree16");
    assert!(tree > 0.0 && tree < 1e-6, "{tree}");
    assert!(err("f16-every1") > 100.0 * tree);
    assert!(err("bf16-every1") > err("f16-every1"));
    // Held in f32 for longer between roundings, the bf16 accumulator loses less.
    assert!(err("bf16-every16") < err("bf16-every1"));
    for bad in ["bf16-every0", "int8-every2", "kahan"] {
        let o = davinci(&["matmul", "4", "4", "4", "--accumulate", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("accumulat"), "{bad}: {}", stderr(&o));
    }
}
