//! CPU twins of the shaders, written loop for loop with them so that both produce the same bits: the same
//! zero padding of K fractals, the same addition order, the same explicit fused multiply-adds.

pub mod cast_bf16_f32;
pub mod cast_f32_bf16;
pub mod cube_matmul;

/// Threads the CPU twins use: all the host offers.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
