//! `davinci collective`: nccl-tests' bandwidths of the HCCL-style collectives, MoE dispatch and combine
//! as DeepEP-Ascend's kernels (their phases and DeepEP's own bandwidth), and the errors of bad arguments
//! (exit code 2, empty stdout).

use crate::cli_common;
use std::process::Output;

use cli_common::{ok_json, s};

/// Runs the binary with `args`, with `XDG_RUNTIME_DIR` set (to the temp directory).
fn davinci(args: &[&str]) -> Output {
    let runtime = std::env::temp_dir();
    cli_common::davinci_env(args, &[("XDG_RUNTIME_DIR", s(&runtime))])
}

#[test]
fn collective_reports_nccl_tests_bandwidths_and_refuses_bad_arguments() {
    let v = ok_json(&davinci(&[
        "collective",
        "all-reduce",
        "--devices",
        "8",
        "--bytes",
        "16777216",
        "--cluster",
        "atlas800-a2",
        "--json",
    ]));
    let (t, alg, bus) = (
        v["time_us"].as_f64().unwrap(),
        v["algbw_gb_per_s"].as_f64().unwrap(),
        v["busbw_gb_per_s"].as_f64().unwrap(),
    );
    assert!((alg - 16777216.0 / (t * 1e3)).abs() < 1e-6 * alg, "{v}");
    assert!((bus / alg - 2.0 * 7.0 / 8.0).abs() < 1e-9, "{v}");
    assert!(v["algorithm"].is_string() && v["tier"].is_string());
    // More bytes never take less time; more devices across nodes pay the fabric.
    let time = |args: &[&str]| {
        let mut a = vec!["collective"];
        a.extend_from_slice(args);
        a.push("--json");
        ok_json(&davinci(&a))["time_us"].as_f64().unwrap()
    };
    assert!(
        time(&["all-gather", "--devices", "16", "--bytes", "1048576"])
            <= time(&["all-gather", "--devices", "16", "--bytes", "8388608"])
    );
    let int8 = time(&[
        "moe-dispatch",
        "--devices",
        "64",
        "--tokens",
        "4096",
        "--hidden",
        "7168",
        "--topk",
        "8",
        "--dtype",
        "int8",
    ]);
    let bf16 = time(&[
        "moe-combine",
        "--devices",
        "64",
        "--tokens",
        "4096",
        "--hidden",
        "7168",
        "--topk",
        "8",
    ]);
    assert!(
        int8 < bf16,
        "int8 dispatch {int8} us, bf16 combine {bf16} us"
    );
    for args in [
        vec![
            "collective",
            "all-reduce",
            "--devices",
            "1",
            "--bytes",
            "64",
        ],
        vec![
            "collective",
            "all-reduce",
            "--devices",
            "9999",
            "--bytes",
            "64",
        ],
        vec!["collective", "all-reduce", "--devices", "8"],
        vec!["collective", "broadcast", "--devices", "8", "--bytes", "64"],
        vec![
            "collective",
            "moe-dispatch",
            "--devices",
            "8",
            "--bytes",
            "64",
        ],
        vec![
            "collective",
            "moe-dispatch",
            "--devices",
            "8",
            "--tokens",
            "4",
            "--hidden",
            "64",
            "--topk",
            "300",
        ],
        vec![
            "collective",
            "all-reduce",
            "--devices",
            "8",
            "--bytes",
            "64",
            "--cluster",
            "nowhere",
        ],
    ] {
        let o = davinci(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn moe_collectives_on_ascend_report_the_kernel_phases() {
    let moe = |mode: &str, tokens: &str| {
        ok_json(&davinci(&[
            "collective",
            "moe-dispatch",
            "--rank",
            "die",
            "--devices",
            "16",
            "--tokens",
            tokens,
            "--hidden",
            "7168",
            "--topk",
            "8",
            "--dtype",
            "int8",
            "--moe-mode",
            mode,
            "--json",
        ]))
    };
    let v = moe("auto", "128");
    let k = &v["kernel"];
    assert_eq!(k["mode"], "low-latency", "{v}");
    assert_eq!(v["rank"], "die");
    let parts: f64 = ["setup_us", "send_us", "sync_us", "receive_us"]
        .iter()
        .map(|f| k[*f].as_f64().unwrap())
        .sum();
    let t = v["time_us"].as_f64().unwrap();
    assert!((parts - t).abs() < 1e-6 * t, "{v}");
    assert!(k["quant_us"].as_f64().unwrap() > 0.0 && v["deepep_gb_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(k["messages"].as_f64().unwrap(), 128.0 * 8.0);
    // Auto takes the normal kernels above 128 tokens, and they pay the host round trip.
    assert_eq!(moe("auto", "4096")["kernel"]["mode"], "normal");
    let normal = moe("normal", "128")["time_us"].as_f64().unwrap();
    assert!(normal > t, "normal {normal} us, low-latency {t} us");
    // A die rank on a 910C cluster: 768 dies, so 769 devices are refused.
    let o = davinci(&[
        "collective",
        "moe-dispatch",
        "--rank",
        "die",
        "--devices",
        "769",
        "--tokens",
        "8",
        "--hidden",
        "64",
        "--topk",
        "2",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("768"));
}
