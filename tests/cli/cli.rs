//! The `davinci` binary, run as a user would: `info`, `matmul` and `op matmul`, their JSON reports (exactly
//! one object on stdout), the exit codes, and the error messages for the mistakes users make with `info`
//! and `matmul`. GPU tests skip with a reason on stderr when the binary finds no adapter, unless
//! `DAVINCI_REQUIRE_GPU=1`. `davinci op`'s errors are in `tests/cli_op_errors.rs`, its Vector ops in
//! `tests/cli_vector.rs`.

use crate::cli_common;
use cli_common::{
    NO_ADAPTER, TempDir, both_or_cpu, davinci, davinci_env, gpu_available, json_of, ok, read_out,
    run_op, stderr, stdout, write,
};
use davinci::tensor::random::gen_bf16;
use davinci::{CpuExecutor, DType, MatmulOptions, Tensor, matmul};

#[test]
fn info_json_reports_adapter_or_cpu_fallback() {
    let o = davinci(&["info", "--json"]);
    ok(&o);
    let v = json_of(&o);
    let auto = v["executor_auto"].as_str().expect("executor_auto");
    assert!(auto == "gpu" || auto == "cpu", "{auto}");
    assert!(
        v["executor_auto_reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    if v["gpu_available"] == true {
        let a = &v["adapter"];
        for key in ["name", "backend", "device_type", "driver"] {
            assert!(a[key].is_string(), "adapter.{key} in {v}");
        }
        assert!(a["software"].is_boolean());
        for key in [
            "max_storage_buffer_binding_size",
            "max_buffer_size",
            "max_compute_workgroups_per_dimension",
            "max_compute_invocations_per_workgroup",
            "max_compute_workgroup_storage_size",
        ] {
            assert!(
                v["limits"][key].as_u64().is_some_and(|x| x > 0),
                "limits.{key}"
            );
        }
        for key in [
            "subnormal_results_kept",
            "subnormal_inputs_kept",
            "fma_fused",
            "mul_add_contracted",
        ] {
            assert!(v["numerics"][key].is_boolean(), "numerics.{key}");
        }
        assert!(v["numerics"]["bit_identity"].is_string());
    } else {
        assert!(v["adapter"].is_null());
    }
}

#[test]
fn info_human_names_the_auto_executor() {
    let o = davinci(&["info"]);
    ok(&o);
    assert!(stdout(&o).contains("executor auto"), "{}", stdout(&o));
}

#[test]
fn info_without_adapter_reports_cpu_and_succeeds() {
    let o = davinci_env(&["info", "--json"], &[NO_ADAPTER]);
    ok(&o);
    let v = json_of(&o);
    assert_eq!(v["executor_auto"], "cpu");
    assert!(v["adapter"].is_null());
    let reason = v["executor_auto_reason"].as_str().expect("reason");
    assert!(reason.contains("no-such-adapter-anywhere"), "{reason}");
}

#[test]
fn without_adapter_auto_falls_back_and_gpu_fails_with_advice() {
    let auto = davinci_env(
        &["matmul", "5", "7", "9", "--json", "--repeat", "1"],
        &[NO_ADAPTER],
    );
    ok(&auto);
    let v = json_of(&auto);
    assert_eq!(v["executors"][0]["name"], "cpu");
    assert!(
        stderr(&auto).contains("CPU executor instead"),
        "{}",
        stderr(&auto)
    );

    let gpu = davinci_env(
        &["matmul", "5", "7", "9", "--executor", "gpu"],
        &[NO_ADAPTER],
    );
    assert_eq!(gpu.status.code(), Some(1));
    assert!(stderr(&gpu).contains("--executor cpu"), "{}", stderr(&gpu));
    assert!(stdout(&gpu).is_empty());
}

#[test]
fn matmul_cpu_json_reports_gflops() {
    let o = davinci(&["matmul", "17", "33", "65", "--executor", "cpu", "--json"]);
    ok(&o);
    let v = json_of(&o);
    assert_eq!(v["op"], "cube_matmul");
    assert_eq!(
        (v["m"].as_u64(), v["k"].as_u64(), v["n"].as_u64()),
        (Some(17), Some(33), Some(65))
    );
    assert_eq!(v["batch"], 1);
    assert_eq!(v["dtype_out"], "f32");
    assert_eq!(v["accumulate"], "tree16");
    assert_eq!(v["seed"], 0);
    let execs = v["executors"].as_array().expect("executors");
    assert_eq!(execs.len(), 1);
    assert_eq!(execs[0]["name"], "cpu");
    assert_eq!(execs[0]["runs"], 3);
    assert!(execs[0]["median_ms"].as_f64().is_some_and(|t| t > 0.0));
    assert!(execs[0]["gflops"].as_f64().is_some_and(|g| g > 0.0), "{v}");
    assert!(v.get("bit_exact").is_none(), "bit_exact only with both");
}

#[test]
fn matmul_human_table_has_units() {
    let o = davinci(&[
        "matmul",
        "8",
        "16",
        "8",
        "--executor",
        "cpu",
        "--repeat",
        "2",
    ]);
    ok(&o);
    let out = stdout(&o);
    assert!(out.contains("GFLOP/s") && out.contains(" ms"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("cpu")), "{out}");
}

#[test]
fn matmul_both_is_bit_exact_on_odd_shapes() {
    if !gpu_available() {
        return;
    }
    for extra in [
        &[][..],
        &[
            "--trans-a",
            "--trans-b",
            "--batch",
            "3",
            "--dtype-out",
            "bf16",
        ][..],
        &["--accumulate", "sequential", "--seed", "42", "--trans-b"][..],
    ] {
        let mut args = vec![
            "matmul",
            "17",
            "33",
            "65",
            "--executor",
            "both",
            "--json",
            "--repeat",
            "1",
        ];
        args.extend_from_slice(extra);
        let o = davinci(&args);
        ok(&o);
        let v = json_of(&o);
        assert_eq!(v["bit_exact"], true, "{args:?}: {v}");
        let execs = v["executors"].as_array().expect("executors");
        let names: Vec<&str> = execs.iter().filter_map(|e| e["name"].as_str()).collect();
        assert_eq!(names, ["gpu", "cpu"]);
        assert!(
            execs[0]["adapter"].is_string(),
            "the gpu entry names its adapter"
        );
    }
    let human = davinci(&["matmul", "19", "21", "23", "--executor", "both"]);
    ok(&human);
    assert!(
        stdout(&human).contains("bit-identical"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn matmul_zero_dimension_is_a_usage_error() {
    let o = davinci(&["matmul", "0", "4", "4", "--executor", "cpu", "--json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("cube_matmul") && err.contains("at least 1"),
        "{err}"
    );
    assert!(stdout(&o).is_empty(), "no report on stdout after an error");
}

#[test]
fn matmul_absurd_size_is_refused_without_allocating() {
    let o = davinci(&[
        "matmul",
        "1000000",
        "1000000",
        "1000000",
        "--executor",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("host memory"), "{}", stderr(&o));
}

#[test]
fn matmul_bad_option_is_a_usage_error() {
    let o = davinci(&["matmul", "4", "4", "4", "--executor", "tpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tpu"), "{}", stderr(&o));
}

#[test]
fn op_matmul_round_trip_matches_the_library() {
    let dir = TempDir::new("roundtrip");
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    let a = gen_bf16(3, [5, 33], 1.0);
    let b = gen_bf16(4, [33, 7], 1.0);
    write(&input, &[("a", &a), ("b", &b)]);
    let want = matmul(&CpuExecutor, &a, &b, MatmulOptions::default()).unwrap();

    let executor = both_or_cpu();
    let o = run_op(
        "matmul",
        &input,
        &output,
        &["--executor", executor, "--json"],
    );
    ok(&o);
    let v = json_of(&o);
    assert_eq!(v["kernel"], "cube_matmul");
    assert_eq!(v["output"]["shape"], serde_json::json!([5, 7]));
    if executor == "both" {
        assert_eq!(v["bit_exact"], true, "{v}");
        assert_eq!(v["output"]["written_from"], "gpu");
    }
    let got = read_out(&output);
    assert!(
        got.bit_eq(&want),
        "op matmul output differs from davinci::matmul on the CPU"
    );
}

#[test]
fn op_matmul_maps_names_and_rounds_f32_inputs() {
    let dir = TempDir::new("map");
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    let x = Tensor::from_f32(
        [3, 20],
        (0..60).map(|i| (i as f32 * 0.37).sin() * 3.1).collect(),
    )
    .unwrap();
    let w = gen_bf16(9, [6, 20], 1.0); // [N, K]: a torch Linear weight
    write(&input, &[("x", &x), ("weight", &w)]);
    let opts = MatmulOptions {
        trans_b: true,
        dtype_out: DType::Bf16,
        ..MatmulOptions::default()
    };
    let want = matmul(&CpuExecutor, &x.to_bf16(), &w, opts).unwrap();

    let o = run_op(
        "matmul",
        &input,
        &output,
        &[
            "--map",
            "a=x",
            "--map",
            "b=weight",
            "--trans-b",
            "--dtype-out",
            "bf16",
            "--executor",
            "cpu",
        ],
    );
    ok(&o);
    assert!(stderr(&o).contains("rounded to bf16"), "{}", stderr(&o));
    assert!(stdout(&o).contains("wrote"), "{}", stdout(&o));
    let got = read_out(&output);
    assert!(
        got.bit_eq(&want),
        "mapped, rounded, transposed matmul differs from the library"
    );
}
