//! `davinci op` for the Vector unit's ops, run as a user would: inputs written to a safetensors file, the
//! binary run, its JSON report parsed, and the written `out` tensor compared bit for bit with the library's
//! CPU result for the same op. Optional inputs absent and present, `--dtype-out bf16` and the fused matmul
//! epilogue; the errors for the mistakes users make are in `tests/cli_vector_errors.rs`. GPU runs use
//! `--executor both` when the binary finds an adapter, and skip with a reason otherwise (unless
//! `DAVINCI_REQUIRE_GPU=1`).

use crate::cli_common;
use crate::common;
use cli_common::{TempDir, both_or_cpu, f32_tensor, json_of, ok, read_out, run_op, write};
use davinci::tensor::random::gen_bf16;
use davinci::{
    Activation, BinaryFn, CpuExecutor, DType, Epilogue, Executor, MatmulOptions, Program, ReduceFn,
    Tensor, TensorId, UnaryFn,
};
use serde_json::{Value, json};

/// The library's result for one op on the CPU twin: the expected value of the CLI's `out`.
fn library(
    inputs: &[&Tensor],
    record: impl FnOnce(&mut Program, &[TensorId]) -> davinci::Result<TensorId>,
) -> Tensor {
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, inputs);
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
    write(&input, tensors);
    let mut flags = vec!["--executor", executor, "--json"];
    flags.extend_from_slice(extra);
    let o = run_op(op, &input, &output, &flags);
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
