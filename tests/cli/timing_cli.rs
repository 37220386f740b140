//! `davinci chips` and `davinci predict` as a user runs them: the JSON reports (exactly one object on
//! stdout), the headline figures of the default chip, custom chips from TOML, the Chrome trace file, and
//! the errors for bad input. None of this needs a GPU.

use crate::cli_common;
use std::collections::{HashMap, HashSet};

use cli_common::{TempDir, davinci, fails_with, ok_json, stdout};
use serde_json::Value;

#[test]
fn chips_lists_the_presets_and_the_default_meets_the_headline() {
    let v = ok_json(&davinci(&["chips", "--json"]));
    assert_eq!(v["default"], "910c");
    let chips = v["chips"].as_array().unwrap();
    let names: Vec<&str> = chips.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "910c",
            "910c-cann",
            "910b1",
            "910b2",
            "910b3",
            "910b4",
            "910a",
            "910pro-a",
            "910premium-a",
            "910pro-b"
        ]
    );
    let c = &chips[0];
    let tflops = c["peak_bf16_tflops"].as_f64().unwrap();
    let tbs = c["hbm_tb_per_s"].as_f64().unwrap();
    assert!((tflops / 780.0 - 1.0).abs() < 0.01, "{tflops}");
    assert!((tbs / 3.2 - 1.0).abs() < 0.01, "{tbs}");
    assert_eq!(c["dies"], 2);
    assert_eq!(c["power_w"], 350.0);
    assert_eq!(c["hbm_gib"], 128.0);
    let cann = chips[1]["peak_bf16_tflops"].as_f64().unwrap();
    assert!((cann - 727.4).abs() < 0.5, "{cann}");

    let human = davinci(&["chips"]);
    let text = stdout(&human);
    assert!(
        text.contains("780.0 TFLOPS") && text.contains("3.20 TB/s"),
        "{text}"
    );
}

#[test]
fn chips_detail_gives_every_field_a_source() {
    let v = ok_json(&davinci(&["chips", "910b4", "--json"]));
    let fields = v["fields"].as_object().unwrap();
    assert!(fields.len() > 20);
    for (k, f) in fields {
        assert!(f["source"].as_str().unwrap().len() > 8, "{k} has no source");
    }
    assert_eq!(fields["clock_mhz"]["value"], 1500.0);
}

#[test]
fn predict_matmul_reports_time_bound_and_tiling() {
    let v = ok_json(&davinci(&[
        "predict",
        "matmul",
        "8192",
        "8192",
        "8192",
        "--dtype-out",
        "bf16",
        "--json",
    ]));
    let op = &v["ops"][0];
    assert_eq!(op["kernel"], "cube_matmul");
    assert_eq!(op["bound"], "cube");
    let tflops = op["tflops"].as_f64().unwrap();
    assert!(tflops > 600.0 && tflops <= 780.0, "{tflops}");
    let plan = &op["plan"];
    for key in [
        "single_core_m",
        "base_m",
        "base_n",
        "base_k",
        "blocks",
        "db_l0c",
    ] {
        assert!(!plan[key].is_null(), "plan lacks {key}: {plan}");
    }
    assert!(v["energy_j"].as_f64().unwrap() > 0.0);
    assert_eq!(v["chip"]["name"], "910c");
    assert_eq!(v["launch"], "device");
    assert_eq!(v["host_wait_us"], 0.0);
}

#[test]
fn predict_with_framework_launches_waits_on_the_host() {
    let run = |launch: &str| {
        ok_json(&davinci(&[
            "predict", "matmul", "64", "64", "64", "--json", "--launch", launch,
        ]))
    };
    let (dev, fw) = (run("device"), run("framework"));
    assert_eq!(fw["launch"], "framework");
    assert_eq!(fw["bound"], "host dispatch");
    // One small kernel: the framework's dispatch comes before it, in full.
    let wait = fw["host_wait_us"].as_f64().unwrap();
    let (t_dev, t_fw) = (
        dev["time_us"].as_f64().unwrap(),
        fw["time_us"].as_f64().unwrap(),
    );
    assert!(wait > 0.0 && (t_fw - t_dev - wait).abs() < 1e-6, "{fw}");
    fails_with(
        &davinci(&["predict", "matmul", "64", "64", "64", "--launch", "eager"]),
        2,
        &["framework"],
    );
}

