//! The `davinci` binary, run as a user would: `info`, `matmul` and `op matmul`, their JSON reports (exactly
//! one object on stdout), the exit codes, and the error messages for the mistakes users make. GPU tests
//! skip with a reason on stderr when the binary finds no adapter, unless `DAVINCI_REQUIRE_GPU=1`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use davinci::tensor::random::gen_bf16;
use davinci::tensor::safetensors_io::{TensorFile, save};
use davinci::{CpuExecutor, DType, MatmulOptions, Tensor, matmul};
use serde_json::Value;

/// Runs the binary with `args`.
fn davinci(args: &[&str]) -> Output {
    davinci_env(args, &[])
}

/// Runs the binary with `args` and extra environment variables.
fn davinci_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_davinci"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the davinci binary runs")
}

/// An adapter choice that matches nothing: the binary then behaves as on a host without a GPU.
const NO_ADAPTER: (&str, &str) = ("DAVINCI_ADAPTER", "no-such-adapter-anywhere");

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout as exactly one JSON object (serde_json refuses trailing text).
fn json_of(o: &Output) -> Value {
    let text = stdout(o);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}):\n{text}\nstderr:\n{}",
            stderr(o)
        )
    });
    assert!(v.is_object(), "stdout is JSON but not an object: {v}");
    v
}

/// Asserts a successful run, showing stderr otherwise.
fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Whether the binary finds a GPU adapter (`gpu_available` of `info --json`; `executor_auto` may still be
/// the CPU twin, where it measured faster than a software rasterizer). Without one this prints
/// `SKIP <test>: ...` and returns false, unless `DAVINCI_REQUIRE_GPU=1`, when it panics instead.
fn gpu_available() -> bool {
    static INFO: OnceLock<Result<(), String>> = OnceLock::new();
    let found = INFO.get_or_init(|| {
        let o = davinci(&["info", "--json"]);
        let v = json_of(&o);
        match v["gpu_available"].as_bool() {
            Some(true) => Ok(()),
            _ => Err(v["executor_auto_reason"]
                .as_str()
                .unwrap_or("no reason given")
                .to_string()),
        }
    });
    let test = std::thread::current().name().unwrap_or("?").to_string();
    match found {
        Ok(()) => true,
        Err(why) if std::env::var("DAVINCI_REQUIRE_GPU").as_deref() == Ok("1") => {
            panic!("{test}: DAVINCI_REQUIRE_GPU=1 but davinci found no GPU adapter: {why}")
        }
        Err(why) => {
            eprintln!("SKIP {test}: no GPU adapter ({why})");
            false
        }
    }
}

/// A fresh, empty directory for one test's files; removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("davinci-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

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

/// Writes `tensors` to `path`.
fn write(path: &Path, tensors: &[(&str, &Tensor)]) {
    save(path, tensors, None).expect("write inputs");
}

fn read_out(path: &Path) -> Tensor {
    TensorFile::open(path)
        .and_then(|f| f.tensor("out"))
        .expect("output file holds tensor 'out'")
}

#[test]
fn op_matmul_round_trip_matches_the_library() {
    let dir = TempDir::new("roundtrip");
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    let a = gen_bf16(3, [5, 33], 1.0);
    let b = gen_bf16(4, [33, 7], 1.0);
    write(&input, &[("a", &a), ("b", &b)]);
    let want = matmul(&CpuExecutor, &a, &b, MatmulOptions::default()).unwrap();

    let executor = if gpu_available() { "both" } else { "cpu" };
    let o = davinci(&[
        "op",
        "matmul",
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--executor",
        executor,
        "--json",
    ]);
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

    let o = davinci(&[
        "op",
        "matmul",
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--map",
        "a=x",
        "--map",
        "b=weight",
        "--trans-b",
        "--dtype-out",
        "bf16",
        "--executor",
        "cpu",
    ]);
    ok(&o);
    assert!(stderr(&o).contains("rounded to bf16"), "{}", stderr(&o));
    assert!(stdout(&o).contains("wrote"), "{}", stdout(&o));
    let got = read_out(&output);
    assert!(
        got.bit_eq(&want),
        "mapped, rounded, transposed matmul differs from the library"
    );
}

#[test]
fn op_missing_tensor_lists_what_the_file_holds() {
    let dir = TempDir::new("missing");
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    write(
        &input,
        &[
            ("a", &gen_bf16(1, [4, 4], 1.0)),
            ("c", &gen_bf16(2, [4, 4], 1.0)),
        ],
    );
    let o = davinci(&[
        "op",
        "matmul",
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--executor",
        "cpu",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("'b'") && err.contains("a, c"), "{err}");
    assert!(
        err.contains("--map"),
        "the message says how to fix it: {err}"
    );
    assert!(stdout(&o).is_empty());
    assert!(
        !output.exists(),
        "a failed run leaves no output file behind"
    );
}

#[test]
fn op_corrupt_file_is_an_error() {
    let dir = TempDir::new("corrupt");
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    std::fs::write(
        &input,
        b"\xff\xff\xff\xff\xff\xff\xff\x7fthis is not a safetensors file",
    )
    .unwrap();
    let o = davinci(&[
        "op",
        "matmul",
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--executor",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("not a valid safetensors file") && err.contains("in.safetensors"),
        "{err}"
    );
}

#[test]
fn op_unwritable_output_fails_before_reading_inputs() {
    // The input does not exist either: the output path is checked first, so that is what is reported.
    let o = davinci(&[
        "op",
        "matmul",
        "--in",
        "/nonexistent-dir/in.safetensors",
        "--out",
        "/nonexistent-dir/x.safetensors",
        "--executor",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("/nonexistent-dir/x.safetensors") && err.contains("writable"),
        "{err}"
    );
}

#[test]
fn op_k_mismatch_names_the_op_and_both_shapes() {
    let dir = TempDir::new("kmismatch");
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    write(
        &input,
        &[
            ("a", &gen_bf16(1, [4, 5], 1.0)),
            ("b", &gen_bf16(2, [6, 3], 1.0)),
        ],
    );
    let o = davinci(&[
        "op",
        "matmul",
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--executor",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("cube_matmul") && err.contains("[4, 5]") && err.contains("[6, 3]"),
        "{err}"
    );
    assert!(!output.exists());
}

#[test]
fn op_bad_map_is_a_usage_error() {
    let dir = TempDir::new("badmap");
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    let syntax = davinci(&[
        "op",
        "matmul",
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--map",
        "ax",
    ]);
    assert_eq!(syntax.status.code(), Some(2));
    assert!(
        stderr(&syntax).contains("INPUT=TENSOR"),
        "{}",
        stderr(&syntax)
    );
    let unknown = davinci(&[
        "op",
        "matmul",
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--map",
        "c=x",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("a, b"), "{}", stderr(&unknown));
}
