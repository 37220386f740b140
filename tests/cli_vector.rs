//! `davinci op` for the Vector unit's ops, run as a user would: inputs written to a safetensors file, the
//! binary run, its JSON report parsed, and the written `out` tensor compared bit for bit with the library's
//! CPU result for the same op. Optional inputs absent and present, `--dtype-out bf16`, the fused matmul
//! epilogue, and the errors for the mistakes users make (bad --eps, wrong gamma, a mask that does not
//! broadcast, an empty axis, --eps on an op without one). GPU runs use `--executor both` when the binary
//! finds an adapter, and skip with a reason otherwise (unless `DAVINCI_REQUIRE_GPU=1`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use davinci::tensor::random::gen_bf16;
use davinci::tensor::safetensors_io::{TensorFile, save};
use davinci::{
    Activation, BinaryFn, CpuExecutor, DType, Epilogue, Executor, MatmulOptions, Program, ReduceFn,
    Tensor, TensorId, UnaryFn,
};
use serde_json::{Value, json};

fn davinci(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_davinci"))
        .args(args)
        .output()
        .expect("the davinci binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout as exactly one JSON object.
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

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
}

/// Asserts a failed run with `code` whose stderr holds every one of `needles`, and nothing on stdout.
fn fails_with(o: &Output, code: i32, needles: &[&str]) {
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
fn gpu_available() -> bool {
    static INFO: OnceLock<Result<(), String>> = OnceLock::new();
    let found = INFO.get_or_init(|| {
        let v = json_of(&davinci(&["info", "--json"]));
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
            eprintln!("SKIP {test} (GPU part; runs on the CPU only): no GPU adapter ({why})");
            false
        }
    }
}

/// `both` where the binary finds a GPU, else `cpu` (after saying so).
fn both_or_cpu() -> &'static str {
    if gpu_available() { "both" } else { "cpu" }
}

/// A fresh, empty directory for one test's files; removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("davinci-cli-vector-{}-{name}", std::process::id()));
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

fn read_out(path: &Path) -> Tensor {
    TensorFile::open(path)
        .and_then(|f| f.tensor("out"))
        .expect("output file holds tensor 'out'")
}

/// An f32 tensor of smooth, signed, non-repeating values.
fn f32_tensor(shape: &[usize], seed: f32, scale: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_f32(
        davinci::Shape::new(shape),
        (0..n)
            .map(|i| ((i as f32 + seed) * 0.731).sin() * scale)
            .collect(),
    )
    .expect("tensor")
}

/// The library's result for one op on the CPU twin: the expected value of the CLI's `out`.
fn library(
    inputs: &[&Tensor],
    record: impl FnOnce(&mut Program, &[TensorId]) -> davinci::Result<TensorId>,
) -> Tensor {
    let mut p = Program::new();
    let ids: Vec<TensorId> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| p.input(format!("in{i}"), t.shape().clone(), t.dtype()))
        .collect();
    let out = record(&mut p, &ids).expect("library records the op");
    p.output(out).expect("output");
    CpuExecutor.run(&p, inputs).expect("library runs").remove(0)
}

