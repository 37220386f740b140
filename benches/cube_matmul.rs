//! `cube_matmul` speed at 512, 1024 and 2048 square (tree16, f32 out), side by side in one run: the GPU
//! executor, the CPU twin, the `matrixmultiply` crate's f32 sgemm on the same values (the CPU yardstick, on
//! all cores) and the peak probe (each device's measured f32 FMA rate), with GFLOP/s and the ratios.
//!
//! Each timed iteration is one `davinci::matmul` call as a user makes it: recording, upload, the shader (or
//! the twin) and readback. The executors are timed round-robin (one call each, repeated), so that noise from
//! other work on the host hits them alike; the figure is the median. 2*n^3 FLOPs per matmul.
//!
//! The peak probes run in the same rounds (the adapter's f32 FMA rate from `device::peak`, the CPU's from
//! `exec::cpu_peak`), so every figure is also shown as a fraction of its own device's limit, measured
//! under the same conditions.
//!
//! A second table (`cube_matmul/modes.rs`) runs every matmul mode on the GPU executor at one size beside the
//! tree16 bf16 row-major product.
//!
//! Run: `cargo bench --bench cube_matmul` (`-- 512 1024` for other sizes; `DAVINCI_BENCH_RUNS=n` for n
//! timed calls per executor and size, default 5; `DAVINCI_BENCH_GPU=0` leaves the GPU out;
//! `DAVINCI_BENCH_MODES_N=n` runs the modes table at n, default 1024, 0 for none).

#[path = "cube_matmul/modes.rs"]
mod modes;
#[path = "shared/gpu.rs"]
mod shared_gpu;

use std::hint::black_box;
use std::time::Instant;

use davinci::tensor::random::gen_bf16;
use davinci::{CpuExecutor, Executor, MatmulOptions, Tensor, matmul};

fn flops(n: usize) -> f64 {
    2.0 * (n as f64).powi(3)
}

/// One contender: a name and a closure that runs one n x n x n product.
struct Contender<'a> {
    name: &'static str,
    run: Box<dyn FnMut() + 'a>,
    times: Vec<f64>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn sgemm(n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    // SAFETY: a, b and c are n x n row-major and do not overlap.
    unsafe {
        matrixmultiply::sgemm(
            n,
            n,
            n,
            1.0,
            a.as_ptr(),
            n as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![512, 1024, 2048]
    } else {
        sizes
    };
    let runs: usize = std::env::var("DAVINCI_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let gpu = shared_gpu::open("cube_matmul");

    let mut rows = Vec::new();
    for &n in &sizes {
        let (a, b) = (gen_bf16(1, [n, n], 1.0), gen_bf16(2, [n, n], 1.0));
        let (af, bf) = (a.to_f32_vec(), b.to_f32_vec());
        let mut cf = vec![0f32; n * n];
        let call = |exec: &dyn Executor, a: &Tensor, b: &Tensor| {
            black_box(matmul(exec, a, b, MatmulOptions::default()).expect("matmul"));
        };
        let mut contenders: Vec<Contender<'_>> = Vec::new();
        if let Some(g) = &gpu {
            contenders.push(Contender {
                name: "gpu",
                run: Box::new(|| call(g, &a, &b)),
                times: Vec::new(),
            });
        }
        contenders.push(Contender {
            name: "cpu",
            run: Box::new(|| call(&CpuExecutor, &a, &b)),
            times: Vec::new(),
        });
        contenders.push(Contender {
            name: "sgemm",
            run: Box::new(|| sgemm(n, &af, &bf, &mut cf)),
            times: Vec::new(),
        });
        // A first call builds pipelines and fills the buffer pool; keep it out of the figures.
        for c in &mut contenders {
            (c.run)();
        }
        let (mut gpu_peak, mut cpu_peak) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            for c in &mut contenders {
                let t = Instant::now();
                (c.run)();
                c.times.push(t.elapsed().as_secs_f64());
            }
            if let Some(g) = &gpu {
                gpu_peak.push(davinci::device::peak::fma_gflops(g.context()).expect("GPU peak"));
            }
            cpu_peak.push(davinci::exec::cpu_peak::fma_gflops());
        }
        let rate = |name: &str, cs: &mut Vec<Contender<'_>>| {
            cs.iter_mut()
                .find(|c| c.name == name)
                .map(|c| flops(n) / median(&mut c.times) / 1e9)
        };
        let g = rate("gpu", &mut contenders);
        let c = rate("cpu", &mut contenders).unwrap_or(f64::NAN);
        let s = rate("sgemm", &mut contenders).unwrap_or(f64::NAN);
        let gp = (!gpu_peak.is_empty()).then(|| median(&mut gpu_peak));
        rows.push(Row {
            n,
            gpu: g,
            cpu: c,
            sgemm: s,
            gpu_peak: gp,
            cpu_peak: median(&mut cpu_peak),
        });
    }
    report(runs, &rows);
    // The modes table: at 1024 unless DAVINCI_BENCH_MODES_N says otherwise (0 leaves it out).
    let modes_n: usize = std::env::var("DAVINCI_BENCH_MODES_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    match &gpu {
        Some(g) if modes_n > 0 => modes::run(g, modes_n, runs),
        Some(_) => println!("SKIP cube_matmul/modes: DAVINCI_BENCH_MODES_N=0"),
        None => println!("SKIP cube_matmul/modes: no GPU executor"),
    }
}

/// One size's medians, GFLOP/s.
struct Row {
    n: usize,
    gpu: Option<f64>,
    cpu: f64,
    sgemm: f64,
    gpu_peak: Option<f64>,
    cpu_peak: f64,
}

fn report(runs: usize, rows: &[Row]) {
    println!(
        "\ncube_matmul, n x n x n, tree16, f32 out; medians of {runs} round-robin rounds; GFLOP/s and \
         fractions of each device's measured f32 FMA peak (pk)"
    );
    println!(
        "{:>5} | {:>8} {:>8} {:>6} | {:>8} {:>6} | {:>8} {:>6} | {:>8} | {:>9} {:>7}",
        "n",
        "gpu",
        "gpu pk",
        "%pk",
        "cpu twin",
        "%pk",
        "sgemm",
        "%pk",
        "cpu pk",
        "cpu/sgemm",
        "gpu/cpu"
    );
    let pct = |x: f64, of: f64| format!("{:.0}%", 100.0 * x / of);
    for r in rows {
        let (g, gp, gpct, ratio) = match (r.gpu, r.gpu_peak) {
            (Some(g), Some(p)) => (
                format!("{g:.2}"),
                format!("{p:.1}"),
                pct(g, p),
                format!("{:.2}x", g / r.cpu),
            ),
            _ => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:>5} | {g:>8} {gp:>8} {gpct:>6} | {:>8.2} {:>6} | {:>8.2} {:>6} | {:>8.1} | {:>9} {ratio:>7}",
            r.n,
            r.cpu,
            pct(r.cpu, r.cpu_peak),
            r.sgemm,
            pct(r.sgemm, r.cpu_peak),
            r.cpu_peak,
            pct(r.cpu, r.sgemm),
        );
    }
}
