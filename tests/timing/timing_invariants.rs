//! Invariants of the timing model (DESIGN.md, Testing): the roofline lower bound, monotonicity in cores
//! and bandwidth, linear scaling in M, which resource binds tiny, large square and skinny matmuls, and a
//! timeline whose lanes never overlap.

use davinci::chip::ChipSpec;
use davinci::sched::{Plan, Prediction, Resource, predict};
use davinci::units::{Bytes, Flops};
use davinci::{DType, MatmulOptions, Program};

/// `[batch?, m, k] x [batch?, k, n]`; `batch_b` false shares B across the batch (a weight).
fn matmul_program(batch: usize, m: usize, k: usize, n: usize, batch_b: bool) -> Program {
    let mut p = Program::new();
    let (a, b) = if batch > 1 {
        let b_shape = if batch_b {
            vec![batch, k, n]
        } else {
            vec![k, n]
        };
        (
            p.input("a", davinci::Shape::new([batch, m, k]), DType::Bf16),
            p.input("b", davinci::Shape::new(b_shape), DType::Bf16),
        )
    } else {
        (
            p.input("a", [m, k], DType::Bf16),
            p.input("b", [k, n], DType::Bf16),
        )
    };
    let opts = MatmulOptions {
        dtype_out: DType::Bf16,
        ..MatmulOptions::default()
    };
    let c = p.cube_matmul(a, b, opts).unwrap();
    p.output(c).unwrap();
    p
}

fn mm(chip: &ChipSpec, m: usize, k: usize, n: usize) -> Prediction {
    predict(&matmul_program(1, m, k, n, false), chip).unwrap()
}

/// Shapes that exercise edges: tiny, odd, skinny, square, batched.
const SHAPES: &[(usize, usize, usize, usize, bool)] = &[
    (1, 16, 16, 16, false),
    (1, 1, 4096, 4096, false),
    (1, 17, 33, 65, false),
    (1, 1000, 3000, 700, false),
    (1, 4096, 4096, 4096, false),
    (1, 8192, 1024, 8192, false),
    (1, 128, 16384, 128, false),
    (8, 512, 768, 768, false),
    (12, 128, 64, 128, true),
    (200, 64, 64, 64, true),
];

fn time_ns(p: &Prediction) -> f64 {
    p.total.0
}

#[test]
fn time_is_at_least_the_roofline() {
    for chip in ChipSpec::presets() {
        for &(batch, m, k, n, bb) in SHAPES {
            let program = matmul_program(batch, m, k, n, bb);
            let p = predict(&program, &chip).unwrap();
            let flops = Flops(2.0 * (batch * m * k * n) as f64);
            let b_count = if bb { batch } else { 1 };
            // Compulsory traffic: A and B read once, the bf16 result written once.
            let bytes = Bytes(2.0 * (batch * m * k + b_count * k * n + batch * m * n) as f64);
            let floor = (flops / chip.peak_bf16()).max(bytes / chip.hbm_bw());
            assert!(
                p.total.0 >= floor.0 * (1.0 - 1e-9),
                "{}: {batch}x{m}x{k}x{n}: {} ns < roofline {} ns",
                chip.name,
                p.total.0,
                floor.0
            );
            assert!(p.ops[0].hbm_bytes.0 >= bytes.0 * (1.0 - 1e-9));
            assert!(p.cube_util <= 1.0 && p.hbm_util <= 1.0, "{p:?}");
        }
    }
}

#[test]
fn more_cores_never_slower() {
    for &(batch, m, k, n, bb) in SHAPES {
        let program = matmul_program(batch, m, k, n, bb);
        let mut last = f64::INFINITY;
        for cores in [1, 2, 3, 5, 8, 12, 16, 20, 23, 24, 25, 32, 48] {
            let mut chip = ChipSpec::default_chip();
            chip.cube_cores_per_die.value = cores as f64;
            chip.vector_cores_per_die.value = 2.0 * cores as f64;
            let t = time_ns(&predict(&program, &chip).unwrap());
            assert!(
                t <= last * (1.0 + 1e-9),
                "{batch}x{m}x{k}x{n}: {cores} cores take {t} ns, fewer took {last} ns"
            );
            last = t;
        }
    }
}

#[test]
fn more_bandwidth_never_slower() {
    let fields = [
        "hbm_gb_per_s_per_die",
        "l2_bytes_per_cycle",
        "die_link_gb_per_s",
        "mte2_bytes_per_cycle",
        "mte1_l0b_bytes_per_cycle",
        "fixpipe_bytes_per_cycle",
    ];
    for &(batch, m, k, n, bb) in SHAPES {
        let program = matmul_program(batch, m, k, n, bb);
        for field in fields {
            let mut last = f64::INFINITY;
            for scale in [0.25, 0.5, 1.0, 2.0, 4.0] {
                let mut chip = ChipSpec::default_chip();
                chip.field_mut(field).unwrap().value *= scale;
                let t = time_ns(&predict(&program, &chip).unwrap());
                assert!(
                    t <= last * (1.0 + 1e-9),
                    "{batch}x{m}x{k}x{n}: {field} x{scale} takes {t} ns, less took {last} ns"
                );
                last = t;
            }
        }
    }
}

