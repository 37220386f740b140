//! A lost GPU device (a driver reset, a GPU removed, here `Device::destroy` through
//! [`GpuContext::destroy`]) ends a run with [`Error::DeviceLost`], whose message says to rerun with
//! `--executor cpu`, never with a panic, a hang or a result: before a program, between programs, and in the
//! middle of one (destroyed from another thread while its ops are on the device). Each test opens a device
//! of its own, since a destroyed one serves nobody after it.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use davinci::device::GpuContext;
use davinci::tensor::random::gen_bf16;
use davinci::{Error, Executor, GpuExecutor, MatmulOptions, Program, Tensor};

/// A device of this test's own, or `None` (skip) as [`common::gpu`] decides.
fn own_device() -> Option<Arc<GpuContext>> {
    common::gpu()?;
    Some(Arc::new(
        GpuContext::new().expect("an adapter opened already"),
    ))
}

/// A program of `n` chained 128 x 128 matmuls and a softmax, and its two inputs.
fn long_program(n: usize) -> (Program, Vec<Tensor>) {
    let mut p = Program::new();
    let a = gen_bf16(1, [128, 128], 1.0);
    let b = gen_bf16(2, [128, 128], 0.05);
    let ia = p.input("a", a.shape().clone(), a.dtype());
    let ib = p.input("b", b.shape().clone(), b.dtype());
    let opts = MatmulOptions {
        dtype_out: davinci::DType::Bf16,
        ..MatmulOptions::default()
    };
    let mut x = ia;
    for _ in 0..n {
        x = p.cube_matmul(x, ib, opts).unwrap();
    }
    let y = p.softmax(x, None, davinci::DType::F32).unwrap();
    p.output(y).unwrap();
    (p, vec![a, b])
}

fn assert_lost(r: davinci::Result<Vec<Tensor>>) {
    match r {
        Err(e @ Error::DeviceLost(_)) => {
            let msg = e.to_string();
            assert!(msg.contains("--executor cpu"), "{msg}");
            assert!(msg.contains("lost"), "{msg}");
        }
        Err(e) => panic!("expected DeviceLost, got another error: {e}"),
        Ok(_) => panic!("a run on a destroyed device returned a result"),
    }
}

#[test]
fn a_destroyed_device_fails_every_later_run_with_device_lost() {
    let Some(ctx) = own_device() else { return };
    let exec = GpuExecutor::new(ctx.clone());
    let (p, inputs) = long_program(2);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let before = exec.run(&p, &refs).expect("runs before the loss");
    assert_eq!(before[0].shape().dims(), &[128, 128]);
    ctx.destroy();
    assert!(ctx.is_lost());
    assert_lost(exec.run(&p, &refs));
    // And again: the loss is permanent, the error the same.
    assert_lost(exec.run(&p, &refs));
    // The CPU twin, as the message suggests, still gives the bits the GPU gave.
    let cpu = davinci::CpuExecutor.run(&p, &refs).unwrap();
    assert_eq!(cpu[0].to_f32_vec(), before[0].to_f32_vec());
}

#[test]
fn a_device_destroyed_mid_program_ends_the_run_with_device_lost() {
    // Destroyed at several points of the run: while ops are recorded and uploaded, on the device, and
    // while results are read back. Each gets a device of its own.
    let (p, inputs) = long_program(200);
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let mut lost = 0;
    for delay_ms in [0, 2, 5, 15, 40] {
        let Some(ctx) = own_device() else { return };
        let exec = GpuExecutor::new(ctx.clone());
        // Warm the pipelines, so that the run below is all recording and device work.
        exec.run(&long_program(1).0, &refs).unwrap();
        let killer = {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(delay_ms));
                ctx.destroy();
            })
        };
        let r = exec.run(&p, &refs);
        killer.join().unwrap();
        match r {
            Ok(_) => eprintln!("destroyed after {delay_ms} ms: the program had finished"),
            r => {
                assert_lost(r);
                lost += 1;
            }
        }
        assert_lost(exec.run(&p, &refs));
    }
    assert!(
        lost > 0,
        "every run finished before its device was destroyed"
    );
}
