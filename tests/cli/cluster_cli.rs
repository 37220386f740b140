//! The cluster commands: `davinci clusters`, `davinci models`, `davinci cluster train|prefill|decode` with a
//! plan, a sweep, a trace and `--execute`, and the errors of bad input (exit code 2, empty stdout).

use crate::cli_common;
use crate::common;
use std::process::Output;

use cli_common::{TempDir, fails_with, ok_json, s, stderr, stdout};
use serde_json::Value;

/// Runs the binary with `args`, with `XDG_RUNTIME_DIR` set (to the temp directory).
fn davinci(args: &[&str]) -> Output {
    let runtime = std::env::temp_dir();
    cli_common::davinci_env(args, &[("XDG_RUNTIME_DIR", s(&runtime))])
}

/// Runs the binary with `args`; asserts success and returns its stdout as one JSON object.
fn json(args: &[&str]) -> Value {
    ok_json(&davinci(args))
}

#[test]
fn clusters_prints_the_cloudmatrix_totals() {
    let out = davinci(&["clusters"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("cloudmatrix384")
            && text.contains("384")
            && text.contains("299.5 PFLOPS")
            && text.contains("559.0 kW"),
        "{text}"
    );
    let v = json(&["clusters", "--json"]);
    let cm = &v["clusters"][0];
    assert_eq!(cm["chips"], 384);
    assert!((cm["peak_bf16_pflops"].as_f64().unwrap() - 300.0).abs() < 3.0);
    assert!((cm["power_kw"].as_f64().unwrap() - 559.0).abs() < 5.0);
    let v = json(&["clusters", "cloudmatrix384", "--json"]);
    assert!(
        v["fields"]["fabric_latency_us"]["source"]
            .as_str()
            .unwrap()
            .contains("msmodeling")
    );
}

#[test]
fn models_lists_the_presets() {
    let v = json(&["models", "--json"]);
    let names: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "llama3-8b",
            "llama3-70b",
            "llama2-7b",
            "llama2-70b",
            "chatglm3-6b",
            "bert-base",
            "minilm",
            "deepseek-v3"
        ]
    );
    let v = json(&["models", "deepseek-v3", "--json"]);
    assert_eq!(v["models"][0]["attention"]["kind"], "mla");
    // LLaMA-2 7B has full multi-head attention and the 32000-token vocabulary (its config.json).
    let v = json(&["models", "llama2-7b", "--json"]);
    assert_eq!(v["models"][0]["vocab"], 32000, "{v}");
}

#[test]
fn a_plan_gives_the_step_and_its_breakdown() {
    let dir = TempDir::new("plan");
    let trace = dir.path("step.json");
    let v = json(&[
        "cluster",
        "train",
        "--model",
        "deepseek-v3",
        "--cluster",
        "cloudmatrix384",
        "--plan",
        "dp=48,tp=8,ep=64,zero=1,recompute",
        "--batch",
        "768",
        "--seq",
        "4096",
        "--trace",
        trace.to_str().unwrap(),
        "--json",
    ]);
    let step = v["step_ms"].as_f64().unwrap();
    let b = &v["breakdown_ms"];
    let sum = b["compute"].as_f64().unwrap()
        + b["exposed_comm"].as_f64().unwrap()
        + b["pipeline_bubble"].as_f64().unwrap();
    assert!((sum / step - 1.0).abs() < 1e-9);
    let mfu = v["mfu"].as_f64().unwrap();
    assert!(mfu > 0.0 && mfu <= 1.0);
    assert_eq!(v["plan"]["rank"], "chip");
    assert!(v["tokens_per_s_per_chip"].as_f64().unwrap() > 0.0);
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    assert!(
        t.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "moe dispatch")
    );
    let out = davinci(&[
        "cluster",
        "decode",
        "--model",
        "llama3-8b",
        "--cluster",
        "atlas800-a2",
        "--plan",
        "tp=8",
        "--batch",
        "64",
        "--kv",
        "2048",
    ]);
    let text = stdout(&out);
    assert!(
        out.status.success() && text.contains("step time") && text.contains("tp all-reduce"),
        "{text}"
    );
}

#[test]
fn the_sweep_ranks_the_plans_that_fit() {
    let v = json(&[
        "cluster",
        "train",
        "--model",
        "llama3-8b",
        "--cluster",
        "atlas800-a2",
        "--sweep",
        "--top",
        "3",
        "--batch",
        "64",
        "--json",
    ]);
    assert!(v["plans"].as_u64().unwrap() > 3);
    let ranked = v["ranked"].as_array().unwrap();
    assert_eq!(ranked.len(), 3);
    assert!(
        ranked
            .windows(2)
            .all(|w| w[0]["tokens_per_s"].as_f64() >= w[1]["tokens_per_s"].as_f64())
    );
    assert!(ranked.iter().all(|p| p["fits"] == true));
}

