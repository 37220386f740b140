//! Vector-unit speed at 4096 x 4096, in two groups, each case beside its yardsticks in the same run:
//! - `twin`: the CPU twin's functions (`davinci::reference`, f32 in and out) beside a plain Rust version of
//!   the same op on the same cores (`vector/plain.rs`: std's exp, libm's erf, a two-pass softmax, a Welford
//!   layernorm; not bit-exact) and beside a memory copy of the same bytes. The summary gives twin/plain
//!   and twin/copy in GB/s of bytes read and written.
//! - `exec`: one `Executor::run` of a recorded one-op program, as a user runs it (upload, the shader or the
//!   twin, readback), in f32 and in bf16, GPU executor beside the CPU executor; the summary gives gpu/cpu.
//!
//! - `chain`: a four-op elementwise chain (an SGD-with-momentum update) on the GPU executor, fused into one
//!   dispatch and op by op, beside the CPU executor; the summary gives fused/unfused.
//!
//! Throughput counts the bytes the op must read and write, so criterion's "thrpt" reads as memory traffic
//! (binary units); the summaries use decimal GB/s from the median measured iteration. On a CPU-only box the
//! GPU is Mesa's lavapipe, which is slow (seconds per call): `DAVINCI_BENCH_GPU=0` leaves it out.
//!
//! Run: `cargo bench --bench vector` (or `-- twin` for the twin group alone).

#[path = "vector/cases.rs"]
mod cases;
#[path = "vector/plain.rs"]
mod plain;
#[path = "shared/gpu.rs"]
mod shared_gpu;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use davinci::{CpuExecutor, Executor, GpuExecutor, Tensor};

/// Times `f` under criterion and returns the median seconds per call of the measured samples.
fn timed<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    id: BenchmarkId,
    mut f: impl FnMut() -> T,
) -> Option<f64> {
    black_box(f()); // the first call builds pipelines and fills pools; keep it out.
    let mut per_call = Vec::new();
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            let t = start.elapsed();
            per_call.push(t.as_secs_f64() / iters as f64);
            t
        })
    });
    per_call.sort_by(f64::total_cmp);
    per_call.get(per_call.len() / 2).copied()
}

fn settle(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
}

fn twin(c: &mut Criterion) {
    let data = cases::Data::new();
    let mut group = c.benchmark_group("twin");
    settle(&mut group);
    // The copy probe: read x, write a new vector of the same size.
    let copy_bytes = 2 * (data.x.len() * 4) as u64;
    group.throughput(Throughput::Bytes(copy_bytes));
    let copy = timed(&mut group, BenchmarkId::new("copy", "x"), || {
        plain::copy(&data.x)
    })
    .map(|t| copy_bytes as f64 / t / 1e9);
    let mut rows = Vec::new();
    for case in cases::twin_cases() {
        group.throughput(Throughput::Bytes(case.bytes));
        let gb = |t: Option<f64>| t.map(|t| case.bytes as f64 / t / 1e9);
        let twin = gb(timed(
            &mut group,
            BenchmarkId::new("twin", case.name),
            || (case.twin)(&data),
        ));
        let plain = gb(timed(
            &mut group,
            BenchmarkId::new("plain", case.name),
            || (case.plain)(&data),
        ));
        rows.push((case.name, twin, plain, copy));
    }
    group.finish();
    println!(
        "\ntwin summary ({} x {} f32, GB/s of bytes read + written, all cores):",
        cases::ROWS,
        cases::COLS
    );
    println!(
        "  {:>10}  {:>7}  {:>7}  {:>7}  {:>10}  {:>9}",
        "op", "twin", "plain", "copy", "twin/plain", "twin/copy"
    );
    for (name, t, p, c) in rows {
        if let (Some(t), Some(p), Some(c)) = (t, p, c) {
            println!(
                "  {name:>10}  {t:7.2}  {p:7.2}  {c:7.2}  {:9.2}x  {:8.0}%",
                t / p,
                100.0 * t / c
            );
        }
    }
}

