//! Host-side numerics: bf16 rounding and packing, and the Cube's accumulation models. The shaders in
//! `shaders/shared/bf16.wgsl` and `shaders/cube_matmul.wgsl` do the same arithmetic line for line; the row
//! reduction order of the Vector unit is in `row_tree`.

pub mod accumulate;
pub mod bf16;
pub mod formats;
pub mod row_tree;

pub use accumulate::Accumulation;
pub use bf16::{bf16_to_f32, f32_to_bf16, pack_bf16, unpack_bf16};
