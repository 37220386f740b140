//! Vector-unit speed, GPU executor beside the CPU twin: softmax, layernorm (with gamma and beta) and gelu on
//! a 4096 x 4096 f32 tensor with an f32 result, and gelu once more with bf16 in and out.
//!
//! Each iteration is one `Executor::run` of a recorded one-op program, as a user runs it: upload, the shader
//! (or the twin) and readback. Throughput is the bytes the op must read and write (input, gamma/beta,
//! output), so criterion's "thrpt" reads as memory traffic (in binary units, MiB/s or GiB/s); a summary
//! in decimal GB/s (median of the measured iterations), with the GPU/CPU ratio, is printed at the end.
//! Sample counts are small: on a CPU-only box the GPU is Mesa's lavapipe, which is slow (lavapipe on two
//! cores: about 8 minutes for the whole bench, 2-8 s per call).
//!
//! Run: `cargo bench --bench vector`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use davinci::tensor::random::gen_bf16;
use davinci::{CpuExecutor, DType, Executor, GpuExecutor, Program, Tensor, UnaryFn};

const ROWS: usize = 4096;
const COLS: usize = 4096;

/// One benchmarked op: a recorded program, its inputs and the bytes it moves.
struct Case {
    name: &'static str,
    program: Program,
    inputs: Vec<Tensor>,
    bytes: u64,
}

fn bytes_of(t: &Tensor) -> u64 {
    (t.numel() * t.dtype().size()) as u64
}

fn cases() -> Vec<Case> {
    let x32 =
        Tensor::from_f32([ROWS, COLS], gen_bf16(1, [ROWS, COLS], 2.0).to_f32_vec()).expect("x");
    let x16 = gen_bf16(2, [ROWS, COLS], 2.0);
    let gamma = gen_bf16(3, [COLS], 1.0);
    let beta = gen_bf16(4, [COLS], 0.5);
    let out32 = (ROWS * COLS * 4) as u64;
    let out16 = (ROWS * COLS * 2) as u64;

    let mut softmax = Program::new();
    let x = softmax.input("x", [ROWS, COLS], DType::F32);
    let y = softmax.softmax(x, None, DType::F32).expect("softmax");
    softmax.output(y).expect("output");

    let mut layernorm = Program::new();
    let x = layernorm.input("x", [ROWS, COLS], DType::F32);
    let g = layernorm.input("gamma", [COLS], DType::Bf16);
    let b = layernorm.input("beta", [COLS], DType::Bf16);
    let y = layernorm
        .layernorm(x, Some(g), Some(b), 1e-5, DType::F32)
        .expect("layernorm");
    layernorm.output(y).expect("output");

    let gelu_of = |dtype: DType| {
        let mut p = Program::new();
        let x = p.input("x", [ROWS, COLS], dtype);
        let y = p.unary(UnaryFn::Gelu, x, dtype).expect("gelu");
        p.output(y).expect("output");
        p
    };

    vec![
        Case {
            name: "softmax_f32",
            program: softmax,
            bytes: bytes_of(&x32) + out32,
            inputs: vec![x32.clone()],
        },
        Case {
            name: "layernorm_f32",
            program: layernorm,
            bytes: bytes_of(&x32) + bytes_of(&gamma) + bytes_of(&beta) + out32,
            inputs: vec![x32.clone(), gamma, beta],
        },
        Case {
            name: "gelu_f32",
            program: gelu_of(DType::F32),
            bytes: bytes_of(&x32) + out32,
            inputs: vec![x32],
        },
        Case {
            name: "gelu_bf16",
            program: gelu_of(DType::Bf16),
            bytes: bytes_of(&x16) + out16,
            inputs: vec![x16],
        },
    ]
}

fn run(exec: &dyn Executor, case: &Case) -> Vec<Tensor> {
    let inputs: Vec<&Tensor> = case.inputs.iter().collect();
    exec.run(&case.program, &inputs).expect("the op runs")
}

fn vector(c: &mut Criterion) {
    println!(
        "vector: {ROWS} x {COLS}; throughput counts the bytes read and written per call (criterion prints \
         binary units, MiB/s; the summary at the end decimal GB/s)"
    );
    let gpu = match GpuExecutor::open() {
        Ok(gpu) => {
            let d = gpu.context().description();
            println!("GPU: {} ({}, {})", d.name, d.backend, d.device_type);
            Some(gpu)
        }
        Err(e) => {
            println!("SKIP vector/gpu: no GPU adapter ({e})");
            None
        }
    };
    let mut execs: Vec<&dyn Executor> = Vec::new();
    if let Some(g) = &gpu {
        execs.push(g);
    }
    execs.push(&CpuExecutor);

    let cases = cases();
    let mut summary: Vec<(&str, &str, f64)> = Vec::new();
    let mut group = c.benchmark_group("vector");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    for case in &cases {
        group.throughput(Throughput::Bytes(case.bytes));
        for &exec in &execs {
            // The first call builds the pipeline and fills the buffer pool; keep it out of the measurement.
            black_box(run(exec, case));
            let mut per_call = Vec::new();
            group.bench_function(BenchmarkId::new(exec.name(), case.name), |bench| {
                bench.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(run(exec, case));
                    }
                    let t = start.elapsed();
                    per_call.push(t.as_secs_f64() / iters as f64);
                    t
                })
            });
            per_call.sort_by(f64::total_cmp);
            if let Some(&median) = per_call.get(per_call.len() / 2) {
                summary.push((exec.name(), case.name, case.bytes as f64 / median / 1e9));
            }
        }
    }
    group.finish();

    println!("\nvector summary (median time per call, GB/s of bytes read + written):");
    for case in &cases {
        let of = |name: &str| {
            summary
                .iter()
                .find(|(e, c, _)| *e == name && *c == case.name)
                .map(|r| r.2)
        };
        match (of("gpu"), of("cpu")) {
            (Some(g), Some(c)) => println!(
                "  {:>14}: gpu {g:7.3}  cpu {c:7.3}  gpu/cpu {:.2}x",
                case.name,
                g / c
            ),
            (None, Some(c)) => println!("  {:>14}: gpu  (none)  cpu {c:7.3}", case.name),
            _ => {}
        }
    }
}

criterion_group!(benches, vector);
criterion_main!(benches);
