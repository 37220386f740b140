//! Helpers shared by the tests that run the `davinci` binary as a user would (`tests/cli.rs`,
//! `tests/cli_op_errors.rs`, `tests/cli_vector.rs`, `tests/cli_bert.rs`, `tests/cli_demo.rs`,
//! `tests/cli_train.rs`, `tests/cluster_cli.rs`, `tests/timing_cli.rs`): running it, reading its stdout as one JSON report,
//! asserting success or a failure with given messages, whether it finds a GPU, a temporary directory per
//! test, and writing inputs and reading the `out` tensor of `davinci op`.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use davinci::Tensor;
use davinci::tensor::safetensors_io::{TensorFile, save};
use serde_json::Value;

/// Runs the binary with `args`.
pub fn davinci(args: &[&str]) -> Output {
    davinci_env(args, &[])
}

/// Runs the binary with `args` and extra environment variables.
pub fn davinci_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_davinci"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the davinci binary runs")
}

/// An adapter choice that matches nothing: the binary then behaves as on a host without a GPU.
pub const NO_ADAPTER: (&str, &str) = ("DAVINCI_ADAPTER", "no-such-adapter-anywhere");

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout as exactly one JSON object (serde_json refuses trailing text).
pub fn json_of(o: &Output) -> Value {
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
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Asserts a successful run and returns its stdout as one JSON object.
pub fn ok_json(o: &Output) -> Value {
    ok(o);
    json_of(o)
}

/// Asserts a failed run with `code` whose stderr holds every one of `needles`, and nothing on stdout.
pub fn fails_with(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks '{n}':\n{err}");
    }
    assert!(
        stdout(o).is_empty(),
        "no report on stdout after an error: {}",
        stdout(o)
    );
}

/// Whether the binary finds a GPU adapter (`gpu_available` of `info --json`; `executor_auto` may still be
/// the CPU twin, where it measured faster than a software rasterizer). Without one this prints
/// `SKIP <test>: ...` and returns false, unless `DAVINCI_REQUIRE_GPU=1`, when it panics instead.
pub fn gpu_available() -> bool {
    gpu_or_skip("")
}

/// `both` where the binary finds a GPU, else `cpu` (after saying that the GPU part is skipped).
pub fn both_or_cpu() -> &'static str {
    if gpu_or_skip(" (GPU part; runs on the CPU only)") {
        "both"
    } else {
        "cpu"
    }
}

/// [`gpu_available`], with `note` after the test's name in the skip message. `info --json` runs once per
/// test binary: the answer cannot change while it runs.
fn gpu_or_skip(note: &str) -> bool {
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
            eprintln!("SKIP {test}{note}: no GPU adapter ({why})");
            false
        }
    }
}

/// A fresh, empty directory for one test's files; removed on drop. Its name holds the test binary's and
/// the process' id, so test binaries running at once never share one.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "davinci-{}-{}-{name}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Runs `davinci op <op> --in <input> --out <output>` with `flags` after them.
pub fn run_op(op: &str, input: &Path, output: &Path, flags: &[&str]) -> Output {
    let mut args = vec!["op", op, "--in", s(input), "--out", s(output)];
    args.extend_from_slice(flags);
    davinci(&args)
}

/// Writes `tensors` to `path`.
pub fn write(path: &Path, tensors: &[(&str, &Tensor)]) {
    save(path, tensors, None).expect("write inputs");
}

/// The `out` tensor `davinci op` wrote to `path`.
pub fn read_out(path: &Path) -> Tensor {
    TensorFile::open(path)
        .and_then(|f| f.tensor("out"))
        .expect("output file holds tensor 'out'")
}

/// An f32 tensor of smooth, signed, non-repeating values.
pub fn f32_tensor(shape: &[usize], seed: f32, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_f32(
        davinci::Shape::new(shape),
        (0..n)
            .map(|i| ((i as f32 + seed) * 0.731).sin() * scale)
            .collect(),
    )
    .expect("tensor")
}
