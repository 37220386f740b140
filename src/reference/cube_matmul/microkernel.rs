//! The CPU twin's micro-kernels: one `mr x nr` tile of accumulators over a run of K fractals, from packed
//! panels (`a`: `[k][mr]`, `b`: `[k][nr]`, zero-padded to whole fractals).
//!
//! For every element the additions are the contract's, in its order (`numerics::accumulate`): Tree16 sums
//! each fractal's 16 products by the pairwise tree, then adds that to the accumulator; Sequential adds one
//! product at a time. Only the mapping onto SIMD lanes differs between the kernels: lanes are columns, so
//! every lane does exactly the scalar arithmetic of its own element.
//!
//! `Kind::fused` (set only when the caller proved every product exact) lets a product meet its addend in
//! one `fma`: `fma(a0, b0, a1 * b1)` is `round(a0*b0 + round(a1*b1))`, the same as the separate multiply
//! and add when `a0*b0` is exact. That saves a third of the instructions of the tree's first level.
//!
//! Kernels, best first: AVX-512 (`avx512.rs`, 8 x 16, where the compiler has the intrinsics and the CPU the
//! instructions), AVX2 + FMA (`avx2.rs`, 4 x 8), and a portable one in plain Rust (4 x 8).

use crate::numerics::Accumulation;
use crate::numerics::accumulate::FRACTAL_K;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(all(target_arch = "x86_64", davinci_avx512))]
mod avx512;

/// What a tile computes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    pub acc: Accumulation,
    /// Every product is exact, so fused multiply-adds give the separate operations' bits.
    pub fused: bool,
}

/// Adds `nf` fractals of `a` (`[nf * 16][mr]`) times `b` (`[nf * 16][nr]`) to the accumulators in `c`
/// (`[mr][nr]`). Callers check the slice lengths (see [`Kernel::tile`]).
type TileFn = fn(Kind, usize, &[f32], &[f32], &mut [f32]);

/// A micro-kernel and its tile shape.
#[derive(Clone, Copy)]
pub(crate) struct Kernel {
    pub name: &'static str,
    pub mr: usize,
    pub nr: usize,
    run: TileFn,
}

impl Kernel {
    /// The fastest kernel this host runs, chosen once.
    pub(crate) fn best() -> Kernel {
        static BEST: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            #[cfg(all(target_arch = "x86_64", davinci_avx512))]
            if std::arch::is_x86_feature_detected!("avx512f") {
                return avx512::KERNEL;
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return avx2::KERNEL;
            }
            PORTABLE
        })
    }

    /// Adds `nf` fractals of `a` times `b` to the tile `c`, in the contract's order.
    pub(crate) fn tile(&self, kind: Kind, nf: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
        assert!(
            a.len() >= nf * FRACTAL_K * self.mr
                && b.len() >= nf * FRACTAL_K * self.nr
                && c.len() == self.mr * self.nr,
            "{} kernel: panels shorter than {nf} fractals",
            self.name
        );
        (self.run)(kind, nf, a, b, c)
    }
}

/// The kernel in plain Rust, element by element (Rust neither contracts nor reassociates floats).
pub(crate) const PORTABLE: Kernel = Kernel {
    name: "portable",
    mr: 4,
    nr: 8,
    run: |kind, nf, a, b, c| portable(kind, nf, 4, 8, a, b, c),
};

fn portable(kind: Kind, nf: usize, mr: usize, nr: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let prod = |k: usize, r: usize, j: usize| a[k * mr + r] * b[k * nr + j];
    for f in 0..nf {
        let k0 = f * FRACTAL_K;
        for r in 0..mr {
            for j in 0..nr {
                let acc = &mut c[r * nr + j];
                match kind.acc.order() {
                    Accumulation::Tree16 | Accumulation::Narrow(_) => {
                        let s: [f32; 8] = std::array::from_fn(|i| {
                            prod(k0 + 2 * i, r, j) + prod(k0 + 2 * i + 1, r, j)
                        });
                        let t = [s[0] + s[1], s[2] + s[3], s[4] + s[5], s[6] + s[7]];
                        *acc += (t[0] + t[1]) + (t[2] + t[3]);
                    }
                    Accumulation::Sequential => {
                        // The padding of K adds +0 products, which leave the accumulator as it is: it
                        // starts at +0 and a sum is -0 only when both addends are.
                        for k in k0..k0 + FRACTAL_K {
                            *acc += prod(k, r, j);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIMD kernel (where the host has one) and the portable arithmetic give the same bits, fused or
    /// not, on values whose products are exact.
    #[test]
    fn simd_and_portable_kernels_agree() {
        let k = Kernel::best();
        let nf = 3;
        let val = |i: usize| ((i * 37 % 101) as f32 - 50.0) * 0.125;
        let a: Vec<f32> = (0..nf * FRACTAL_K * k.mr).map(val).collect();
        let b: Vec<f32> = (0..nf * FRACTAL_K * k.nr).map(|i| val(i + 7)).collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for acc in [Accumulation::Tree16, Accumulation::Sequential] {
            let mut want = vec![0.5f32; k.mr * k.nr];
            portable(
                Kind { acc, fused: false },
                nf,
                k.mr,
                k.nr,
                &a,
                &b,
                &mut want,
            );
            for fused in [false, true] {
                let mut c = vec![0.5f32; k.mr * k.nr];
                k.tile(Kind { acc, fused }, nf, &a, &b, &mut c);
                assert_eq!(bits(&c), bits(&want), "{} {acc} fused={fused}", k.name);
            }
        }
    }
}