#[test]
fn predict_op_covers_vector_ops() {
    for (name, extra) in [
        ("softmax", vec![]),
        ("add", vec!["--other", "4096"]),
        ("cast", vec!["--dtype", "f32"]),
        ("rmsnorm", vec![]),
        ("sum", vec![]),
        ("gelu", vec![]),
    ] {
        let mut args = vec!["predict", "op", name, "2048x4096", "--json"];
        args.extend(extra);
        let v = ok_json(&davinci(&args));
        let op = &v["ops"][0];
        assert_eq!(op["plan"]["kind"], "vector", "{name}: {v}");
        assert!(op["time_us"].as_f64().unwrap() > 3.0, "{name}");
    }
}

#[test]
fn the_trace_loads_as_chrome_trace_events() {
    let dir = TempDir::new("trace");
    let path = dir.path("trace.json");
    let p = path.to_str().unwrap();
    let v = ok_json(&davinci(&[
        "predict", "matmul", "2048", "4096", "4096", "--trace", p, "--json",
    ]));
    assert_eq!(v["trace"], p);
    let trace: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let events = trace.as_array().expect("an array of events");
    let mut pids = HashSet::new();
    let mut lanes: HashMap<(u64, u64), Vec<(f64, f64)>> = HashMap::new();
    let mut names = HashSet::new();
    for e in events {
        for key in ["ph", "ts", "dur", "pid", "tid"] {
            assert!(!e[key].is_null(), "event lacks {key}: {e}");
        }
        let (pid, tid) = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
        pids.insert(pid);
        match e["ph"].as_str().unwrap() {
            "X" => {
                let ts = e["ts"].as_f64().unwrap();
                let dur = e["dur"].as_f64().unwrap();
                assert!(ts >= 0.0 && dur >= 0.0);
                lanes.entry((pid, tid)).or_default().push((ts, ts + dur));
            }
            "M" => {
                if e["name"] == "thread_name" {
                    names.insert(e["args"]["name"].as_str().unwrap().to_string());
                }
            }
            ph => panic!("unexpected phase {ph}"),
        }
    }
    assert_eq!(pids, HashSet::from([0, 1]), "one pid per die");
    for lane in [
        "aic 0 MTE2",
        "aic 0 MTE1",
        "aic 0 Cube",
        "aic 0 FixPipe",
        "kernels",
    ] {
        assert!(names.contains(lane), "no lane named {lane}");
    }
    for ((pid, tid), mut spans) in lanes {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in spans.windows(2) {
            assert!(
                w[1].0 >= w[0].1 - 1e-6,
                "pid {pid} tid {tid}: {:?} overlaps {:?}",
                w[0],
                w[1]
            );
        }
    }
}

#[test]
fn a_chip_file_is_used_and_bad_ones_are_refused() {
    let dir = TempDir::new("chip-file");
    let good = dir.path("fast.toml");
    std::fs::write(
        &good,
        "name = \"fast-hbm\"\nbase = \"910c\"\nhbm_gb_per_s_per_die = { value = 3200, source = \"what if\" }\n",
    )
    .unwrap();
    let g = good.to_str().unwrap();
    let fast = ok_json(&davinci(&[
        "predict", "matmul", "1", "8192", "8192", "--chip", g, "--json",
    ]));
    let base = ok_json(&davinci(&[
        "predict", "matmul", "1", "8192", "8192", "--json",
    ]));
    assert_eq!(fast["chip"]["name"], "fast-hbm");
    assert!(fast["time_us"].as_f64().unwrap() < base["time_us"].as_f64().unwrap());

    let bad = dir.path("bad.toml");
    std::fs::write(&bad, "name = \"x\"\nclock_mhz = 1850\n").unwrap();
    let o = davinci(&["chips", bad.to_str().unwrap(), "--json"]);
    fails_with(&o, 2, &["missing field(s)", "dies"]);
}

