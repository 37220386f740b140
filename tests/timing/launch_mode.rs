//! Framework launches (`sched::launch`): the host dispatches op by op and runs ahead of the device, so a
//! chain of short ops waits on the host (host-bound, about one dispatch per op) while a long op hides the
//! dispatch of the next; views are not dispatched; device launches are unchanged.

use davinci::program::{BinaryFn, UnaryFn};
use davinci::{ChipSpec, DType, LaunchMode, MatmulOptions, Program, predict, predict_launched};

/// `ops` elementwise ops of `rows x cols` f32, each on the one before, with a reshape (a view) between.
fn chain(ops: usize, rows: usize, cols: usize) -> Program {
    let mut p = Program::new();
    let mut x = p.input("x", [rows, cols], DType::F32);
    for i in 0..ops {
        x = p.unary(UnaryFn::Exp, x, DType::F32).unwrap();
        if i % 2 == 0 {
            x = p.reshape(x, [rows * cols]).unwrap();
            x = p.reshape(x, [rows, cols]).unwrap();
        }
    }
    p.output(x).unwrap();
    p
}

#[test]
fn short_ops_wait_on_the_host_and_long_ones_hide_it() {
    let chip = ChipSpec::preset("910b2").unwrap();
    let d = chip.framework_dispatch_us.value * 1e3;
    // 20 tiny ops: each far shorter than a dispatch, so the device waits for the host before each.
    let p = chain(20, 16, 16);
    let dev = predict(&p, &chip).unwrap();
    let fw = predict_launched(&p, &chip, LaunchMode::Framework).unwrap();
    assert_eq!(dev.launch, LaunchMode::Device);
    assert_eq!(dev.host_wait.0, 0.0);
    assert_eq!(fw.bound.name(), "host dispatch");
    // 20 kernels (the 20 reshapes are views): the last starts after 20 dispatches.
    let last = fw.ops.iter().rfind(|o| o.launch.0 > 0.0).unwrap();
    assert!(
        (last.start.0 - 20.0 * d).abs() < 1e-6,
        "{} vs {}",
        last.start.0,
        20.0 * d
    );
    assert!(fw.total.0 > 20.0 * d && fw.total.0 < 20.0 * d + dev.total.0);
    assert!((fw.total.0 - fw.host_wait.0 - dev.total.0).abs() < 1e-3);

    // One matmul far longer than a dispatch, then a short op: only the first dispatch shows.
    let mut p = Program::new();
    let a = p.input("a", [4096, 4096], DType::Bf16);
    let b = p.input("b", [4096, 4096], DType::Bf16);
    let c = p.cube_matmul(a, b, MatmulOptions::default()).unwrap();
    let e = p.binary(BinaryFn::Add, c, c, DType::F32).unwrap();
    p.output(e).unwrap();
    let dev = predict(&p, &chip).unwrap();
    let fw = predict_launched(&p, &chip, LaunchMode::Framework).unwrap();
    assert!(dev.ops[0].time.0 > 10.0 * d);
    assert!(
        (fw.total.0 - (dev.total.0 + d)).abs() < 1e-3,
        "{} {}",
        fw.total.0,
        dev.total.0
    );
    assert_ne!(fw.bound.name(), "host dispatch");
}

#[test]
fn launch_modes_parse_by_name() {
    assert_eq!(
        "framework".parse::<LaunchMode>().unwrap(),
        LaunchMode::Framework
    );
    assert_eq!("device".parse::<LaunchMode>().unwrap(), LaunchMode::Device);
    let e = "eager".parse::<LaunchMode>().unwrap_err().to_string();
    assert!(e.contains("framework"), "{e}");
}
