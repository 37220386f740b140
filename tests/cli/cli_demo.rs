//! `davinci demo` as a user runs it, on a small decoder (`--hidden 256 --heads 4 --kv-heads 2 --ffn 512`,
//! `--seq 8`) so that it takes seconds: the JSON report (the check, the prediction at seq 512, every op),
//! the trace file (a JSON array of Chrome events), the CPU path with and without an adapter, and the usage
//! errors for sizes that do not split into heads. GPU tests skip with a reason on stderr when no adapter
//! opens, unless `DAVINCI_REQUIRE_GPU=1`.

use crate::cli_common;
use crate::common;
use std::path::PathBuf;

use cli_common::{NO_ADAPTER, davinci_env, fails_with, ok, ok_json, stderr, stdout};
use serde_json::Value;

/// A small model: 4 heads of 64, 2 key/value heads.
const SMALL: [&str; 8] = [
    "--hidden",
    "256",
    "--heads",
    "4",
    "--kv-heads",
    "2",
    "--ffn",
    "512",
];

/// A trace path of its own for each test, in cargo's scratch directory.
fn trace_path(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-{test}.json"))
}

/// Runs the small demo with `--json` and the extra `args`; asserts exit 0 and returns the report.
fn demo_json(test: &str, args: &[&str], env: &[(&str, &str)]) -> Value {
    let trace = trace_path(test);
    let _ = std::fs::remove_file(&trace);
    let mut all = vec![
        "demo",
        "--json",
        "--seq",
        "8",
        "--trace",
        trace.to_str().unwrap(),
    ];
    all.extend_from_slice(&SMALL);
    all.extend_from_slice(args);
    let v = ok_json(&davinci_env(&all, env));
    check_report(&v, &trace);
    v
}

/// What every report holds: the model, the host's seq, a prediction at seq 512 with every op, the trace.
fn check_report(v: &Value, trace: &std::path::Path) {
    assert_eq!(v["command"], "demo");
    assert_eq!(v["model"]["hidden"], 256);
    assert_eq!(v["model"]["head_dim"], 64);
    // 2 h^2 + 2 h kv + 3 h f + 2 h.
    assert_eq!(
        v["model"]["params"],
        2 * 256 * 256 + 2 * 256 * 128 + 3 * 256 * 512 + 2 * 256
    );
    assert_eq!(v["seq"], 8);
    let p = &v["prediction"];
    assert_eq!(p["seq"], 512, "the prediction is for the full sequence");
    assert!(p["time_us"].as_f64().unwrap() > 0.0, "{p}");
    assert!(p["tflops"].as_f64().unwrap() > 0.0);
    let frac = p["fraction_of_peak"].as_f64().unwrap();
    assert!(frac > 0.0 && frac <= 1.0, "{frac}");
    assert!(p["energy_j"].as_f64().unwrap() > 0.0);
    let ops = p["ops"].as_array().expect("ops is an array");
    assert!(ops.len() >= 20, "every op is listed: {}", ops.len());
    let matmuls = ops.iter().filter(|o| o["kernel"] == "cube_matmul").count();
    assert_eq!(matmuls, 9, "7 projections and the two attention matmuls");
    let whats: Vec<&str> = ops.iter().filter_map(|o| o["what"].as_str()).collect();
    for w in ["q_proj", "gate_proj + silu", "down_proj + residual"] {
        assert!(whats.contains(&w), "{w} missing from {whats:?}");
    }
    let shares: f64 = ops.iter().map(|o| o["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-9, "shares sum to {shares}");
    assert!(v["prediction_host_seq"]["time_us"].as_f64().unwrap() > 0.0);

    // The trace: a JSON array of events, each with ph, ts, dur, pid and tid; some complete ("X") spans.
    assert_eq!(
        v["trace"].as_str().map(PathBuf::from),
        trace.canonicalize().ok()
    );
    let events: Value = serde_json::from_str(&std::fs::read_to_string(trace).unwrap()).unwrap();
    let events = events.as_array().expect("the trace is an array");
    assert_eq!(v["trace_events"], events.len());
    for e in events {
        for key in ["ph", "ts", "dur", "pid", "tid"] {
            assert!(e.get(key).is_some(), "event without {key}: {e}");
        }
    }
    assert!(events.iter().any(|e| e["ph"] == "X"));
}

#[test]
fn gpu_run_is_checked_bit_for_bit_against_the_cpu_twin() {
    // An adapter that opens, whether or not `auto` would pick it (it may prefer the CPU twin to lavapipe).
    if common::gpu().is_none() {
        return;
    }
    for dtype in ["bf16", "f32"] {
        let v = demo_json(
            &format!("gpu-{dtype}"),
            &["--executor", "gpu", "--dtype", dtype],
            &[],
        );
        assert_eq!(v["dtype"], dtype);
        assert_eq!(v["executor"], "gpu");
        assert_eq!(v["checked"], true);
        assert_eq!(v["bit_exact"], true, "{v}");
        let runs: Vec<&str> = v["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["executor"].as_str().unwrap())
            .collect();
        assert_eq!(runs, ["gpu", "cpu"]);
    }
}

#[test]
fn cpu_executor_runs_alone_without_a_check() {
    let v = demo_json("cpu", &["--executor", "cpu"], &[]);
    assert_eq!(v["executor"], "cpu");
    assert_eq!(v["checked"], false);
    assert!(v["bit_exact"].is_null());
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert!(v["adapter"].is_null());
    assert_eq!(v["fallback_to_cpu"], false);
    // The twin's host time by unit: the parts add up to no more than the run, the share is a fraction.
    let by = &v["cpu_host_ms_by_unit"];
    let ms = |k: &str| by[k].as_f64().unwrap_or_else(|| panic!("{k} in {by}"));
    let parts = ms("cube") + ms("vector") + ms("mte");
    assert!(
        parts > 0.0 && parts <= v["runs"][0]["ms"].as_f64().unwrap() + 1e-6,
        "{by}"
    );
    assert!((0.0..=1.0).contains(&ms("vector_share")), "{by}");
    assert!(
        ms("cube") > 0.0 && ms("vector") > 0.0,
        "a decoder layer has both: {by}"
    );
}

#[test]
fn auto_without_an_adapter_runs_on_the_cpu_and_says_so() {
    let trace = trace_path("no-adapter");
    let mut args = vec!["demo", "--seq", "8", "--trace", trace.to_str().unwrap()];
    args.extend_from_slice(&SMALL);
    let o = davinci_env(&args, &[NO_ADAPTER]);
    ok(&o);
    assert!(
        stderr(&o).contains("CPU executor instead"),
        "{}",
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.contains("executor  cpu (the CPU twin: no GPU adapter opened"),
        "{out}"
    );
    assert!(out.contains("prediction at seq 512"), "{out}");
    assert!(
        out.contains("total ("),
        "the ops table ends in a total:\n{out}"
    );
}

#[test]
fn sizes_that_do_not_split_into_heads_are_usage_errors() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["--hidden", "250", "--heads", "4"],
            "--heads 4 must divide --hidden 250",
        ),
        (
            &["--hidden", "256", "--heads", "4", "--kv-heads", "3"],
            "--kv-heads 3 must divide --heads 4",
        ),
        (&["--heads", "0"], "must be positive"),
        (
            &["--executor", "both", "--no-check"],
            "--no-check contradicts",
        ),
    ];
    for (flags, message) in cases {
        // Every flag is checked before an executor opens or a weight is made.
        let mut args = vec!["demo", "--seq", "8"];
        args.extend_from_slice(flags);
        fails_with(&cli_common::davinci(&args), 2, &[message]);
    }
}
