//! `davinci op`, run as a user would, given the mistakes users make: for `op matmul` a missing tensor, a
//! corrupt or unwritable file, mismatched shapes and a bad `--map`; for the Vector ops a bad --eps, a wrong
//! gamma or beta, a mask that does not broadcast, an empty axis and --eps on an op without one. Each with
//! its exit code, the words the message must hold, nothing on stdout and no output file left behind. All
//! run on the CPU: the checks happen before an op reaches any executor.

use crate::cli_common;
use std::path::Path;
use std::process::Output;

use cli_common::{TempDir, f32_tensor, fails_with, run_op, stderr, stdout, write};
use davinci::Tensor;
use davinci::tensor::random::gen_bf16;

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
    let o = run_op("matmul", &input, &output, &["--executor", "cpu", "--json"]);
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
    let o = run_op("matmul", &input, &output, &["--executor", "cpu"]);
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
    let o = run_op(
        "matmul",
        Path::new("/nonexistent-dir/in.safetensors"),
        Path::new("/nonexistent-dir/x.safetensors"),
        &["--executor", "cpu"],
    );
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
    let o = run_op("matmul", &input, &output, &["--executor", "cpu"]);
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
    let syntax = run_op("matmul", &input, &output, &["--map", "ax"]);
    assert_eq!(syntax.status.code(), Some(2));
    assert!(
        stderr(&syntax).contains("INPUT=TENSOR"),
        "{}",
        stderr(&syntax)
    );
    let unknown = run_op("matmul", &input, &output, &["--map", "c=x"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("a, b"), "{}", stderr(&unknown));
}

/// Writes `tensors` and runs `op` on the CPU with `extra` flags.
fn run_cpu(dir: &TempDir, op: &str, tensors: &[(&str, &Tensor)], extra: &[&str]) -> Output {
    let (input, output) = (dir.path("in.safetensors"), dir.path("out.safetensors"));
    write(&input, tensors);
    let mut flags = vec!["--executor", "cpu", "--json"];
    flags.extend_from_slice(extra);
    let o = run_op(op, &input, &output, &flags);
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