#[test]
fn predict_matmul_takes_every_cube_format() {
    let v = ok_json(&davinci(&[
        "predict", "matmul", "4096", "4096", "4096", "--dtype", "int8", "--json",
    ]));
    assert_eq!(v["dtype"], "int8");
    let b = ok_json(&davinci(&[
        "predict", "matmul", "4096", "4096", "4096", "--json",
    ]));
    assert_eq!(b["dtype"], "bf16");
    let (pi, pb) = (
        v["peak_tflops"].as_f64().unwrap(),
        b["peak_tflops"].as_f64().unwrap(),
    );
    assert!(
        (pi / pb - 2.0).abs() < 1e-12,
        "int8 peak {pi} TOPS vs bf16 {pb} TFLOPS"
    );
    assert!(v["time_us"].as_f64().unwrap() < b["time_us"].as_f64().unwrap());
    let e = v["efficiency"].as_f64().unwrap();
    assert!(e > 0.0 && e <= 1.0, "{e}");
}

#[test]
fn bad_input_is_a_usage_error() {
    for args in [
        vec!["predict", "matmul", "16", "16", "16", "--chip", "a100"],
        vec!["predict", "matmul", "0", "16", "16"],
        vec!["predict", "op", "frobnicate", "16x16"],
        vec!["predict", "op", "exp", "16xq"],
        vec!["predict", "op", "add", "16x16", "--other", "3x5"],
        vec!["predict", "matmul", "16", "16", "16", "--dtype", "int4"],
        vec![
            "predict",
            "matmul",
            "16",
            "16",
            "16",
            "--dtype",
            "int8",
            "--dtype-in",
            "f32",
        ],
    ] {
        let o = davinci(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(!o.stderr.is_empty());
    }
}

#[test]
fn matmul_predict_adds_the_chip_time_beside_the_host() {
    let v = ok_json(&davinci(&[
        "matmul",
        "32",
        "48",
        "64",
        "--executor",
        "cpu",
        "--predict",
        "--chip",
        "910b2",
        "--json",
    ]));
    assert_eq!(v["prediction"]["chip"]["name"], "910b2");
    assert!(v["prediction"]["time_us"].as_f64().unwrap() > 0.0);
    assert!(v["executors"][0]["median_ms"].as_f64().is_some());
    let o = davinci(&["matmul", "32", "32", "32", "--chip", "910c"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--chip without --predict is a usage error"
    );
}

#[test]
fn validate_holds_the_model_against_the_measurements_and_can_fail() {
    let v = ok_json(&davinci(&["validate", "--json"]));
    assert_eq!(v["failed"], 0, "{v}");
    assert!(v["median_abs_error"].as_f64().unwrap() <= 0.10);
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.len() >= 40);
    for r in rows {
        assert!(r["source"].as_str().unwrap().len() > 8, "{r}");
        assert!(
            r.get("predicted").is_some() || r.get("not_covered").is_some(),
            "{r}"
        );
    }
    let text = stdout(&davinci(&["validate", "--filter", "fa-hand"]));
    assert!(
        text.contains("fa-hand-32768") && text.contains("measured") && !text.contains("torch-add"),
        "{text}"
    );

    let dir = TempDir::new("validate");
    let table = dir.dir().join("off.toml");
    std::fs::write(
        &table,
        "[[row]]\nid = \"gemm-off\"\nfigure = \"made up\"\nconditions = \"910B2\"\nsource = \"this test\"\n\
         tag = \"C\"\nmeasured = 150.0\nunit = \"TFLOPS\"\ncase = { kind = \"matmul\", chip = \"910b2\", \
         m = 4096, k = 4096, n = 4096, dtype = \"fp16\" }\n",
    )
    .unwrap();
    let o = davinci(&["validate", "--json", "--table", table.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("gemm-off"));
    assert_eq!(cli_common::json_of(&o)["failed"], 1);

    fails_with(
        &davinci(&["validate", "--filter", "zzz-nothing"]),
        2,
        &["zzz-nothing"],
    );
    let o = davinci(&["validate", "--table", "/nonexistent/table.toml"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/table.toml"));
}

#[test]
fn predict_matmul_takes_a_library_tile_and_an_nz_weight() {
    let t = |extra: &[&str]| {
        let mut args = vec![
            "predict", "matmul", "20", "16384", "6144", "--chip", "910b3", "--json",
        ];
        args.extend_from_slice(extra);
        ok_json(&davinci(&args))["time_us"].as_f64().unwrap()
    };
    let (nd, nz, tiled) = (t(&[]), t(&["--b-nz"]), t(&["--tile", "16x256x64"]));
    assert!(
        nz < nd && tiled >= nd,
        "ND {nd}, NZ {nz}, fixed tile {tiled}"
    );
    let o = davinci(&[
        "predict",
        "matmul",
        "16",
        "16",
        "16",
        "--tile",
        "128x250x64",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn predict_attention_times_the_fused_kernel_and_refuses_bad_sizes() {
    let v = ok_json(&davinci(&[
        "predict",
        "attention",
        "--sq",
        "8192",
        "--chip",
        "910b2",
        "--json",
    ]));
    let t = v["time_us"].as_f64().unwrap();
    assert!(t > 100.0 && t < 1000.0, "{v}");
    assert_eq!(v["kernel"], "flash_attention");
    let causal = ok_json(&davinci(&[
        "predict",
        "attention",
        "--sq",
        "8192",
        "--chip",
        "910b2",
        "--causal",
        "--json",
    ]));
    assert!(causal["time_us"].as_f64().unwrap() < 0.7 * t);
    for args in [
        vec!["predict", "attention", "--sq", "0"],
        vec![
            "predict",
            "attention",
            "--sq",
            "64",
            "--skv",
            "32",
            "--causal",
        ],
        vec![
            "predict",
            "attention",
            "--sq",
            "64",
            "--trace",
            "/tmp/x.json",
        ],
    ] {
        let o = davinci(&args);
        assert_ne!(o.status.code(), Some(0), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn nvidia_gpus_are_listed_and_predicted_at_their_own_rates() {
    let v = ok_json(&davinci(&["chips", "--json"]));
    let gpus = v["gpus"].as_array().unwrap();
    let names: Vec<&str> = gpus.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["h100-sxm", "h800", "h200", "b200", "gb200"]);
    // The datasheets' dense figures (half the "with sparsity" ones).
    let bf16: Vec<f64> = gpus
        .iter()
        .map(|g| g["peak_bf16_tflops"].as_f64().unwrap())
        .collect();
    for (got, want) in bf16.iter().zip([989.4, 989.0, 989.4, 2250.0, 2500.0]) {
        assert!((got / want - 1.0).abs() < 1e-6, "{bf16:?}");
    }
    let detail = ok_json(&davinci(&["chips", "h800", "--json"]));
    let nvlink = &detail["fields"]["nvlink_gb_per_s"];
    assert_eq!(nvlink["value"], 200.0);
    assert!(nvlink["source"].as_str().unwrap().contains("2505.09343"));

    let run = |dtype: &str| {
        ok_json(&davinci(&[
            "predict", "matmul", "8192", "8192", "8192", "--chip", "h100-sxm", "--dtype", dtype,
            "--json",
        ]))
    };
    let (b, f) = (run("bf16"), run("fp8"));
    assert_eq!(
        (b["chip"].as_str(), b["dtype"].as_str()),
        (Some("h100-sxm"), Some("bf16"))
    );
    assert!(f["time_us"].as_f64().unwrap() < 0.6 * b["time_us"].as_f64().unwrap());
    assert_eq!(f["peak_tflops"].as_f64().unwrap().round(), 1979.0);
    let eff = b["efficiency"].as_f64().unwrap();
    assert!(eff > 0.7 && eff < 0.875, "{eff}");
    let tf32 = run("tf32");
    assert_eq!(tf32["ops"][0]["bound"], "tensor cores");

    let op = ok_json(&davinci(&[
        "predict",
        "op",
        "softmax",
        "4096x4096",
        "--chip",
        "b200",
        "--json",
    ]));
    assert_eq!(op["bound"], "hbm");

    let m = |extra: &[&str]| {
        let mut a = vec!["predict", "matmul", "64", "64", "64"];
        a.extend_from_slice(extra);
        davinci(&a)
    };
    fails_with(
        &m(&["--chip", "h100-sxm", "--dtype", "fp4"]),
        1,
        &["h100-sxm has no fp4"],
    );
    fails_with(&m(&["--chip", "h100-sxm", "--dtype", "hf32"]), 2, &["tf32"]);
    fails_with(&m(&["--dtype", "tf32"]), 2, &["hf32"]);
    fails_with(
        &m(&["--chip", "h100-sxm", "--trace", "t.json"]),
        2,
        &["per-SM"],
    );
    fails_with(
        &davinci(&["predict", "attention", "--sq", "1024", "--chip", "h200"]),
        2,
        &["Ascend chips only"],
    );
    fails_with(&m(&["--chip", "h100x"]), 2, &["h100-sxm"]);
}
