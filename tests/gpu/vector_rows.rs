//! The row kernels (softmax, layernorm, rmsnorm, the reductions) against the CPU twin, bit for bit, at row
//! lengths of every residue modulo 4 on both sides of the 256 lanes: an invocation takes four neighbouring
//! elements at a time (`shaders/shared/row_tree.wgsl`), in whole words where rows are a multiple of 4
//! long and element by element, with the row's tail left out of the folds and the stores, where not.

use super::vector_wide::{DTYPES, check};
use crate::common;
use davinci::tensor::random::{gen_bf16, splitmix64};
use davinci::{DType, ReduceFn, Shape, Tensor};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Ordinary values of `shape` (a random bf16 grid: random bits would mostly be huge or NaN, saturate
/// every sum and hide a lane folded twice or left out), one in 50 of them special.
pub(crate) fn values(seed: u64, shape: &[usize], dtype: DType) -> Tensor {
    let mut v = gen_bf16(seed, Shape::new(shape.to_vec()), 3.0).to_f32_vec();
    for (i, x) in v.iter_mut().enumerate() {
        if splitmix64(seed, i as u64) % 50 == 0 {
            *x = [f32::NAN, f32::INFINITY, -0.0, 1e-40][i % 4];
        }
    }
    let t = Tensor::from_f32(Shape::new(shape.to_vec()), v).expect("shape");
    if dtype == DType::Bf16 { t.to_bf16() } else { t }
}

#[test]
fn property_every_row_length_and_format_matches_the_twin() {
    let Some(gpu) = common::gpu() else { return };
    let config = Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    };
    // Lengths up to 600 (past two rounds of the 256 lanes), 1 to 4 rows (rows of a length that is not
    // a multiple of 4 start inside a word), the formats of x and the result, optional inputs on or off.
    let strategy = (1usize..600, 1usize..5, 0usize..8, any::<u64>());
    TestRunner::new(config)
        .run(&strategy, |(len, rows, choice, seed)| {
            let (dx, dout) = (DTYPES[choice & 1], DTYPES[(choice >> 1) & 1]);
            let x = values(seed, &[rows, len], dx);
            let (gamma, beta) = (values(seed ^ 1, &[len], dout), values(seed ^ 2, &[len], dx));
            let with_inputs = choice & 4 != 0;
            let shape = format!("[{rows}, {len}] {dx}->{dout}, optional inputs {with_inputs}");
            check(
                &gpu,
                &format!("softmax {shape}"),
                &[&x, &gamma],
                |p, ids| {
                    let mask = with_inputs.then_some(ids[1]);
                    p.softmax(ids[0], mask, dout).expect("record")
                },
            )
            .map_err(TestCaseError::fail)?;
            check(
                &gpu,
                &format!("layernorm {shape}"),
                &[&x, &gamma, &beta],
                |p, ids| {
                    let (g, b) = (with_inputs.then_some(ids[1]), with_inputs.then_some(ids[2]));
                    p.layernorm(ids[0], g, b, 1e-5, dout).expect("record")
                },
            )
            .map_err(TestCaseError::fail)?;
            check(
                &gpu,
                &format!("rmsnorm {shape}"),
                &[&x, &gamma],
                |p, ids| {
                    let g = with_inputs.then_some(ids[1]);
                    p.rmsnorm(ids[0], g, 1e-6, dout).expect("record")
                },
            )
            .map_err(TestCaseError::fail)?;
            for f in ReduceFn::ALL {
                check(&gpu, &format!("{} {shape}", f.name()), &[&x], |p, ids| {
                    p.reduce(f, ids[0], dout).expect("record")
                })
                .map_err(TestCaseError::fail)?;
            }
            Ok(())
        })
        .unwrap();
}
