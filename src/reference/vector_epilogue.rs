//! CPU twin of `shaders/vector_epilogue.wgsl`: a `cube_matmul` epilogue applied to the f32 accumulator,
//! in the order of `program::epilogue` (scale, bias, activation, residual), one f32 rounding per step.

use super::vector_math::{vm_add, vm_gelu, vm_gelu_tanh, vm_mul, vm_silu};
use super::vector_unary::relu;
use crate::program::Activation;

/// The epilogue's operands, widened to f32.
pub struct EpilogueInputs<'a> {
    pub scale: Option<f32>,
    /// `[N]`
    pub bias: Option<&'a [f32]>,
    pub activation: Activation,
    /// The result's shape.
    pub residual: Option<&'a [f32]>,
}

/// One activation of one value.
pub fn activate(a: Activation, v: f32) -> f32 {
    match a {
        Activation::None => v,
        Activation::Relu => relu(v),
        Activation::Gelu => vm_gelu(v),
        Activation::GeluTanh => vm_gelu_tanh(v),
        Activation::Silu => vm_silu(v),
    }
}

/// Applies the epilogue in place to `acc`, whose rows have `n` elements.
pub fn vector_epilogue(acc: &mut [f32], n: usize, e: &EpilogueInputs<'_>) {
    super::par_fill(acc, n, |first, part| {
        for (j, v) in part.iter_mut().enumerate() {
            let i = first + j;
            let mut y = *v;
            if let Some(s) = e.scale {
                y = vm_mul(y, s);
            }
            if let Some(b) = e.bias {
                y = vm_add(y, b[i % n]);
            }
            y = activate(e.activation, y);
            if let Some(r) = e.residual {
                y = vm_add(y, r[i]);
            }
            *v = y;
        }
    });
}
