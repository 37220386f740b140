//! Host time of the timing model: predicting one 8192^3 bf16 matmul on the default 910C (the tiling
//! search over base tiles, block grids and die splits, plus the per-core timeline), and writing its
//! Chrome trace. The target is well under 10 ms per prediction; the median is printed at the end.
//!
//! Run: `cargo bench --bench predict`.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use davinci::{ChipSpec, DType, MatmulOptions, Program, predict};

fn matmul_program(n: usize) -> Program {
    let mut p = Program::new();
    let a = p.input("a", [n, n], DType::Bf16);
    let b = p.input("b", [n, n], DType::Bf16);
    let opts = MatmulOptions {
        dtype_out: DType::Bf16,
        ..MatmulOptions::default()
    };
    let c = p.cube_matmul(a, b, opts).expect("record");
    p.output(c).expect("output");
    p
}

fn bench_predict(c: &mut Criterion) {
    let chip = ChipSpec::default_chip();
    let mut group = c.benchmark_group("predict");
    for n in [1024, 8192] {
        let program = matmul_program(n);
        group.bench_function(format!("matmul_{n}"), |b| {
            b.iter(|| black_box(predict(black_box(&program), &chip).expect("predict")))
        });
    }
    let program = matmul_program(8192);
    let pred = predict(&program, &chip).expect("predict");
    group.bench_function("trace_json_8192", |b| {
        b.iter(|| black_box(pred.trace_json()))
    });
    group.finish();

    let mut times: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            black_box(predict(&program, &chip).expect("predict"));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "predict 8192^3 bf16 matmul on {}: median {:.3} ms of host time (target < 10 ms); predicted {:.3} ms on the chip",
        chip.name,
        times[10],
        pred.total.millis()
    );
}

criterion_group!(benches, bench_predict);
criterion_main!(benches);
