//! CPU twin of `shaders/cast_f32_bf16.wgsl`: rounds f32 values to bf16 once (FixPipe's output conversion).

use half::bf16;

use crate::numerics::f32_to_bf16;

/// Rounds every element to bf16, nearest even.
pub fn cast_f32_bf16(values: &[f32]) -> Vec<bf16> {
    super::lanes::par_map(
        values,
        #[inline(always)]
        |x| f32_to_bf16(x),
    )
}