fn exec(c: &mut Criterion) {
    let gpu = shared_gpu::open("exec");
    let mut execs: Vec<&dyn Executor> = Vec::new();
    if let Some(g) = &gpu {
        execs.push(g);
    }
    execs.push(&CpuExecutor);
    let mut group = c.benchmark_group("exec");
    settle(&mut group);
    let mut rows = Vec::new();
    for case in cases::exec_cases() {
        group.throughput(Throughput::Bytes(case.bytes));
        let inputs: Vec<_> = case.inputs.iter().collect();
        let mut speeds = [None, None];
        for &e in &execs {
            let t = timed(&mut group, BenchmarkId::new(e.name(), &case.name), || {
                e.run(&case.program, &inputs).expect("the op runs")
            });
            speeds[usize::from(e.name() == "cpu")] = t.map(|t| case.bytes as f64 / t / 1e9);
        }
        rows.push((case.name, speeds));
    }
    group.finish();
    println!("\nexec summary (one Executor::run per call, GB/s of bytes read + written):");
    for (name, [g, c]) in rows {
        match (g, c) {
            (Some(g), Some(c)) => println!(
                "  {name:>15}: gpu {g:7.3}  cpu {c:7.3}  gpu/cpu {:.2}x",
                g / c
            ),
            (None, Some(c)) => println!("  {name:>15}: gpu  (none)  cpu {c:7.3}"),
            _ => {}
        }
    }
}

/// One timed way of running a case.
type RunFn<'a> = dyn Fn() -> Vec<Tensor> + 'a;

/// A four-op elementwise chain (`cases::chain_case`) on each executor, fused (the GPU's one dispatch, the
/// CPU's one pass over cache-sized blocks) beside the same executor running each op on its own.
fn chain(c: &mut Criterion) {
    let gpu = shared_gpu::open("chain");
    let unfused = gpu
        .as_ref()
        .map(|g| GpuExecutor::new(g.context().clone()).without_fusion());
    let case = cases::chain_case();
    let inputs: Vec<_> = case.inputs.iter().collect();
    let p = &case.program;
    let mut group = c.benchmark_group("chain");
    settle(&mut group);
    group.throughput(Throughput::Bytes(case.bytes));
    let mut runs: Vec<(&str, Box<RunFn<'_>>)> = Vec::new();
    if let (Some(g), Some(u)) = (&gpu, &unfused) {
        runs.push(("gpu_fused", Box::new(|| g.run(p, &inputs).expect("runs"))));
        runs.push(("gpu_unfused", Box::new(|| u.run(p, &inputs).expect("runs"))));
    }
    runs.push((
        "cpu_fused",
        Box::new(|| CpuExecutor.run(p, &inputs).expect("runs")),
    ));
    runs.push((
        "cpu_unfused",
        Box::new(|| CpuExecutor.run_unfused(p, &inputs).expect("runs")),
    ));
    let mut t = std::collections::HashMap::new();
    for (name, f) in &runs {
        let s = timed(&mut group, BenchmarkId::new(*name, &case.name), f);
        t.insert(*name, s);
    }
    group.finish();
    let gbs = |name: &str| {
        t.get(name)
            .copied()
            .flatten()
            .map(|s| case.bytes as f64 / s / 1e9)
    };
    println!(
        "\nchain summary ({}, GB/s of the fused run's bytes):",
        case.name
    );
    for exec in ["gpu", "cpu"] {
        if let (Some(f), Some(u)) = (
            gbs(&format!("{exec}_fused")),
            gbs(&format!("{exec}_unfused")),
        ) {
            println!(
                "  {exec}: fused {f:7.3}  unfused {u:7.3}  fused/unfused {:.2}x",
                f / u
            );
        }
    }
    if let (Some(g), Some(c)) = (gbs("gpu_fused"), gbs("cpu_fused")) {
        println!("  gpu/cpu, both fused: {:.2}x", g / c);
    }
}

criterion_group!(benches, twin, exec, chain);
criterion_main!(benches);
