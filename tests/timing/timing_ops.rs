//! Every kind of recorded op gets a prediction: a small attention-style program (embedding gather,
//! rmsnorm, a fused linear layer with a residual, rope, permute, a batched matmul, softmax, reshape) is
//! predicted op by op, in order, on every preset, with a well-formed timeline.

use davinci::chip::ChipSpec;
use davinci::program::{Activation, Epilogue};
use davinci::sched::{Plan, Resource, predict};
use davinci::{DType, MatmulOptions, Program};

const S: usize = 512;
const H: usize = 8;
const D: usize = 64;
const E: usize = H * D;

fn layer() -> Program {
    let mut p = Program::new();
    let table = p.input("embedding", [32000, E], DType::Bf16);
    let w = p.input("w_qkv", [E, E], DType::Bf16);
    let bias = p.input("bias", [E], DType::F32);
    let gamma = p.input("gamma", [E], DType::Bf16);
    let cos = p.input("cos", [S, D / 2], DType::F32);
    let sin = p.input("sin", [S, D / 2], DType::F32);
    let ids: Vec<u32> = (0..S as u32).map(|i| i * 7 % 32000).collect();
    let x = p.gather_rows(table, &ids).unwrap();
    let xn = p.rmsnorm(x, Some(gamma), 1e-6, DType::Bf16).unwrap();
    let opts = MatmulOptions {
        dtype_out: DType::Bf16,
        ..MatmulOptions::default()
    };
    let q = p
        .cube_matmul_fused(
            xn,
            w,
            opts,
            Epilogue {
                bias: Some(bias),
                activation: Activation::None,
                residual: Some(x),
                scale: None,
            },
        )
        .unwrap();
    let q = p.reshape(q, [S, H, D]).unwrap();
    let q = p.rope(q, cos, sin, DType::Bf16).unwrap();
    let q = p.permute(q, &[1, 0, 2]).unwrap();
    let kt = p.permute(q, &[0, 2, 1]).unwrap();
    let scores = p.cube_matmul(q, kt, opts).unwrap();
    let probs = p.softmax(scores, None, DType::Bf16).unwrap();
    let flat = p.reshape(probs, [H * S, S]).unwrap();
    p.output(flat).unwrap();
    p
}

#[test]
fn every_op_kind_is_predicted_in_order() {
    let program = layer();
    for chip in ChipSpec::presets() {
        let pred = predict(&program, &chip).unwrap();
        assert_eq!(pred.ops.len(), program.ops().len());
        let mut clock = 0.0;
        for (op, rec) in pred.ops.iter().zip(program.ops()) {
            assert_eq!(op.kernel, rec.kernel_name());
            assert!(
                (op.start.0 - clock).abs() < 1e-6,
                "{} starts late",
                op.kernel
            );
            clock += op.time.0;
            if op.kernel == "reshape"
                || matches!(rec, davinci::program::Op::Move(m) if m.kind.name() == "reshape")
            {
                assert_eq!(op.time.0, 0.0, "a reshape is a view");
            } else {
                assert!(op.time >= op.launch && op.launch.0 > 0.0, "{}", op.kernel);
                assert!(op.hbm_bytes.0 > 0.0, "{} moves no bytes", op.kernel);
            }
            assert!(op.cube_util <= 1.0 && op.vector_util <= 1.0 && op.hbm_util <= 1.0);
        }
        assert!((pred.total.0 - clock).abs() < 1e-6);
        assert!(pred.timeline.max_lane_overlap().0 <= 1e-6, "{}", chip.name);
    }
}

#[test]
fn vector_ops_land_on_vector_cores_and_matmuls_on_the_cube() {
    let pred = predict(&layer(), &ChipSpec::default_chip()).unwrap();
    for op in &pred.ops {
        match &op.plan {
            Plan::Matmul(_) => assert!(op.cube_util > 0.0, "{}", op.kernel),
            Plan::Vector(w, _) if w.rows > 0 => {
                assert_eq!(op.cube_util, 0.0);
                assert!(
                    matches!(
                        op.bound,
                        Resource::Vector
                            | Resource::Hbm
                            | Resource::Mte2
                            | Resource::Mte3
                            | Resource::Launch
                    ),
                    "{}: {:?}",
                    op.kernel,
                    op.bound
                );
            }
            Plan::Vector(..) => {}
        }
    }
    // A bf16 softmax (two reductions, an exp and the conversions per element) keeps the Vector unit busy
    // for most of its time; an exp on the same input barely does (it waits for memory).
    let vector_share = |softmax: bool| {
        let mut p = Program::new();
        let x = p.input("x", [8192, 4096], DType::Bf16);
        let y = if softmax {
            p.softmax(x, None, DType::Bf16).unwrap()
        } else {
            p.unary(davinci::program::UnaryFn::Exp, x, DType::Bf16)
                .unwrap()
        };
        p.output(y).unwrap();
        let pred = predict(&p, &ChipSpec::default_chip()).unwrap();
        let op = &pred.ops[0];
        let busy = op
            .resources
            .iter()
            .find(|(r, _)| *r == Resource::Vector)
            .unwrap()
            .1;
        busy.0 / op.time.0
    };
    let (soft, exp) = (vector_share(true), vector_share(false));
    assert!(
        soft > 0.7 && exp < 0.2,
        "vector busy: softmax {soft}, exp {exp}"
    );
}

#[test]
fn a_residual_epilogue_costs_its_read() {
    let chip = ChipSpec::default_chip();
    let build = |residual: bool| {
        let mut p = Program::new();
        let a = p.input("a", [4096, 1024], DType::Bf16);
        let b = p.input("b", [1024, 4096], DType::Bf16);
        let r = p.input("r", [4096, 4096], DType::F32);
        let epi = Epilogue {
            residual: residual.then_some(r),
            ..Epilogue::default()
        };
        let c = p
            .cube_matmul_fused(a, b, MatmulOptions::default(), epi)
            .unwrap();
        p.output(c).unwrap();
        predict(&p, &chip).unwrap()
    };
    let (plain, fused) = (build(false), build(true));
    let extra = fused.ops[0].hbm_bytes.0 - plain.ops[0].hbm_bytes.0;
    // The tiling may change with the epilogue, so the rest of the traffic need not match exactly.
    assert!(extra > 0.9 * 4.0 * 4096.0 * 4096.0, "{extra}");
    assert!(fused.total >= plain.total);
}
