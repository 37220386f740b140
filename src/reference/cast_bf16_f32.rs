//! CPU twin of `shaders/cast_bf16_f32.wgsl`: widens bf16 values to f32 exactly.

use half::bf16;

use crate::numerics::bf16_to_f32;

/// Every element widened to f32 (`bits << 16`).
pub fn cast_bf16_f32(values: &[bf16]) -> Vec<f32> {
    super::lanes::par_map(
        values,
        #[inline(always)]
        |x| bf16_to_f32(x),
    )
}