/// One `davinci op` run: writes `tensors` to an input file, runs `op` with `extra` flags and `--json`,
/// requires success, the report's op, kernel, output shape and dtype, `bit_exact` for `--executor both`,
/// and an `out` tensor bit-identical to `want`. Returns the report.
fn run_and_compare(
    dir: &TempDir,
    op: &str,
    kernel: &str,
    tensors: &[(&str, &Tensor)],
    extra: &[&str],
    executor: &str,
    want: &Tensor,
) -> Value {
    let (input, output) = (
        dir.path(&format!("{op}-in.safetensors")),
        dir.path(&format!("{op}-out.safetensors")),
    );
    save(&input, tensors, None).expect("write inputs");
    let mut args = vec![
        "op",
        op,
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--executor",
        executor,
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = davinci(&args);
    ok(&o);
    let v = json_of(&o);
    assert_eq!(v["op"], op, "{v}");
    assert_eq!(v["kernel"], kernel, "{v}");
    assert_eq!(
        v["output"]["shape"],
        json!(want.shape().dims()),
        "{op}: {v}"
    );
    assert_eq!(v["output"]["dtype"], want.dtype().name(), "{op}: {v}");
    if executor == "both" {
        assert_eq!(v["bit_exact"], true, "{op}: GPU and CPU differ: {v}");
        assert_eq!(v["output"]["written_from"], "gpu", "{v}");
        let names: Vec<&str> = v["executors"]
            .as_array()
            .expect("executors")
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(names, ["gpu", "cpu"], "{v}");
    }
    let got = read_out(&output);
    assert_eq!(got.shape(), want.shape(), "{op}: out shape");
    assert_eq!(got.dtype(), want.dtype(), "{op}: out dtype");
    assert!(
        got.bit_eq(want),
        "{op}: the written out tensor differs from the library's CPU result"
    );
    v
}

#[test]
fn op_vector_ops_both_executors_match_the_library() {
    let dir = TempDir::new("ops");
    let executor = both_or_cpu();
    let x = f32_tensor(&[6, 40], 1.0, 3.0);
    let xb = gen_bf16(7, [6, 40], 2.0);
    let y = f32_tensor(&[40], 5.0, 1.5); // broadcast over x's rows

    let want = library(&[&x, &y], |p, id| {
        p.binary(BinaryFn::Add, id[0], id[1], DType::F32)
    });
    run_and_compare(
        &dir,
        "add",
        "vector_binary",
        &[("x", &x), ("y", &y)],
        &[],
        executor,
        &want,
    );

    let want = library(&[&xb, &y], |p, id| {
        p.binary(BinaryFn::Div, id[0], id[1], DType::F32)
    });
    run_and_compare(
        &dir,
        "div",
        "vector_binary",
        &[("x", &xb), ("y", &y)],
        &[],
        executor,
        &want,
    );

    let want = library(&[&xb], |p, id| p.unary(UnaryFn::Gelu, id[0], DType::F32));
    run_and_compare(
        &dir,
        "gelu",
        "vector_unary",
        &[("x", &xb)],
        &[],
        executor,
        &want,
    );

    let want = library(&[&x], |p, id| p.unary(UnaryFn::Exp, id[0], DType::F32));
    run_and_compare(
        &dir,
        "exp",
        "vector_unary",
        &[("x", &x)],
        &[],
        executor,
        &want,
    );

    let want = library(&[&x], |p, id| p.reduce(ReduceFn::Sum, id[0], DType::F32));
    assert_eq!(want.shape().dims(), &[6]);
    run_and_compare(
        &dir,
        "sum",
        "vector_reduce",
        &[("x", &x)],
        &[],
        executor,
        &want,
    );

    let g = gen_bf16(8, [40], 1.0);
    let want = library(&[&xb, &g], |p, id| {
        p.rmsnorm(id[0], Some(id[1]), 1e-6, DType::F32)
    });
    run_and_compare(
        &dir,
        "rmsnorm",
        "vector_rmsnorm",
        &[("x", &xb), ("gamma", &g)],
        &[],
        executor,
        &want,
    );
}

/// softmax without and with a mask; layernorm without gamma/beta, with both, and with --eps.
#[test]
fn op_optional_inputs_absent_and_present() {
    let dir = TempDir::new("optional");
    let executor = both_or_cpu();
    let x = f32_tensor(&[4, 33], 2.0, 4.0);
    // A causal-style additive mask [4, 33]: -inf beyond column 8 + 4 row.
    let mask = Tensor::from_f32(
        [4, 33],
        (0..4 * 33)
            .map(|i| {
                if i % 33 > 8 + 4 * (i / 33) {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect(),
    )
    .unwrap();

    let plain = library(&[&x], |p, id| p.softmax(id[0], None, DType::F32));
    let v = run_and_compare(
        &dir,
        "softmax",
        "vector_softmax",
        &[("x", &x)],
        &[],
        executor,
        &plain,
    );
    let inputs: Vec<&str> = v["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["input"].as_str())
        .collect();
    assert_eq!(
        inputs,
        ["x"],
        "no mask in the file, none in the report: {v}"
    );

    let masked = library(&[&x, &mask], |p, id| {
        p.softmax(id[0], Some(id[1]), DType::F32)
    });
    assert!(!masked.bit_eq(&plain), "the mask changes the result");
    let m = masked.as_f32().unwrap();
    assert_eq!(m[9], 0.0, "a masked-out column is exactly 0");
    let v = run_and_compare(
        &dir,
        "softmax",
        "vector_softmax",
        &[("x", &x), ("mask", &mask)],
        &[],
        executor,
        &masked,
    );
    assert_eq!(v["inputs"].as_array().map(|a| a.len()), Some(2), "{v}");

    // layernorm: defaults to eps 1e-5 without gamma and beta.
    let bare = library(&[&x], |p, id| {
        p.layernorm(id[0], None, None, 1e-5, DType::F32)
    });
    let v = run_and_compare(
        &dir,
        "layernorm",
        "vector_layernorm",
        &[("x", &x)],
        &[],
        executor,
        &bare,
    );
    assert_eq!(v["eps"].as_f64(), Some(1e-5f32 as f64), "{v}");

    let g = gen_bf16(11, [33], 1.0);
    let b = f32_tensor(&[33], 9.0, 0.5);
    let affine = library(&[&x, &g, &b], |p, id| {
        p.layernorm(id[0], Some(id[1]), Some(id[2]), 1e-3, DType::F32)
    });
    assert!(!affine.bit_eq(&bare));
    let v = run_and_compare(
        &dir,
        "layernorm",
        "vector_layernorm",
        &[("x", &x), ("gamma", &g), ("beta", &b)],
        &["--eps", "1e-3"],
        executor,
        &affine,
    );
    assert_eq!(v["eps"].as_f64(), Some(1e-3f32 as f64), "{v}");
}

#[test]
fn op_dtype_out_bf16() {
    let dir = TempDir::new("bf16");
    let executor = both_or_cpu();
    let x = f32_tensor(&[3, 50], 4.0, 2.0);
    for (op, kernel, record) in [
        (
            "softmax",
            "vector_softmax",
            (|p: &mut Program, id: &[TensorId]| p.softmax(id[0], None, DType::Bf16))
                as fn(&mut Program, &[TensorId]) -> davinci::Result<TensorId>,
        ),
        ("silu", "vector_unary", |p, id| {
            p.unary(UnaryFn::Silu, id[0], DType::Bf16)
        }),
        ("mean", "vector_reduce", |p, id| {
            p.reduce(ReduceFn::Mean, id[0], DType::Bf16)
        }),
        ("cast", "cast", |p, id| p.cast(id[0], DType::Bf16)),
    ] {
        let want = library(&[&x], record);
        assert_eq!(want.dtype(), DType::Bf16);
        let v = run_and_compare(
            &dir,
            op,
            kernel,
            &[("x", &x)],
            &["--dtype-out", "bf16"],
            executor,
            &want,
        );
        assert_eq!(v["dtype_out"], "bf16", "{v}");
    }
}

#[test]
fn op_matmul_gelu_epilogue_with_bias() {
    let dir = TempDir::new("matmul");
    let executor = both_or_cpu();
    let a = gen_bf16(21, [9, 48], 1.0);
    let b = gen_bf16(22, [48, 20], 1.0);
    let bias = f32_tensor(&[20], 3.0, 0.7);
    let want = library(&[&a, &b, &bias], |p, id| {
        p.cube_matmul_fused(
            id[0],
            id[1],
            MatmulOptions::default(),
            Epilogue {
                scale: Some(-0.5),
                bias: Some(id[2]),
                activation: Activation::Gelu,
                ..Epilogue::default()
            },
        )
    });
    let plain = library(&[&a, &b], |p, id| {
        p.cube_matmul(id[0], id[1], MatmulOptions::default())
    });
    assert!(!want.bit_eq(&plain), "the epilogue changes the result");
    let v = run_and_compare(
        &dir,
        "matmul",
        "cube_matmul",
        &[("a", &a), ("b", &b), ("bias", &bias)],
        &["--activation", "gelu", "--scale", "-0.5"],
        executor,
        &want,
    );
    assert_eq!(v["activation"], "gelu", "{v}");
    assert_eq!(v["scale"].as_f64(), Some(-0.5), "{v}");
    assert_eq!(v["op"], "matmul");
}

/// Writes `tensors` and runs `op` on the CPU with `extra` flags.
fn run_cpu(dir: &TempDir, op: &str, tensors: &[(&str, &Tensor)], extra: &[&str]) -> Output {
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    save(&input, tensors, None).expect("write inputs");
    let mut args = vec![
        "op",
        op,
        "--in",
        s(&input),
        "--out",
        s(&output),
        "--executor",
        "cpu",
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = davinci(&args);
    if !o.status.success() {
        assert!(
            !output.exists(),
            "{op}: a failed run leaves no output file behind"
        );
    }
    o
}

#[test]
fn op_negative_eps_is_refused() {
    let dir = TempDir::new("eps");
    let x = f32_tensor(&[2, 8], 1.0, 1.0);
    // Both spellings reach the library's check (`--eps -1e-5` must not be read as a flag).
    for op in ["layernorm", "rmsnorm"] {
        for flags in [&["--eps=-1e-5"][..], &["--eps", "-1e-5"][..]] {
            let o = run_cpu(&dir, op, &[("x", &x)], flags);
            fails_with(&o, 1, &[op, "eps", ">= 0", "-0.00001"]);
        }
    }
}

#[test]
fn op_gamma_of_the_wrong_length_names_gamma() {
    let dir = TempDir::new("gamma");
    let x = f32_tensor(&[2, 8], 1.0, 1.0);
    let g = f32_tensor(&[7], 2.0, 1.0);
    for op in ["layernorm", "rmsnorm"] {
        let o = run_cpu(&dir, op, &[("x", &x), ("gamma", &g)], &[]);
        fails_with(&o, 1, &[op, "gamma", "[8]", "[7]"]);
    }
    let b = f32_tensor(&[2, 8], 2.0, 1.0);
    let o = run_cpu(&dir, "layernorm", &[("x", &x), ("beta", &b)], &[]);
    fails_with(&o, 1, &["layernorm", "beta", "[8]"]);
}

#[test]
fn op_mask_that_does_not_broadcast_names_mask() {
    let dir = TempDir::new("mask");
    let x = f32_tensor(&[4, 8], 1.0, 1.0);
    for bad in [&[5usize][..], &[3, 8][..], &[2, 4, 8][..]] {
        let mask = f32_tensor(bad, 0.0, 1.0);
        let o = run_cpu(&dir, "softmax", &[("x", &x), ("mask", &mask)], &[]);
        fails_with(&o, 1, &["softmax", "mask", "broadcast"]);
    }
}

#[test]
fn op_reduction_over_an_empty_axis_is_an_error() {
    let dir = TempDir::new("empty");
    let x = Tensor::from_f32([3, 0], Vec::new()).unwrap();
    for op in ["sum", "amax", "softmax", "layernorm"] {
        let o = run_cpu(&dir, op, &[("x", &x)], &[]);
        fails_with(&o, 1, &[op, "empty"]);
    }
}

#[test]
fn op_eps_on_an_op_without_one_is_a_usage_error() {
    let dir = TempDir::new("eps-usage");
    let x = f32_tensor(&[2, 8], 1.0, 1.0);
    for op in ["softmax", "exp", "sum"] {
        let o = run_cpu(&dir, op, &[("x", &x)], &["--eps", "1e-5"]);
        fails_with(&o, 2, &["--eps", "layernorm"]);
    }
}
