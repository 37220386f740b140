//! `cube_matmul` speed, GPU executor beside the CPU twin, at 256, 512 and 1024 square (tree16, f32 out).
//!
//! Each iteration is one `davinci::matmul` call as a user makes it: recording, upload, the shader (or the
//! twin) and readback. Throughput is counted as 2*M*N*K elements per iteration, so criterion's
//! "elem/s" reads as FLOP/s (Gelem/s = GFLOP/s); a summary in GFLOP/s, with the GPU/CPU ratio, is printed
//! at the end. Sample counts are small: on a CPU-only box the GPU is Mesa's lavapipe, which is slow.
//!
//! Run: `cargo bench --bench cube_matmul`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use davinci::tensor::random::gen_bf16;
use davinci::{CpuExecutor, Executor, GpuExecutor, MatmulOptions, Tensor, matmul};

const SIZES: [usize; 3] = [256, 512, 1024];

fn flops(n: usize) -> u64 {
    2 * (n as u64).pow(3)
}

fn operands(n: usize) -> (Tensor, Tensor) {
    (gen_bf16(1, [n, n], 1.0), gen_bf16(2, [n, n], 1.0))
}

/// Median GFLOP/s over a few runs, for the printed summary (criterion's own estimate is in its report).
fn gflops(exec: &dyn Executor, a: &Tensor, b: &Tensor, n: usize) -> f64 {
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            black_box(matmul(exec, a, b, MatmulOptions::default()).expect("matmul"));
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    flops(n) as f64 / times[1] / 1e9
}

fn cube_matmul(c: &mut Criterion) {
    println!(
        "cube_matmul: n x n x n, tree16, f32 out; throughput 'elem/s' counts FLOPs (2*n^3 per matmul)"
    );
    let gpu = match GpuExecutor::open() {
        Ok(gpu) => {
            let d = gpu.context().description();
            println!("GPU: {} ({}, {})", d.name, d.backend, d.device_type);
            Some(gpu)
        }
        Err(e) => {
            println!("SKIP cube_matmul/gpu: no GPU adapter ({e})");
            None
        }
    };
    let mut execs: Vec<&dyn Executor> = Vec::new();
    if let Some(g) = &gpu {
        execs.push(g);
    }
    execs.push(&CpuExecutor);

    let mut summary = Vec::new();
    let mut group = c.benchmark_group("cube_matmul");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in SIZES {
        let (a, b) = operands(n);
        group.throughput(Throughput::Elements(flops(n)));
        for &exec in &execs {
            // The first call builds the pipeline and fills the buffer pool; keep it out of the measurement.
            matmul(exec, &a, &b, MatmulOptions::default()).expect("matmul");
            group.bench_with_input(BenchmarkId::new(exec.name(), n), &n, |bench, _| {
                bench.iter(|| {
                    black_box(matmul(exec, &a, &b, MatmulOptions::default()).expect("matmul"))
                })
            });
            summary.push((exec.name(), n, gflops(exec, &a, &b, n)));
        }
    }
    group.finish();

    println!("\ncube_matmul summary (median of 3 timed calls, GFLOP/s):");
    for n in SIZES {
        let of = |name: &str| {
            summary
                .iter()
                .find(|(e, s, _)| *e == name && *s == n)
                .map(|r| r.2)
        };
        match (of("gpu"), of("cpu")) {
            (Some(g), Some(c)) => {
                println!("  {n:>5}: gpu {g:8.2}  cpu {c:8.2}  gpu/cpu {:.2}x", g / c)
            }
            (None, Some(c)) => println!("  {n:>5}: gpu   (none)  cpu {c:8.2}"),
            _ => {}
        }
    }
}

criterion_group!(benches, cube_matmul);
criterion_main!(benches);
