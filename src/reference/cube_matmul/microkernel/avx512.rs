//! The AVX-512 micro-kernel: an 8 x 16 tile (eight rows, one 16-lane vector each). Per row it keeps the
//! tree's live partial sums (at most three levels) in registers: 24 of the 32 `zmm` registers, two more for
//! the B rows of a pair; A values are broadcast straight from memory into the multiplies. Built only where
//! the compiler has the AVX-512 intrinsics (Rust 1.89+, `cfg(davinci_avx512)` from `src/build.rs`), used
//! only where the CPU has AVX-512F.

// The build script enables this module only on compilers that have these intrinsics (1.89+), so using
// them above the declared rust-version is safe.
#![allow(clippy::incompatible_msrv)]

use std::arch::x86_64::*;

use super::{Kernel, Kind};
use crate::numerics::Accumulation;
use crate::numerics::accumulate::FRACTAL_K;

const MR: usize = 8;
const NR: usize = 16;

pub(super) const KERNEL: Kernel = Kernel {
    name: "avx512",
    mr: MR,
    nr: NR,
    run: |kind, nf, a, b, c| {
        // SAFETY: `Kernel::best` chose this kernel only on a CPU with AVX-512F, and `Kernel::tile`
        // checked that the panels hold `nf` fractals and `c` one tile.
        unsafe { tile(kind, nf, a.as_ptr(), b.as_ptr(), c.as_mut_ptr()) }
    },
};

/// Elementwise sum of two rows of vectors.
macro_rules! add {
    ($x:expr, $y:expr) => {{
        let (x, y) = ($x, $y);
        let mut s = [_mm512_setzero_ps(); MR];
        for r in 0..MR {
            s[r] = _mm512_add_ps(x[r], y[r]);
        }
        s
    }};
}

/// Level 1 of the tree for pair `i` of the fractal at `a`, `b`: `a[2i] * b[2i] + a[2i+1] * b[2i+1]` for
/// every row.
macro_rules! pair {
    ($a:expr, $b:expr, $i:expr, $fused:expr) => {{
        let (a, b, i) = ($a, $b, $i);
        let b0 = _mm512_loadu_ps(b.add(2 * i * NR));
        let b1 = _mm512_loadu_ps(b.add((2 * i + 1) * NR));
        let mut s = [_mm512_setzero_ps(); MR];
        for r in 0..MR {
            let a0 = _mm512_set1_ps(*a.add(2 * i * MR + r));
            let a1 = _mm512_set1_ps(*a.add((2 * i + 1) * MR + r));
            let p1 = _mm512_mul_ps(a1, b1);
            s[r] = if $fused {
                _mm512_fmadd_ps(a0, b0, p1)
            } else {
                _mm512_add_ps(_mm512_mul_ps(a0, b0), p1)
            };
        }
        s
    }};
}

#[target_feature(enable = "avx512f")]
unsafe fn tile(kind: Kind, nf: usize, a: *const f32, b: *const f32, c: *mut f32) {
    // SAFETY (whole body): the caller checked that `a` and `b` hold `nf` fractals and `c` one tile.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); MR];
        for (r, v) in acc.iter_mut().enumerate() {
            *v = _mm512_loadu_ps(c.add(r * NR));
        }
        // A narrow accumulator adds as Tree16 does; its rounding is applied between calls.
        let one_at_a_time = kind.acc.order() == Accumulation::Sequential;
        match (one_at_a_time, kind.fused) {
            (false, true) => tree16::<true>(nf, a, b, &mut acc),
            (false, false) => tree16::<false>(nf, a, b, &mut acc),
            (true, true) => sequential::<true>(nf, a, b, &mut acc),
            (true, false) => sequential::<false>(nf, a, b, &mut acc),
        }
        for (r, v) in acc.iter().enumerate() {
            _mm512_storeu_ps(c.add(r * NR), *v);
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn tree16<const FUSED: bool>(
    nf: usize,
    a: *const f32,
    b: *const f32,
    acc: &mut [__m512; MR],
) {
    unsafe {
        for f in 0..nf {
            let a = a.add(f * FRACTAL_K * MR);
            let b = b.add(f * FRACTAL_K * NR);
            // Pairs in order, folded as soon as a level completes: the fewest live partial sums.
            let t0 = add!(pair!(a, b, 0, FUSED), pair!(a, b, 1, FUSED));
            let t1 = add!(pair!(a, b, 2, FUSED), pair!(a, b, 3, FUSED));
            let u0 = add!(t0, t1);
            let t2 = add!(pair!(a, b, 4, FUSED), pair!(a, b, 5, FUSED));
            let t3 = add!(pair!(a, b, 6, FUSED), pair!(a, b, 7, FUSED));
            let u1 = add!(t2, t3);
            *acc = add!(*acc, add!(u0, u1));
        }
    }
}

#[target_feature(enable = "avx512f")]
unsafe fn sequential<const FUSED: bool>(
    nf: usize,
    a: *const f32,
    b: *const f32,
    acc: &mut [__m512; MR],
) {
    unsafe {
        // The padding of K adds +0 products: no change (see `microkernel::portable`).
        for k in 0..nf * FRACTAL_K {
            let bk = _mm512_loadu_ps(b.add(k * NR));
            for (r, v) in acc.iter_mut().enumerate() {
                let ak = _mm512_set1_ps(*a.add(k * MR + r));
                *v = if FUSED {
                    _mm512_fmadd_ps(ak, bk, *v)
                } else {
                    _mm512_add_ps(*v, _mm512_mul_ps(ak, bk))
                };
            }
        }
    }
}
