//! The host CPU's f32 FMA rate on all its cores, measured with a SIMD loop: the limit against which
//! `davinci info --peak` and the `cube_matmul` bench show every CPU speed figure.
//!
//! Each thread runs 12 independent chains of vector fused multiply-adds (enough to cover the latency of two
//! FMA pipes) with the widest vectors the CPU twin itself uses (AVX-512, else AVX2 + FMA, else plain
//! multiply and add). The work grows until one run takes long enough to time; the best of a few runs is the
//! figure.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// A run at least this long is timed.
const LONG_ENOUGH: Duration = Duration::from_millis(40);

/// The host's f32 FMA rate in GFLOP/s (an fma counts as 2 FLOPs), all cores together.
pub fn fma_gflops() -> f64 {
    let threads = crate::reference::threads();
    let (kernel, flops_per_iter) = best();
    let run = |iters: u64| {
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || black_box(kernel(black_box(iters), 1.0 + t as f32)));
            }
        });
        start.elapsed()
    };
    let mut iters = 1u64 << 12;
    let mut took = run(iters);
    while took < LONG_ENOUGH && iters < (1 << 34) {
        iters *= 4;
        took = run(iters);
    }
    for _ in 0..2 {
        took = took.min(run(iters));
    }
    (threads as u64 * iters * flops_per_iter) as f64 / took.as_secs_f64() / 1e9
}

/// The chain kernel for this CPU and the FLOPs of one of its iterations.
fn best() -> (fn(u64, f32) -> f32, u64) {
    #[cfg(all(target_arch = "x86_64", davinci_avx512))]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY (of the call inside): AVX-512F is present.
        return (|n, s| unsafe { x86::chains_avx512(n, s) }, 12 * 16 * 2);
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY (of the call inside): AVX2 and FMA are present.
        return (|n, s| unsafe { x86::chains_avx2(n, s) }, 12 * 8 * 2);
    }
    (portable, 12 * 2)
}

/// Plain multiply-add chains (two FLOPs per step, as the CPU twin's portable kernel does them).
fn portable(iters: u64, seed: f32) -> f32 {
    let mut x = [seed; 12];
    for (i, v) in x.iter_mut().enumerate() {
        *v += i as f32;
    }
    for _ in 0..iters {
        for v in &mut x {
            *v = *v * 0.999 + 0.001;
        }
    }
    x.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    // The AVX-512 half is compiled only where the build script found the intrinsics (Rust 1.89+).
    #![allow(clippy::incompatible_msrv)]

    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn chains_avx2(iters: u64, seed: f32) -> f32 {
        let (y, z) = (_mm256_set1_ps(0.999), _mm256_set1_ps(0.001));
        let mut x: [__m256; 12] = std::array::from_fn(|i| _mm256_set1_ps(seed + i as f32));
        for _ in 0..iters {
            for v in &mut x {
                *v = _mm256_fmadd_ps(*v, y, z);
            }
        }
        let mut out = [0f32; 8];
        let sum = x
            .iter()
            .fold(_mm256_setzero_ps(), |a, v| _mm256_add_ps(a, *v));
        // SAFETY: `out` holds 8 floats.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
        out.iter().sum()
    }

    #[cfg(davinci_avx512)]
    #[target_feature(enable = "avx512f")]
    pub(super) fn chains_avx512(iters: u64, seed: f32) -> f32 {
        let (y, z) = (_mm512_set1_ps(0.999), _mm512_set1_ps(0.001));
        let mut x: [__m512; 12] = std::array::from_fn(|i| _mm512_set1_ps(seed + i as f32));
        for _ in 0..iters {
            for v in &mut x {
                *v = _mm512_fmadd_ps(*v, y, z);
            }
        }
        let sum = x
            .iter()
            .fold(_mm512_setzero_ps(), |a, v| _mm512_add_ps(a, *v));
        _mm512_reduce_add_ps(sum)
    }
}
