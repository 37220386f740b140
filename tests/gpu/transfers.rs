//! Uploads and readbacks keep the queue's order. On a software adapter the GPU executor writes uploads
//! straight into storage buffers and reads results where the shaders wrote them (`device/transfer.rs`);
//! a pooled buffer may still be read by recorded work that is not yet submitted, and such an upload must
//! wait its turn. Every case here is held to the CPU twin's bits.

use crate::common;
use davinci::tensor::random::gen_bf16;
use davinci::{BinaryFn, CpuExecutor, DType, Executor, Program, Shape, Tensor};

const ROWS: usize = 64;
const COLS: usize = 96;

/// A bf16 softmax (its rows go through an f32 temporary that returns to the buffer pool while the
/// rounding that reads it is still queued), then an add of two f32 inputs of the temporary's size,
/// uploaded only when the add runs: the first of them is handed the temporary's buffer.
fn program() -> Program {
    let mut p = Program::new();
    let x = p.input("x", [ROWS, COLS], DType::Bf16);
    let a = p.input("a", [ROWS, COLS], DType::F32);
    let b = p.input("b", [ROWS, COLS], DType::F32);
    let s = p.softmax(x, None, DType::Bf16).expect("softmax records");
    let sum = p
        .binary(BinaryFn::Add, a, b, DType::F32)
        .expect("add records");
    p.output(s).expect("output");
    p.output(sum).expect("output");
    p
}

fn inputs(seed: u64) -> Vec<Tensor> {
    let f32_of =
        |t: Tensor| Tensor::from_f32(Shape::new([ROWS, COLS]), t.to_f32_vec()).expect("f32");
    vec![
        gen_bf16(seed, [ROWS, COLS], 4.0),
        f32_of(gen_bf16(seed + 1, [ROWS, COLS], 2.0)),
        f32_of(gen_bf16(seed + 2, [ROWS, COLS], 2.0)),
    ]
}

fn check(gpu: &dyn Executor, p: &Program, seed: u64) {
    let ins = inputs(seed);
    let refs: Vec<&Tensor> = ins.iter().collect();
    let want = CpuExecutor.run(p, &refs).expect("the twin runs");
    let got = gpu.run(p, &refs).expect("the GPU runs");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            common::bits_equal_named(&format!("seed {seed}, output {i}"), g, w),
            "seed {seed}: output {i} differs from the twin"
        );
    }
}

#[test]
fn an_upload_into_a_buffer_queued_work_still_reads_waits_its_turn() {
    let Some(gpu) = common::gpu() else { return };
    let unfused = davinci::GpuExecutor::new(gpu.context().clone()).without_fusion();
    let p = program();
    for seed in [1, 10, 20] {
        check(&gpu, &p, seed);
        check(&unfused, &p, seed + 100);
    }
}

/// Two threads sharing one device: each one's uploads, queued work and readbacks interleave with the
/// other's.
#[test]
fn runs_from_two_threads_on_one_device_give_the_twins_bits() {
    let Some(gpu) = common::gpu() else { return };
    let p = program();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (gpu, p) = (&gpu, &p);
            s.spawn(move || {
                for i in 0..4 {
                    check(gpu, p, 1000 * (t + 1) + 10 * i);
                }
            });
        }
    });
}
