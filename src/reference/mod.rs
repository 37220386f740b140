//! CPU twins of the shaders, written loop for loop with them so that both produce the same bits: the same
//! zero padding of K fractals, the same addition order, the same reduction tree, the same hand-written
//! transcendentals and correctly rounded division and square root (`vector_math`).

pub mod cast_bf16_f32;
pub mod cast_f32_bf16;
pub mod cast_formats;
pub mod cube_matmul;
pub mod mte_concat;
pub mod mte_gather;
pub mod mte_permute;
pub mod vector_binary;
pub mod vector_epilogue;
pub mod vector_layernorm;
pub mod vector_math;
pub mod vector_reduce;
pub mod vector_rmsnorm;
pub mod vector_rope;
pub mod vector_softmax;
pub mod vector_unary;

/// Threads the CPU twins use: all the host offers.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Fills `out` in parallel: it is cut into whole `unit`s (a row, or 1 for elementwise ops) shared out over
/// the host's threads, and `f(first, part)` fills the part that starts at element `first`.
pub(crate) fn par_fill(out: &mut [f32], unit: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let unit = unit.max(1);
    let units = out.len() / unit;
    // Below this many elements a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 16 * 1024;
    let parts = threads().min(units).min(out.len() / MIN_PER_THREAD).max(1);
    let per = units.div_ceil(parts) * unit;
    if parts == 1 || per == 0 {
        f(0, out);
        return;
    }
    std::thread::scope(|s| {
        for (i, part) in out.chunks_mut(per).enumerate() {
            let f = &f;
            s.spawn(move || f(i * per, part));
        }
    });
}
