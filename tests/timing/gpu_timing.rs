//! The GPU timing model (src/gpu): its invariants (more SMs or more bandwidth never slower, never under
//! the roofline), a GEMM's efficiency rising with size as real kernels' does, wave quantisation at
//! awkward sizes, each dtype at the GPU's own rate, and clear errors for what a GPU lacks.

use davinci::gpu::gemm::{GemmProblem, GpuBound, estimate};
use davinci::gpu::{GpuDtype, GpuSpec};
use davinci::perf::roofline;
use davinci::units::Bytes;

fn gemm(m: usize, k: usize, n: usize, dtype: GpuDtype) -> GemmProblem {
    GemmProblem {
        batch: 1,
        m,
        k,
        n,
        dtype,
        out_bytes: 2.0,
    }
}

fn time(g: &GpuSpec, p: &GemmProblem) -> f64 {
    estimate(g, p).unwrap().time.0
}

fn efficiency(g: &GpuSpec, p: &GemmProblem) -> f64 {
    let e = estimate(g, p).unwrap();
    e.flops.0 / (e.time.0 * 1e-9) / g.peak(p.dtype).unwrap().0
}

const SIZES: [usize; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

#[test]
fn gemm_efficiency_rises_with_size_and_stays_under_the_sustained_peak() {
    for g in GpuSpec::presets() {
        let effs: Vec<f64> = SIZES
            .iter()
            .map(|&s| efficiency(&g, &gemm(s, s, s, GpuDtype::Bf16)))
            .collect();
        eprintln!("{}: bf16 square GEMM efficiency {effs:.3?}", g.name);
        for w in effs.windows(2) {
            assert!(w[1] >= w[0], "{}: {effs:?}", g.name);
        }
        // Small GEMMs are launch-bound, large ones reach most of the sustained rate and never all of it.
        assert!(effs[0] < 0.05, "{}: {effs:?}", g.name);
        let top = effs[SIZES.len() - 1];
        assert!(
            top > 0.7 && top < g.tensor_sustained_fraction.value,
            "{}: {top}",
            g.name
        );
    }
}

#[test]
fn more_sms_or_more_bandwidth_is_never_slower_and_nothing_beats_the_roofline() {
    for g in GpuSpec::presets() {
        let mut more_sms = g.clone();
        more_sms.sms.value += 16.0;
        let mut more_bw = g.clone();
        more_bw.hbm_gb_per_s.value *= 1.5;
        for &(m, k, n) in &[
            (1, 4096, 4096),
            (128, 4096, 11008),
            (4096, 4096, 4096),
            (777, 3000, 5001),
        ] {
            for dtype in [GpuDtype::Bf16, GpuDtype::Fp8] {
                let p = gemm(m, k, n, dtype);
                let base = time(&g, &p);
                assert!(
                    time(&more_sms, &p) <= base * (1.0 + 1e-12),
                    "{} sms {p:?}",
                    g.name
                );
                assert!(
                    time(&more_bw, &p) <= base * (1.0 + 1e-12),
                    "{} bw {p:?}",
                    g.name
                );
                let e = estimate(&g, &p).unwrap();
                let unique = Bytes(((m + n) * k) as f64 * dtype.bytes() + (m * n) as f64 * 2.0);
                let floor = roofline(e.flops, g.peak(dtype).unwrap(), unique, g.hbm_bw());
                assert!(
                    e.time.0 >= floor.0,
                    "{} {p:?}: {} under {}",
                    g.name,
                    e.time.0,
                    floor.0
                );
            }
        }
    }
}

#[test]
fn one_tile_more_than_the_sms_costs_a_second_wave() {
    // 12 x 11 tiles of 128 x 256 fill H100's 132 SMs once; 64 more columns of output need another wave.
    let g = GpuSpec::preset("h100-sxm").unwrap();
    let fit = estimate(&g, &gemm(1536, 8192, 2816, GpuDtype::Bf16)).unwrap();
    let over = estimate(&g, &gemm(1536, 8192, 2816 + 64, GpuDtype::Bf16)).unwrap();
    eprintln!(
        "h100-sxm: {} tiles in {} wave(s) {:.1} us; {} tiles in {} {:.1} us",
        fit.waves.tiles,
        fit.waves.waves,
        fit.time.0 / 1e3,
        over.waves.tiles,
        over.waves.waves,
        over.time.0 / 1e3
    );
    assert_eq!((fit.waves.tiles, fit.waves.waves), (132, 1));
    // A smaller tile spreads the extra work thinner (as a GEMM library's heuristics switch tiles), but
    // 2% more work still costs well over 2% more time.
    assert!(
        over.time.0 > 1.1 * fit.time.0,
        "2% more work, {:.2}x the time",
        over.time.0 / fit.time.0
    );
}

#[test]
fn each_dtype_runs_at_the_gpus_own_rate_and_a_missing_one_is_refused() {
    let h100 = GpuSpec::preset("h100-sxm").unwrap();
    let big = |d| gemm(8192, 8192, 8192, d);
    let bf16 = time(&h100, &big(GpuDtype::Bf16));
    assert!(time(&h100, &big(GpuDtype::Fp8)) < 0.6 * bf16);
    assert!(time(&h100, &big(GpuDtype::Tf32)) > 1.8 * bf16);
    assert_eq!(
        estimate(&h100, &big(GpuDtype::Fp32)).unwrap().bound,
        GpuBound::CudaCores
    );
    let e = estimate(&h100, &big(GpuDtype::Fp4))
        .unwrap_err()
        .to_string();
    assert!(e.contains("h100-sxm has no fp4"), "{e}");
    let b200 = GpuSpec::preset("b200").unwrap();
    assert!(time(&b200, &big(GpuDtype::Fp4)) < time(&b200, &big(GpuDtype::Fp8)));
    let e = "hf32".parse::<GpuDtype>().unwrap_err().to_string();
    assert!(e.contains("tf32"), "{e}");
}

#[test]
fn a_recorded_program_is_timed_op_by_op_with_views_free() {
    use davinci::DType;
    use davinci::program::{MatmulOptions, Program};
    let mut p = Program::new();
    let a = p.input("a", [512, 1024], DType::Bf16);
    let b = p.input("b", [1024, 2048], DType::Bf16);
    let c = p.cube_matmul(a, b, MatmulOptions::default()).unwrap();
    let v = p.reshape(c, [1024, 1024]).unwrap();
    let s = p.softmax(v, None, DType::F32).unwrap();
    p.output(s).unwrap();
    let g = GpuSpec::preset("h100-sxm").unwrap();
    let pred = davinci::gpu::predict::predict(&p, &g, None).unwrap();
    assert_eq!(pred.ops.len(), 3);
    assert_eq!(pred.ops[1].time.0, 0.0);
    // The softmax reads 4 MiB of f32 and writes 4 MiB: its time is that traffic plus a launch.
    let sm = &pred.ops[2];
    assert_eq!(sm.hbm_bytes.0, 2.0 * 1024.0 * 1024.0 * 4.0);
    let want = g.launch_overhead().0 + sm.hbm_bytes.0 / g.hbm_achievable().0 * 1e9;
    assert!((sm.time.0 / want - 1.0).abs() < 1e-9);
    let total: f64 = pred.ops.iter().map(|o| o.time.0).sum();
    assert!((pred.total.0 - total).abs() < 1e-6 && pred.ops[0].gemm.is_some());
}
