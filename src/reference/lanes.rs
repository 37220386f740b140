//! The CPU twins' loops, compiled for the host's vector unit: [`simd`] runs a closure in a function built
//! with AVX2 (chosen at run time, where the host has it), and [`par_fill`] shares a result out over the
//! host's threads, each part inside [`simd`].
//!
//! Why this changes no bits: AVX2 gives the compiler wider registers, not other arithmetic. Rust never
//! contracts `a * b + c` into a fused multiply-add, never reassociates float operations, and keeps
//! subnormals (no flush-to-zero), so an 8-lane `vmulps` rounds each lane exactly as `mulss` does. The
//! `vm_*` functions are written branch-free (selects), so the loops over them vectorise.
//!
//! Closures handed to [`simd`] and [`par_fill`] are marked `#[inline(always)]` at the call site: the body
//! must be inlined into the AVX2 function to be compiled for it, and a large body would otherwise stay a
//! call into baseline (SSE2) code.

/// Runs `f`, compiled with AVX2 where the host has it (`is_x86_feature_detected` caches its answer), else
/// as built.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the host has AVX2, checked just above.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// `f` built with AVX2 (its body inlined here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Threads the CPU twins use: all the host offers. Asked once per process: on Linux the answer reads the
/// cgroup files (tens of microseconds), more than a small op takes.
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Fills `out` in parallel: it is cut into whole `unit`s (a row, or 1 for elementwise ops) shared out over
/// the host's threads, and `f(first, part)` fills the part that starts at element `first`, inside [`simd`].
#[inline(always)]
pub(crate) fn par_fill<T: Send>(out: &mut [T], unit: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    let unit = unit.max(1);
    let units = out.len() / unit;
    // Below this many elements a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 16 * 1024;
    let parts = threads().min(units).min(out.len() / MIN_PER_THREAD).max(1);
    let per = units.div_ceil(parts) * unit;
    if parts == 1 || per == 0 {
        simd(
            #[inline(always)]
            || f(0, out),
        );
        return;
    }
    std::thread::scope(|s| {
        for (i, part) in out.chunks_mut(per).enumerate() {
            let f = &f;
            s.spawn(move || {
                simd(
                    #[inline(always)]
                    || f(i * per, part),
                )
            });
        }
    });
}

/// An element type the row twins read and write: f32, or bf16 (widened exactly on the way in, rounded
/// once, nearest even, on the way out), so that a bf16 tensor needs no f32 copy of itself.
pub trait Elem: Copy + Default + Send + Sync {
    fn to_f32(self) -> f32;
    fn from_f32(v: f32) -> Self;
    /// The slice itself where the element is f32 (results can be computed in place), else `None`.
    fn as_f32(s: &mut [Self]) -> Option<&mut [f32]>;
}

impl Elem for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn as_f32(s: &mut [Self]) -> Option<&mut [f32]> {
        Some(s)
    }
}

impl Elem for half::bf16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        crate::numerics::bf16_to_f32(self)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        crate::numerics::f32_to_bf16(v)
    }
    #[inline(always)]
    fn as_f32(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

/// A row op's result: `out` (rows of `len`) filled in parallel, `f(start, row_out)` for each row, where
/// `start` is the row's first element, inside [`simd`].
#[inline(always)]
pub(crate) fn par_rows<T: Send>(out: &mut [T], len: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    par_fill(
        out,
        len,
        #[inline(always)]
        |first, part| {
            for (r, o) in part.chunks_mut(len.max(1)).enumerate() {
                f(first + r * len, o);
            }
        },
    );
}

/// `f` of every element of `x`, on all cores, vectorised: the conversions' loop.
#[inline(always)]
pub(crate) fn par_map<T: Copy + Sync, U: Copy + Default + Send>(
    x: &[T],
    f: impl Fn(T) -> U + Sync,
) -> Vec<U> {
    let mut out = vec![U::default(); x.len()];
    par_fill(
        &mut out,
        1,
        #[inline(always)]
        |first, part| {
            for (o, &v) in part.iter_mut().zip(&x[first..]) {
                *o = f(v);
            }
        },
    );
    out
}

/// `out[i] = f(x[i])`, vectorised (the caller is inside [`simd`]).
#[inline(always)]
pub(crate) fn map1(out: &mut [f32], x: &[f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// `out[i] = f(x[i], y[i])`, vectorised (the caller is inside [`simd`]).
#[inline(always)]
pub(crate) fn map2(out: &mut [f32], x: &[f32], y: &[f32], f: impl Fn(f32, f32) -> f32) {
    for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
        *o = f(a, b);
    }
}
