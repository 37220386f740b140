//! Host time of the cluster model: one whole-model prediction of the DeepSeek-V3-shaped model on
//! CloudMatrix 384 (a training step and a decode step, fresh kernel timers each time, so every distinct
//! kernel is predicted by the chip model), and a sweep of 1,000 plans (shared timers, as `--sweep` does).
//! Targets: under 100 ms per prediction, under 10 s for 1,000 plans; the medians are printed at the end.
//!
//! Run: `cargo bench --bench cluster`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use davinci::cluster::sweep::{candidates, sweep};
use davinci::cluster::{ClusterSpec, ModelSpec, Plan, Workload, predict_step};

fn bench_cluster(c: &mut Criterion) {
    let cm = ClusterSpec::preset("cloudmatrix384").expect("preset");
    let ds = ModelSpec::preset("deepseek-v3").expect("preset");
    let train = Workload::Train {
        batch: 1536,
        seq: 4096,
    };
    let decode = Workload::Decode {
        batch: 768 * 16,
        kv: 4096,
        mtp: None,
    };
    let tp = Plan::parse("dp=96,tp=4,pp=2,ep=64,zero=1,recompute").expect("plan");
    let dp = Plan::parse("dp=768,ep=256").expect("plan");
    let mut group = c.benchmark_group("cluster");
    group.sample_size(20);
    group.bench_function("deepseek_v3_train_384", |b| {
        b.iter(|| black_box(predict_step(&ds, &cm, &tp, &train).expect("predict")))
    });
    group.bench_function("deepseek_v3_decode_384", |b| {
        b.iter(|| black_box(predict_step(&ds, &cm, &dp, &decode).expect("predict")))
    });
    group.finish();

    let median = |f: &mut dyn FnMut(), n: usize| {
        let mut t: Vec<f64> = (0..n)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[n / 2]
    };
    let one = median(
        &mut || {
            black_box(predict_step(&ds, &cm, &tp, &train).expect("predict"));
        },
        11,
    );
    let r = predict_step(&ds, &cm, &tp, &train).expect("predict");
    println!(
        "deepseek-v3 train step on cloudmatrix384 ({tp}): median {one:.1} ms of host time (target < 100 ms); \
         predicted step {:.2} s, MFU {:.1}%, {:.0} tokens/s ({:.0} per chip), {} distinct kernels",
        r.step.secs(),
        100.0 * r.mfu,
        r.tokens_per_s,
        r.tokens_per_s_per_chip,
        r.kernels_timed
    );
    let mut plans = candidates(&ds, &cm, &train);
    plans.truncate(1000);
    let n = plans.len();
    let sweep_ms = median(
        &mut || {
            black_box(sweep(&ds, &cm, &train, &plans, &mut |_, _| {}).expect("sweep"));
        },
        3,
    );
    println!(
        "sweep of {n} deepseek-v3 training plans: median {:.2} s of host time (target < 10 s)",
        sweep_ms / 1e3
    );
}

criterion_group!(benches, bench_cluster);
criterion_main!(benches);
