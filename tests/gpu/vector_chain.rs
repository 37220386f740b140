//! Fused elementwise chains (`src/exec/gpu/chain.rs`, `shaders/vector_chain.wgsl`): ops that a program
//! records back to back run as one dispatch, and give the bits the CPU twin gives running them one by one.
//! Random chains of every function the chain kernel applies, either operand order, broadcast side
//! operands (rows, columns, scalars) and f32 or bf16 at every step; and what the planner must not fuse.

use super::vector_rows::values;
use super::vector_wide::{DTYPES, check};
use crate::common;
use davinci::{BinaryFn, DType, GpuExecutor, Program, Tensor, TensorId, UnaryFn};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// One link of a random chain: its function, which side t is on, the side operand's shape and dtypes.
#[derive(Clone, Debug)]
struct Step {
    unary: Option<UnaryFn>,
    binary: BinaryFn,
    t_left: bool,
    side: usize,
    side_dtype: DType,
    out: DType,
}

/// The functions the GPU's chain kernel applies (`kernels::vector_chain::takes`); chains of the others
/// run op by op there, and the CPU's chains of every function are tested in `exec::cpu_chain`.
const CHEAP_UNARY: [UnaryFn; 4] = [UnaryFn::Neg, UnaryFn::Abs, UnaryFn::Exp, UnaryFn::Relu];
const CHEAP_BINARY: [BinaryFn; 6] = [
    BinaryFn::Add,
    BinaryFn::Sub,
    BinaryFn::Mul,
    BinaryFn::Max,
    BinaryFn::Min,
    BinaryFn::ReluGrad,
];

/// The GPU executor, fusing chains of any size.
fn fusing_gpu() -> Option<GpuExecutor> {
    common::gpu().map(|g| g.with_fusion_min_elements(0))
}

fn step(bits: u64) -> Step {
    let unary = (bits & 1 == 0).then(|| CHEAP_UNARY[(bits >> 1) as usize % CHEAP_UNARY.len()]);
    Step {
        unary,
        binary: CHEAP_BINARY[(bits >> 8) as usize % CHEAP_BINARY.len()],
        t_left: bits & (1 << 16) != 0,
        side: (bits >> 17) as usize % 5,
        side_dtype: DTYPES[((bits >> 20) & 1) as usize],
        out: DTYPES[((bits >> 21) & 1) as usize],
    }
}

/// A side operand's shape against a [rows, cols] chain: the same, a row, a column, one element, a scalar.
fn side_shape(kind: usize, rows: usize, cols: usize) -> Vec<usize> {
    [
        vec![rows, cols],
        vec![cols],
        vec![rows, 1],
        vec![1, 1],
        vec![],
    ][kind]
        .clone()
}

/// Records the chain over `x` (input 0); side operand k is input k + 1.
fn record(p: &mut Program, ids: &[TensorId], steps: &[Step]) -> TensorId {
    let mut t = ids[0];
    for (k, s) in steps.iter().enumerate() {
        t = match s.unary {
            Some(f) => p.unary(f, t, s.out).expect("record"),
            None if s.t_left => p.binary(s.binary, t, ids[k + 1], s.out).expect("record"),
            None => p.binary(s.binary, ids[k + 1], t, s.out).expect("record"),
        };
    }
    t
}

#[test]
fn property_random_chains_match_the_twin_and_are_fused() {
    let Some(gpu) = fusing_gpu() else { return };
    let config = Config {
        cases: 64,
        // Each case builds its own pipeline (seconds on lavapipe): shrink a failure only so far.
        max_shrink_iters: 24,
        failure_persistence: None,
        ..Config::default()
    };
    let strategy = (
        1usize..6,
        1usize..70,
        prop::collection::vec(any::<u64>(), 2..7),
        any::<u64>(),
    );
    TestRunner::new(config)
        .run(&strategy, |(rows, cols, bits, seed)| {
            let steps: Vec<Step> = bits.iter().map(|&b| step(b)).collect();
            let dx = DTYPES[(seed & 1) as usize];
            let mut inputs = vec![values(seed, &[rows, cols], dx)];
            for (k, s) in steps.iter().enumerate() {
                let shape = side_shape(s.side, rows, cols);
                inputs.push(values(seed ^ (k as u64 + 1), &shape, s.side_dtype));
            }
            let refs: Vec<&Tensor> = inputs.iter().collect();
            let what = format!("[{rows}, {cols}] {dx} chain {steps:?}");
            let mut p = Program::new();
            let ids = common::declare_inputs(&mut p, &refs);
            let out = record(&mut p, &ids, &steps);
            p.output(out).expect("output");
            // 2 to 6 ops, each intermediate read once: chains of up to 4, the rest after them.
            let plans = gpu.fused_chains(&p);
            let fused: usize = plans.iter().map(|c| c.len).sum();
            prop_assert!(
                !plans.is_empty() && fused >= steps.len().min(4),
                "{what}: planned {plans:?}"
            );
            check(&gpu, &what, &refs, |p, ids| record(p, ids, &steps)).map_err(TestCaseError::fail)
        })
        .unwrap();
}

