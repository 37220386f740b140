//! Bad input to the Vector unit gets a clear error at recording, never a panic and never a wrong answer: a
//! mask that does not broadcast, gamma or beta of the wrong length, eps < 0 or NaN, an empty or missing
//! axis, operands that do not broadcast, and epilogue operands of the wrong shape. Empty tensors on
//! elementwise ops give empty results on every executor.

use crate::common;
use davinci::program::Epilogue;
use davinci::{
    Activation, BinaryFn, DType, Error, MatmulOptions, Program, ReduceFn, Shape, Tensor, TensorId,
    UnaryFn,
};

fn input(p: &mut Program, name: &str, shape: &[usize]) -> TensorId {
    p.input(name, Shape::new(shape.to_vec()), DType::F32)
}

fn assert_msg(e: Error, parts: &[&str]) {
    let msg = e.to_string();
    for part in parts {
        assert!(msg.contains(part), "error {msg:?} should mention {part:?}");
    }
}

#[test]
fn a_mask_that_does_not_broadcast_is_refused() {
    let mut p = Program::new();
    let x = input(&mut p, "x", &[4, 8]);
    let m = input(&mut p, "m", &[8, 8]);
    assert_msg(
        p.softmax(x, Some(m), DType::F32).unwrap_err(),
        &["softmax", "mask", "[8, 8]", "[4, 8]"],
    );
    let m = input(&mut p, "m2", &[5]);
    assert_msg(
        p.softmax(x, Some(m), DType::F32).unwrap_err(),
        &["softmax", "mask", "[5]"],
    );
}

#[test]
fn gamma_and_beta_of_the_wrong_length_are_refused() {
    let mut p = Program::new();
    let x = input(&mut p, "x", &[2, 16]);
    let g = input(&mut p, "g", &[15]);
    let b = input(&mut p, "b", &[2, 16]);
    assert_msg(
        p.layernorm(x, Some(g), None, 1e-5, DType::F32).unwrap_err(),
        &["layernorm", "gamma", "[16]", "[15]"],
    );
    assert_msg(
        p.layernorm(x, None, Some(b), 1e-5, DType::F32).unwrap_err(),
        &["layernorm", "beta", "[2, 16]"],
    );
    assert_msg(
        p.rmsnorm(x, Some(g), 1e-6, DType::F32).unwrap_err(),
        &["rmsnorm", "gamma", "[15]"],
    );
}

#[test]
fn negative_or_nan_eps_is_refused() {
    let mut p = Program::new();
    let x = input(&mut p, "x", &[2, 16]);
    for eps in [-1e-5, f32::NAN, f32::INFINITY] {
        assert_msg(
            p.layernorm(x, None, None, eps, DType::F32).unwrap_err(),
            &["layernorm", "eps"],
        );
        assert_msg(
            p.rmsnorm(x, None, eps, DType::F32).unwrap_err(),
            &["rmsnorm", "eps"],
        );
    }
}

#[test]
fn an_empty_or_missing_axis_is_refused() {
    let mut p = Program::new();
    let empty = input(&mut p, "x", &[3, 0]);
    let scalar = input(&mut p, "s", &[]);
    for x in [empty, scalar] {
        assert_msg(
            p.reduce(ReduceFn::Sum, x, DType::F32).unwrap_err(),
            &["sum", "x"],
        );
        assert_msg(p.softmax(x, None, DType::F32).unwrap_err(), &["softmax"]);
        assert_msg(
            p.layernorm(x, None, None, 1e-5, DType::F32).unwrap_err(),
            &["layernorm"],
        );
        assert_msg(
            p.rmsnorm(x, None, 1e-6, DType::F32).unwrap_err(),
            &["rmsnorm"],
        );
    }
    assert_msg(
        p.reduce(ReduceFn::Mean, empty, DType::F32).unwrap_err(),
        &["empty"],
    );
}

#[test]
fn operands_that_do_not_broadcast_are_refused() {
    let mut p = Program::new();
    let x = input(&mut p, "x", &[4, 8]);
    let y = input(&mut p, "y", &[3, 8]);
    assert_msg(
        p.binary(BinaryFn::Add, x, y, DType::F32).unwrap_err(),
        &["add", "[4, 8]", "[3, 8]"],
    );
}

#[test]
fn epilogue_operands_of_the_wrong_shape_are_refused() {
    let mut p = Program::new();
    let a = p.input("a", [4, 16], DType::Bf16);
    let w = p.input("w", [8, 16], DType::Bf16);
    let bad_bias = input(&mut p, "bias", &[4]);
    let bad_res = input(&mut p, "res", &[8, 4]);
    let e = p.linear(
        a,
        w,
        Some(bad_bias),
        Activation::Relu,
        MatmulOptions::default(),
    );
    assert_msg(e.unwrap_err(), &["cube_matmul", "bias", "[8]", "[4]"]);
    let e = Epilogue {
        residual: Some(bad_res),
        ..Epilogue::default()
    };
    let opts = MatmulOptions {
        trans_b: true,
        ..MatmulOptions::default()
    };
    assert_msg(
        p.cube_matmul_fused(a, w, opts, e).unwrap_err(),
        &["cube_matmul", "residual", "[4, 8]"],
    );
    let e = Epilogue {
        scale: Some(f32::NAN),
        ..Epilogue::default()
    };
    assert_msg(p.cube_matmul_fused(a, w, opts, e).unwrap_err(), &["scale"]);
}

#[test]
fn empty_tensors_give_empty_results_on_every_executor() {
    for exec in common::executors() {
        let x = Tensor::from_f32([0, 5], vec![]).unwrap();
        let mut p = Program::new();
        let ix = p.input("x", x.shape().clone(), DType::F32);
        let u = p.unary(UnaryFn::Exp, ix, DType::Bf16).unwrap();
        let s = p.softmax(ix, None, DType::F32).unwrap();
        let r = p.reduce(ReduceFn::Sum, ix, DType::F32).unwrap();
        for id in [u, s, r] {
            p.output(id).unwrap();
        }
        let out = exec
            .run(&p, &[&x])
            .unwrap_or_else(|e| panic!("{}: {e}", exec.name()));
        assert_eq!(out[0].shape().dims(), &[0, 5]);
        assert_eq!(out[0].dtype(), DType::Bf16);
        assert_eq!(out[1].numel(), 0);
        assert_eq!(out[2].shape().dims(), &[0]);
    }
}
