//! CPU twin of `shaders/vector_unary.wgsl`: one function of one input, elementwise, in f32.

use super::lanes::map1;
use super::vector_math::{
    vm_erf, vm_exp, vm_gelu, vm_gelu_tanh, vm_log, vm_recip, vm_rsqrt, vm_sigmoid, vm_silu,
    vm_sqrt, vm_tanh,
};
use crate::program::UnaryFn;

/// `max(x, 0)`, with NaN kept and -0 giving +0 (as the shader's select does).
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    if x.is_nan() || x > 0.0 { x } else { 0.0 }
}

/// One function of one value. neg and abs touch only the sign bit, as the Vector unit's do.
#[inline]
pub fn unary_fn(f: UnaryFn, x: f32) -> f32 {
    match f {
        UnaryFn::Neg => f32::from_bits(x.to_bits() ^ 0x8000_0000),
        UnaryFn::Abs => f32::from_bits(x.to_bits() & 0x7fff_ffff),
        UnaryFn::Exp => vm_exp(x),
        UnaryFn::Log => vm_log(x),
        UnaryFn::Sqrt => vm_sqrt(x),
        UnaryFn::Rsqrt => vm_rsqrt(x),
        UnaryFn::Recip => vm_recip(x),
        UnaryFn::Tanh => vm_tanh(x),
        UnaryFn::Sigmoid => vm_sigmoid(x),
        UnaryFn::Relu => relu(x),
        UnaryFn::Silu => vm_silu(x),
        UnaryFn::Gelu => vm_gelu(x),
        UnaryFn::GeluTanh => vm_gelu_tanh(x),
        UnaryFn::Erf => vm_erf(x),
    }
}

/// `f` of every element (inputs already widened to f32), f32 results. The function is chosen once per
/// part, so each loop is one function over a slice, vectorised (`lanes`).
pub fn vector_unary(f: UnaryFn, x: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    super::par_fill(
        &mut out,
        1,
        #[inline(always)]
        |first, part| {
            let x = &x[first..first + part.len()];
            match f {
                UnaryFn::Neg => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| unary_fn(UnaryFn::Neg, v),
                ),
                UnaryFn::Abs => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| unary_fn(UnaryFn::Abs, v),
                ),
                UnaryFn::Exp => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_exp(v),
                ),
                UnaryFn::Log => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_log(v),
                ),
                UnaryFn::Sqrt => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_sqrt(v),
                ),
                UnaryFn::Rsqrt => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_rsqrt(v),
                ),
                UnaryFn::Recip => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_recip(v),
                ),
                UnaryFn::Tanh => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_tanh(v),
                ),
                UnaryFn::Sigmoid => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_sigmoid(v),
                ),
                UnaryFn::Relu => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| relu(v),
                ),
                UnaryFn::Silu => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_silu(v),
                ),
                UnaryFn::Gelu => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_gelu(v),
                ),
                UnaryFn::GeluTanh => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_gelu_tanh(v),
                ),
                UnaryFn::Erf => map1(
                    part,
                    x,
                    #[inline(always)]
                    |v| vm_erf(v),
                ),
            }
        },
    );
    out
}