#[test]
fn the_planner_fuses_only_intermediates_read_once_by_the_next_op() {
    let Some(gpu) = fusing_gpu() else { return };
    let x = values(7, &[3, 9], DType::F32);
    let chain_of = |outputs_mid: bool, reread: bool, square: bool| {
        let mut p = Program::new();
        let ids = common::declare_inputs(&mut p, &[&x]);
        let a = p.unary(UnaryFn::Exp, ids[0], DType::F32).unwrap();
        let b = if square {
            p.binary(BinaryFn::Mul, a, a, DType::Bf16).unwrap()
        } else {
            p.binary(BinaryFn::Mul, a, ids[0], DType::Bf16).unwrap()
        };
        let c = p.unary(UnaryFn::Neg, b, DType::F32).unwrap();
        let d = if reread {
            p.binary(BinaryFn::Add, c, a, DType::F32).unwrap()
        } else {
            p.unary(UnaryFn::Relu, c, DType::F32).unwrap()
        };
        if outputs_mid {
            p.output(b).unwrap();
        }
        p.output(d).unwrap();
        let plans: Vec<(usize, usize)> = gpu
            .fused_chains(&p)
            .iter()
            .map(|c| (c.first, c.len))
            .collect();
        // The bits stay the twin's whatever is fused.
        check(&gpu, "planner case", &[&x], |q, ids| {
            let _ = ids;
            *q = p.clone();
            d
        })
        .unwrap();
        plans
    };
    assert_eq!(chain_of(false, false, false), vec![(0, 4)]);
    // b is an output too: it is stored, and the chain ends with it.
    assert_eq!(chain_of(true, false, false), vec![(0, 2), (2, 2)]);
    // a is read again by the last op: a ends the first chain.
    assert_eq!(chain_of(false, true, false), vec![(1, 3)]);
    // b reads a twice: not a link.
    assert_eq!(chain_of(false, false, true), vec![(1, 3)]);
    // Turned off, nothing is fused.
    let mut p = Program::new();
    let ids = common::declare_inputs(&mut p, &[&x]);
    let a = p.unary(UnaryFn::Exp, ids[0], DType::F32).unwrap();
    let b = p.unary(UnaryFn::Neg, a, DType::F32).unwrap();
    p.output(b).unwrap();
    let plans = gpu.fused_chains(&p);
    assert_eq!(plans.len(), 1);
    let off = fusing_gpu().unwrap().without_fusion();
    assert!(off.fused_chains(&p).is_empty());
    // By default small chains run op by op, and so do chains of heavy functions at any size.
    assert!(common::gpu().unwrap().fused_chains(&p).is_empty());
    let big = Tensor::from_f32(
        [davinci::exec::FUSION_MIN_ELEMENTS],
        vec![0.5; davinci::exec::FUSION_MIN_ELEMENTS],
    )
    .unwrap();
    let chain = |f: UnaryFn| {
        let mut p = Program::new();
        let ids = common::declare_inputs(&mut p, &[&big]);
        let a = p.unary(f, ids[0], DType::F32).unwrap();
        let b = p.unary(UnaryFn::Neg, a, DType::F32).unwrap();
        p.output(b).unwrap();
        p
    };
    assert_eq!(
        common::gpu()
            .unwrap()
            .fused_chains(&chain(UnaryFn::Relu))
            .len(),
        1
    );
    assert!(
        common::gpu()
            .unwrap()
            .fused_chains(&chain(UnaryFn::Gelu))
            .is_empty()
    );
}

#[test]
fn chains_load_whole_words_and_broadcasts_at_every_length_and_format() {
    let Some(gpu) = fusing_gpu() else { return };
    // relu(full - (x + row) * scalar): every stage cheap, so chunks of 8 with whole-word loads of the
    // operands read at the result's index, the row and the scalar element by element.
    for cols in 1..=19 {
        for choice in 0..4usize {
            let (dx, dside, dmid) = (
                DTYPES[choice & 1],
                DTYPES[(choice >> 1) & 1],
                DTYPES[choice & 1 ^ 1],
            );
            let rows = 1 + choice % 3;
            let x = values(cols as u64, &[rows, cols], dx);
            let row = values(100 + cols as u64, &[cols], dside);
            let scalar = values(200 + cols as u64, &[1], dside);
            let full = values(300 + cols as u64, &[rows, cols], dside);
            let what = format!("[{rows}, {cols}] x {dx}, sides {dside}, intermediates {dmid}");
            let build = |p: &mut Program, ids: &[TensorId]| {
                let a = p.binary(BinaryFn::Add, ids[0], ids[1], dmid).unwrap();
                let b = p.binary(BinaryFn::Mul, a, ids[2], dmid).unwrap();
                let c = p.binary(BinaryFn::Sub, ids[3], b, dx).unwrap();
                p.unary(UnaryFn::Relu, c, dside).unwrap()
            };
            let mut p = Program::new();
            let inputs = [&x, &row, &scalar, &full];
            let ids = common::declare_inputs(&mut p, &inputs);
            let out = build(&mut p, &ids);
            p.output(out).unwrap();
            let plans = gpu.fused_chains(&p);
            assert_eq!(plans.len(), 1, "{what}");
            check(&gpu, &what, &inputs, build).unwrap();
        }
    }
}