#[test]
fn doubling_m_of_a_large_matmul_doubles_its_time() {
    let chip = ChipSpec::default_chip();
    for (m, k, n) in [(8192, 8192, 8192), (4096, 4096, 4096), (4096, 8192, 28672)] {
        let t1 = mm(&chip, m, k, n).total.0;
        let t2 = mm(&chip, 2 * m, k, n).total.0;
        let ratio = t2 / t1;
        assert!(
            (1.8..=2.2).contains(&ratio),
            "{m}x{k}x{n}: doubling M scales the time by {ratio}"
        );
    }
}

#[test]
fn the_binding_resource_follows_the_shape() {
    let chip = ChipSpec::default_chip();
    assert_eq!(mm(&chip, 16, 16, 16).ops[0].bound, Resource::Launch);
    assert_eq!(mm(&chip, 8192, 8192, 8192).ops[0].bound, Resource::Cube);
    // A GEMV streams B from HBM through MTE2's ND -> NZ conversion: bound by memory, at the port or HBM.
    let gemv = mm(&chip, 1, 4096, 4096).ops[0].bound;
    assert!(matches!(gemv, Resource::Hbm | Resource::Mte2), "{gemv:?}");
    let big = mm(&chip, 8192, 8192, 8192);
    let tflops = big.achieved().0 / 1e12;
    // Measured large GEMMs reach 80-87% of peak (measurement table); the model must land there too.
    assert!(
        (0.78 * 780.0..=0.9 * 780.0).contains(&tflops),
        "8192^3: {tflops} TFLOPS"
    );
}

#[test]
fn the_tiling_fits_the_buffers_and_covers_the_problem() {
    let chip = ChipSpec::default_chip();
    for &(batch, m, k, n, bb) in SHAPES {
        let p = predict(&matmul_program(batch, m, k, n, bb), &chip).unwrap();
        let Plan::Matmul(e) = &p.ops[0].plan else {
            panic!("a matmul gets a matmul plan");
        };
        let t = &e.tiling;
        let [l1, l0a, l0b, l0c] = t.buffer_use();
        assert!(l1 <= 512.0 * 1024.0 && l0a <= 65536.0 && l0b <= 65536.0 && l0c <= 131072.0);
        assert!(t.base_m % 16 == 0 && t.base_n % 16 == 0 && t.base_k % 16 == 0);
        assert!(t.blocks_m * t.single_core_m >= t.problem.m);
        assert!(t.blocks_n * t.single_core_n >= t.problem.n);
        assert!(e.cores_used >= 1 && e.cores_used <= 48);
    }
}

#[test]
fn predictions_are_deterministic_and_sequential() {
    let chip = ChipSpec::default_chip();
    let mut program = matmul_program(1, 512, 512, 512, false);
    let x = program.input("x", [1024, 1024], DType::F32);
    let y = program.cast(x, DType::Bf16).unwrap();
    program.output(y).unwrap();
    let p1 = predict(&program, &chip).unwrap();
    let p2 = predict(&program, &chip).unwrap();
    assert_eq!(p1, p2);
    assert_eq!(p1.ops.len(), 2);
    assert_eq!(p1.ops[1].start, p1.ops[0].time);
    assert!((p1.total.0 - p1.ops[0].time.0 - p1.ops[1].time.0).abs() < 1e-6);
    assert!(p1.timeline.max_lane_overlap().0 <= 1e-6);
    assert!((p1.energy.0 - 350.0 * p1.total.secs()).abs() < 1e-12);
}

#[test]
fn a_large_cast_is_bound_by_hbm() {
    let chip = ChipSpec::default_chip();
    let mut program = Program::new();
    let x = program.input("x", [8192, 8192], DType::F32);
    let y = program.cast(x, DType::Bf16).unwrap();
    program.output(y).unwrap();
    let p = predict(&program, &chip).unwrap();
    assert_eq!(p.ops[0].bound, Resource::Hbm);
    // 4 bytes read and 2 written, the written line read first (write-allocate), at achievable HBM.
    let bytes = (4.0 + 2.0 * chip.hbm_write_cost.value) * 8192.0 * 8192.0;
    let floor = Bytes(bytes) / chip.hbm_bw() / chip.hbm_efficiency.value;
    assert!(
        p.total.0 >= floor.0 && p.total.0 < 1.2 * floor.0 + 3e3,
        "{:?} vs {floor:?}",
        p.total
    );
}

#[test]
fn a_bad_chip_is_an_error_not_a_panic() {
    let mut chip = ChipSpec::default_chip();
    chip.hbm_gb_per_s_per_die.value = -1.0;
    let e = predict(&matmul_program(1, 64, 64, 64, false), &chip).unwrap_err();
    assert!(e.to_string().contains("hbm_gb_per_s_per_die"), "{e}");
}
