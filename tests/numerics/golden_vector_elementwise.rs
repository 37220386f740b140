//! Elementwise Vector-unit ops against third-party results (`tests/golden/vector`), on every executor
//! (the GPU when one opens, and the CPU twin), through the public `Program` API.
//!
//! - binary: bf16 + - * / max of bf16 operands, bit-exact to `*_ref_bf16` (and the f32 outputs to
//!   `*_ref_f32`): computing in f32 and rounding once is correctly rounded for these ops (golden README).
//! - unary: all 65,536 bf16 inputs, within one bf16 ulp of the correctly rounded `ref_bf16` where
//!   |ref| >= 1e-6, an absolute 2^-27 below that; NaN, ±inf and signed zeros exact.
//! - every file in the folder is used by this file or `golden_vector_rows.rs`
//!   ([`every_vector_golden_is_used`]).
//!
//! Shared helpers and the list of goldens are in `golden_vector_common/mod.rs`.

use crate::common;
use crate::golden_vector_common;
use davinci::{BinaryFn, DType, UnaryFn};
use golden_vector_common::{
    Failures, Golden, bf16_bits, bf16_steps, bf16_value, f32_of, is_inf_bf16, is_nan_bf16, run_op,
};

// ---------------------------------------------------------------------------------------------------------
// binary

/// Bit-exact, bf16 and f32 outputs: for + - * / of bf16 operands the f32 result rounded once is the
/// correctly rounded one (precision 24 >= 2*8 + 2), division is correctly rounded by construction, max is
/// exact; NaN compared with is_nan. On a GPU that flushes subnormals (the start-up probe says so) rows with
/// a subnormal operand or result are left out, as the numerics contract allows.
#[test]
fn binary_ops_are_bit_exact() {
    let golden = Golden::open("binary_add_sub_mul_div_max");
    let get = |n: &str| golden.get(n);
    let (a, b) = (get("a"), get("b"));
    let (av, bv) = (a.to_f32_vec(), b.to_f32_vec());
    let subnormal = |x: f32| x != 0.0 && x.abs() < f32::MIN_POSITIVE;
    let flushes = common::gpu().is_some_and(|g| !g.context().probe().ieee_subnormals());
    let mut fails = Failures::default();
    for exec in common::executors() {
        let exec = exec.as_ref();
        let skip_subnormal = exec.name() == "gpu" && flushes;
        if skip_subnormal {
            eprintln!(
                "binary: the GPU flushes subnormals; rows with subnormals are not compared on it"
            );
        }
        for (op, name) in [
            (BinaryFn::Add, "add"),
            (BinaryFn::Sub, "sub"),
            (BinaryFn::Mul, "mul"),
            (BinaryFn::Div, "div"),
            (BinaryFn::Max, "max"),
        ] {
            let want16 = bf16_bits(&get(&format!("{name}_ref_bf16")));
            let want32 = f32_of(&get(&format!("{name}_ref_f32")));
            for dtype in [DType::Bf16, DType::F32] {
                let got = run_op(exec, &[&a, &b], |p, id| p.binary(op, id[0], id[1], dtype));
                assert_eq!(got.shape(), a.shape());
                let got_bits = got.bits();
                let (mut bad, mut compared) = (0usize, 0usize);
                for i in 0..got_bits.len() {
                    let (g, w, w_val) = match dtype {
                        DType::Bf16 => (
                            f32::from_bits(got_bits[i] << 16),
                            f32::from_bits((want16[i] as u32) << 16),
                            want32[i],
                        ),
                        DType::F32 => (f32::from_bits(got_bits[i]), want32[i], want32[i]),
                        other => panic!("a binary op gave a {other} result"),
                    };
                    if skip_subnormal && (subnormal(av[i]) || subnormal(bv[i]) || subnormal(w_val))
                    {
                        continue;
                    }
                    compared += 1;
                    let ok = if w.is_nan() || g.is_nan() {
                        w.is_nan() && g.is_nan()
                    } else {
                        g.to_bits() == w.to_bits()
                    };
                    if !ok {
                        bad += 1;
                        if bad <= 4 {
                            fails.add(format!(
                                "{} {name} {dtype}: [{i}] {:e} op {:e} = {g:e} ({:#x}), want {w:e} ({:#x})",
                                exec.name(),
                                av[i],
                                bv[i],
                                g.to_bits(),
                                w.to_bits()
                            ));
                        }
                    }
                }
                eprintln!(
                    "{} {name} {dtype}: {} of {compared} bit-exact",
                    exec.name(),
                    compared - bad
                );
            }
        }
    }
    fails.assert_none();
}

// ---------------------------------------------------------------------------------------------------------
// unary