#[test]
fn execute_checks_tensor_parallel_shards_against_the_unsharded_layer() {
    let weights = common::golden_path("minilm/weights_layer0_and_embed_ln.safetensors");
    for tp in ["2", "4"] {
        let v = json(&[
            "cluster",
            "prefill",
            "--model",
            "minilm",
            "--cluster",
            "atlas800-a2",
            "--plan",
            &format!("dp={},tp={tp}", 8 / tp.parse::<usize>().unwrap()),
            "--batch",
            "8",
            "--seq",
            "64",
            "--execute",
            "--weights",
            weights.to_str().unwrap(),
            "--executor",
            "cpu",
            "--json",
        ]);
        let e = &v["execute"];
        assert_eq!(e["ok"], true, "{e}");
        assert!(e["rel_frobenius"].as_f64().unwrap() <= 1e-4);
        assert_eq!(e["tp"].as_u64().unwrap().to_string(), tp);
    }
    // Without --weights, from a working directory outside the crate: the layer-0 file the crate ships.
    let elsewhere = std::env::temp_dir();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_davinci"))
        .args([
            "cluster",
            "prefill",
            "--model",
            "minilm",
            "--cluster",
            "atlas800-a2",
            "--plan",
            "dp=4,tp=2",
            "--batch",
            "8",
            "--seq",
            "16",
            "--execute",
            "--executor",
            "cpu",
            "--json",
        ])
        .current_dir(&elsewhere)
        .output()
        .expect("the davinci binary runs");
    let v = ok_json(&o);
    assert_eq!(v["execute"]["ok"], true, "{}", v["execute"]);
    let out = davinci(&[
        "cluster",
        "prefill",
        "--model",
        "llama3-8b",
        "--cluster",
        "atlas800-a2",
        "--plan",
        "tp=8",
        "--execute",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("MiniLM"));
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_code_2() {
    for (args, want) in [
        (
            vec!["cluster", "decode", "--plan", "dp=50,tp=8"],
            "384 chips (768 dies)",
        ),
        (
            vec!["cluster", "decode", "--plan", "dp=128,tp=3"],
            "does not divide the 128 attention heads",
        ),
        (
            vec!["cluster", "decode", "--plan", "dp=384,ep=384"],
            "larger than the 256 routed experts",
        ),
        (
            vec!["cluster", "decode", "--model", "gpt-5", "--plan", "dp=384"],
            "unknown model 'gpt-5'",
        ),
        (
            vec![
                "cluster",
                "decode",
                "--cluster",
                "nvl36",
                "--plan",
                "dp=384",
            ],
            "unknown cluster 'nvl36'",
        ),
        (vec!["cluster", "decode"], "give a plan"),
        (vec!["clusters", "nvl36"], "unknown cluster"),
    ] {
        fails_with(&davinci(&args), 2, &[want]);
    }
}

#[test]
fn skewed_routing_slows_a_moe_step_and_says_by_how_much() {
    let base = [
        "cluster",
        "prefill",
        "--model",
        "deepseek-v3",
        "--plan",
        "dp=48,tp=8,ep=64",
        "--batch",
        "96",
        "--seq",
        "4096",
        "--json",
    ];
    let balanced = ok_json(&davinci(&base));
    assert!(balanced.get("routing").is_none());
    let mut args = base.to_vec();
    args.extend(["--routing", "zipf:1"]);
    let skewed = ok_json(&davinci(&args));
    let r = &skewed["routing"];
    let (load, cost) = (
        r["busiest_rank_load"].as_f64().unwrap(),
        r["imbalance_cost"].as_f64().unwrap(),
    );
    assert!(load > 1.0 && cost > 0.0, "{r}");
    let (t, t0) = (
        skewed["step_ms"].as_f64().unwrap(),
        balanced["step_ms"].as_f64().unwrap(),
    );
    assert!(
        (t / t0 - 1.0 - cost).abs() < 1e-9
            && (r["balanced_step_ms"].as_f64().unwrap() - t0).abs() < 1e-9 * t0
    );
    // A histogram file: all tokens on the first rank's experts is the worst case.
    let dir = TempDir::new("routing");
    let hist = dir.path("hist.json");
    let mut tokens = vec![0.0; 256];
    tokens[..4].iter_mut().for_each(|t| *t = 100.0);
    std::fs::write(&hist, serde_json::to_string(&tokens).unwrap()).unwrap();
    let mut args = base.to_vec();
    let hist_s = hist.to_str().unwrap().to_string();
    args.extend(["--routing", hist_s.as_str()]);
    let worst = ok_json(&davinci(&args));
    assert!(worst["routing"]["busiest_rank_load"].as_f64().unwrap() > 60.0);
    assert!(worst["step_ms"].as_f64().unwrap() > t);
    for bad in ["zipf:0", "skewed", "/nonexistent/h.json"] {
        let mut args = base.to_vec();
        args.extend(["--routing", bad]);
        let o = davinci(&args);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
    }
    let o = davinci(&[
        "cluster",
        "train",
        "--model",
        "llama3-8b",
        "--plan",
        "dp=384",
        "--routing",
        "zipf:1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("experts"), "{}", stderr(&o));
}

#[test]
fn multi_token_prediction_counts_accepted_tokens_and_reports_tpot() {
    let base = [
        "cluster",
        "decode",
        "--model",
        "deepseek-v3",
        "--plan",
        "dp=768,ep=256",
        "--batch",
        "12288",
        "--kv",
        "4096",
        "--json",
    ];
    let plain = ok_json(&davinci(&base));
    assert_eq!(plain["tpot_ms"], plain["step_ms"]);
    let mut args = base.to_vec();
    args.extend(["--mtp", "1", "--mtp-accept", "0.8"]);
    let mtp = ok_json(&davinci(&args));
    let (step, tpot) = (
        mtp["step_ms"].as_f64().unwrap(),
        mtp["tpot_ms"].as_f64().unwrap(),
    );
    // Each step verifies 2 tokens per sequence (slower) and yields 1.8 of them (more tokens per second).
    assert!((step / tpot - 1.8).abs() < 1e-9, "{mtp}");
    assert!(step > plain["step_ms"].as_f64().unwrap());
    assert!(mtp["tokens_per_s"].as_f64().unwrap() > plain["tokens_per_s"].as_f64().unwrap());
    // A sweep with MTP still ranks plans, best first.
    let mut args = vec![
        "cluster",
        "decode",
        "--model",
        "deepseek-v3",
        "--sweep",
        "--batch",
        "12288",
    ];
    args.extend(["--mtp", "1", "--mtp-accept", "0.8", "--json"]);
    let sweep = ok_json(&davinci(&args));
    assert!(
        sweep["ranked"][0]["tokens_per_s_per_chip"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    for bad in [
        vec![
            "cluster",
            "decode",
            "--model",
            "deepseek-v3",
            "--plan",
            "dp=768,ep=256",
            "--mtp",
            "9",
            "--mtp-accept",
            "0.5",
        ],
        vec![
            "cluster",
            "decode",
            "--model",
            "deepseek-v3",
            "--plan",
            "dp=768,ep=256",
            "--mtp",
            "1",
            "--mtp-accept",
            "1.5",
        ],
        vec![
            "cluster",
            "decode",
            "--model",
            "deepseek-v3",
            "--plan",
            "dp=768,ep=256",
            "--mtp",
            "1",
        ],
        vec![
            "cluster",
            "prefill",
            "--model",
            "deepseek-v3",
            "--plan",
            "dp=384",
            "--mtp",
            "1",
            "--mtp-accept",
            "0.5",
        ],
    ] {
        let o = davinci(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
    }
}

#[test]
fn w8a8_serving_uses_the_int8_kernels_halves_the_weights_and_refuses_bad_values() {
    let base = [
        "cluster",
        "decode",
        "--model",
        "deepseek-v3",
        "--plan",
        "dp=768,ep=256",
        "--batch",
        "24576",
        "--kv",
        "4096",
        "--json",
    ];
    let plain = ok_json(&davinci(&base));
    assert_eq!(plain["quant"], "bf16");
    let mut args = base.to_vec();
    args.extend(["--quant", "w8a8"]);
    let q = ok_json(&davinci(&args));
    assert_eq!(q["quant"], "w8a8");
    let (step, bf) = (
        q["step_ms"].as_f64().unwrap(),
        plain["step_ms"].as_f64().unwrap(),
    );
    // The report's own bf16 figure is the plain run's; int8 at twice the rate with half the weight
    // bytes is faster, though not twice (attention and communication stay as they were).
    assert!(
        (q["bf16_step_ms"].as_f64().unwrap() - bf).abs() < 1e-9,
        "{q}"
    );
    assert!(step < bf && step > bf / 2.0, "w8a8 {step} ms, bf16 {bf} ms");
    let weights = |j: &serde_json::Value| j["roles"][0]["memory"]["weights"].as_f64().unwrap();
    assert!((weights(&q) / weights(&plain) - 0.5).abs() < 1e-9);
    // The timed kernels include the quantisation and the int8 matmuls.
    let sweep_args = [
        "cluster",
        "prefill",
        "--model",
        "llama3-8b",
        "--sweep",
        "--quant",
        "w8a8",
        "--json",
    ];
    let sweep = ok_json(&davinci(&sweep_args));
    assert!(
        sweep["ranked"][0]["tokens_per_s_per_chip"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    for bad in [
        vec![
            "cluster",
            "decode",
            "--model",
            "deepseek-v3",
            "--plan",
            "dp=768,ep=256",
            "--quant",
            "int4",
        ],
        vec![
            "cluster",
            "train",
            "--model",
            "llama3-8b",
            "--plan",
            "dp=384",
            "--quant",
            "w8a8",
        ],
    ] {
        let o = davinci(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("--quant"), "{}", stderr(&o));
    }
}

#[test]
fn compare_puts_systems_side_by_side_with_ratios_against_the_first() {
    let v = ok_json(&davinci(&[
        "compare",
        "--model",
        "deepseek-v3",
        "--workload",
        "decode",
        "--systems",
        "cloudmatrix384,gb200-nvl72",
        "--batch-per-chip",
        "32",
        "--json",
    ]));
    let s = v["systems"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    for key in [
        "name",
        "tokens_per_s",
        "tokens_per_s_per_chip",
        "step_ms",
        "power_w",
        "tokens_per_joule",
    ] {
        assert!(!s[1][key].is_null(), "{key}");
    }
    assert_eq!(
        (s[0]["name"].as_str(), s[1]["name"].as_str()),
        (Some("cloudmatrix384"), Some("gb200-nvl72"))
    );
    assert_eq!(s[0]["vs_first"]["tokens_per_s"], 1.0);
    let (t0, t1) = (
        s[0]["tokens_per_s"].as_f64().unwrap(),
        s[1]["tokens_per_s"].as_f64().unwrap(),
    );
    let r = s[1]["vs_first"]["tokens_per_s"].as_f64().unwrap();
    assert!((r - t1 / t0).abs() < 1e-9);
    // Tokens per joule is tokens/s over the system's power.
    let tpj = s[1]["tokens_per_s"].as_f64().unwrap() / s[1]["power_w"].as_f64().unwrap();
    assert!((s[1]["tokens_per_joule"].as_f64().unwrap() / tpj - 1.0).abs() < 1e-9);
    assert_eq!(s[1]["power_w"], 145000.0);

    // A given plan is used as given; a bad one, a system that cannot hold the model, an unknown system
    // and a plan for a system not compared are clear errors.
    let v = ok_json(&davinci(&[
        "compare",
        "--systems",
        "cloudmatrix384,gb200-nvl72",
        "--plan",
        "gb200-nvl72=dp=72,tp=1,pp=1,ep=72",
        "--json",
    ]));
    assert_eq!(v["systems"][1]["plan_given"], true);
    assert_eq!(v["systems"][1]["plan"], "dp=72,tp=1,pp=1,ep=72");
    fails_with(
        &davinci(&["compare", "--systems", "cloudmatrix384,dgx-h100"]),
        2,
        &["does not fit on dgx-h100"],
    );
    fails_with(
        &davinci(&["compare", "--systems", "cloudmatrix384,nvl36"]),
        2,
        &["unknown cluster 'nvl36'"],
    );
    fails_with(
        &davinci(&["compare", "--systems", "cloudmatrix384"]),
        2,
        &["at least two systems"],
    );
    fails_with(
        &davinci(&[
            "compare",
            "--systems",
            "cloudmatrix384,gb200-nvl72",
            "--plan",
            "dgx-b200=dp=8,tp=1,pp=1,ep=8",
        ]),
        2,
        &["not in --systems"],
    );
    fails_with(
        &davinci(&[
            "compare",
            "--systems",
            "cloudmatrix384,gb200-nvl72",
            "--plan",
            "gb200-nvl72=dp=5,tp=1,pp=1,ep=1",
        ]),
        2,
        &["72 chips"],
    );

    let c = ok_json(&davinci(&["clusters", "--json"]));
    let nvl = c["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "gb200-nvl72")
        .unwrap();
    let agg = nvl["scale_up_aggregate_tb_per_s"].as_f64().unwrap();
    assert!(
        (agg / 130.0 - 1.0).abs() < 0.02,
        "NVL72's 130 TB/s NVLink: {agg}"
    );
    let text = stdout(&davinci(&["clusters"]));
    assert!(
        text.contains("cloudmatrix384 / gb200-nvl72: 1.66x the dense bf16"),
        "{text}"
    );
}