/// Below this |ref| the comparison is absolute (the golden README's threshold).
const UNARY_REL_FLOOR: f64 = 1e-6;
/// The absolute tolerance below [`UNARY_REL_FLOOR`]: 2^-27, one bf16 ulp at 1e-6 (which lies in
/// [2^-20, 2^-19)), so the tolerance does not jump at the threshold: a result below 1e-6 may be off by as
/// much as one just above it may. Results this small are noise next to any O(1) value they meet in a
/// model, and there the reference libraries themselves differ (torch flushes tiny sigmoid/silu results to
/// 0 and loses accuracy of gelu for x < -4.5), so relative accuracy is not asked; the sign must still be
/// right.
const UNARY_ATOL: f64 = f64::from_bits((1023 - 27) << 52);

/// All 65,536 bf16 inputs of each unary golden, bf16 out. NaN where and only where the reference is NaN;
/// ±inf and signed zeros bit-exact where the reference has them (and a result of ±inf only where the
/// reference is that infinity); elsewhere within one bf16 step of `ref_bf16` where |ref_f32| >= 1e-6, and
/// within [`UNARY_ATOL`] of `ref_f32`, with the same sign, below.
#[test]
fn unary_all_bf16_inputs_within_one_ulp() {
    let cases = [
        ("exp", UnaryFn::Exp),
        ("log", UnaryFn::Log),
        ("sqrt", UnaryFn::Sqrt),
        ("rsqrt", UnaryFn::Rsqrt),
        ("recip", UnaryFn::Recip),
        ("tanh", UnaryFn::Tanh),
        ("sigmoid", UnaryFn::Sigmoid),
        ("silu", UnaryFn::Silu),
        ("gelu_erf", UnaryFn::Gelu),
    ];
    let mut fails = Failures::default();
    let execs = common::executors();
    for (name, f) in cases {
        let golden = Golden::open(&format!("unary_{name}_all_bf16"));
        let get = |n: &str| golden.get(n);
        let x = get("x");
        let xb = bf16_bits(&x);
        assert!(
            xb.iter().enumerate().all(|(i, &b)| b as usize == i),
            "{}: x is not every bf16 pattern in order",
            golden.rel
        );
        let want = bf16_bits(&get("ref_bf16"));
        let want32 = f32_of(&get("ref_f32"));
        for exec in &execs {
            let got = bf16_bits(&run_op(exec.as_ref(), &[&x], |p, id| {
                p.unary(f, id[0], DType::Bf16)
            }));
            let (mut exact, mut tiny, mut bad) = (0usize, 0usize, 0usize);
            for i in 0..got.len() {
                let (g, w, w32) = (got[i], want[i], want32[i] as f64);
                let ok = if is_nan_bf16(g) || is_nan_bf16(w) {
                    is_nan_bf16(g) && is_nan_bf16(w)
                } else if is_inf_bf16(g) || is_inf_bf16(w) || w32 == 0.0 {
                    // An infinity, or a zero that is zero in the f32 reference too (f(±0), f(-inf), or
                    // an f32 underflow): bit for bit, sign included.
                    g == w
                } else if w32.abs() >= UNARY_REL_FLOOR {
                    bf16_steps(g, w) <= 1
                } else {
                    tiny += 1;
                    (g & 0x8000) == (w & 0x8000) && (bf16_value(g) - w32).abs() <= UNARY_ATOL
                };
                exact += (g == w || (is_nan_bf16(g) && is_nan_bf16(w))) as usize;
                if !ok {
                    bad += 1;
                    if bad <= 5 {
                        fails.add(format!(
                            "{} {name}({:e} = {:#06x}) = {:e} ({g:#06x}), ref_bf16 {:e} ({w:#06x}), ref_f32 {w32:e}",
                            exec.name(),
                            bf16_value(xb[i]),
                            xb[i],
                            bf16_value(g),
                            bf16_value(w)
                        ));
                    }
                }
            }
            if bad > 5 {
                fails.add(format!("{} {name}: {bad} inputs wrong in all", exec.name()));
            }
            eprintln!(
                "{} {name}: {exact} of {} bit-exact with ref_bf16 ({tiny} below |ref| 1e-6 checked absolutely)",
                exec.name(),
                got.len()
            );
        }
    }
    fails.assert_none();
}

// ---------------------------------------------------------------------------------------------------------

/// Every file in `tests/golden/vector` is one the golden_vector tests use (the list, with the test file
/// for each, is `golden_vector_common::USED`): a new golden cannot go untested. Checked here only, once.
#[test]
fn every_vector_golden_is_used() {
    golden_vector_common::assert_every_golden_used();
}
