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

/// `f` of every element (inputs already widened to f32), f32 results, on all cores.
pub fn vector_unary(f: UnaryFn, x: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    super::par_fill(
        &mut out,
        1,
        #[inline(always)]
        |first, part| unary_slice(f, &x[first..first + part.len()], part),
    );
    out
}

/// `out[i] = f(x[i])` over one slice, on this thread (callers run it inside `lanes::simd`, as
/// `par_fill` does). The function is chosen once, so each loop is one function over a slice, vectorised.
#[inline(always)]
pub fn unary_slice(f: UnaryFn, x: &[f32], out: &mut [f32]) {
    macro_rules! each {
        ($g:expr) => {
            map1(
                out,
                x,
                #[inline(always)]
                |v| ($g)(v),
            )
        };
    }
    match f {
        UnaryFn::Neg => each!(|v| unary_fn(UnaryFn::Neg, v)),
        UnaryFn::Abs => each!(|v| unary_fn(UnaryFn::Abs, v)),
        UnaryFn::Exp => each!(vm_exp),
        UnaryFn::Log => each!(vm_log),
        UnaryFn::Sqrt => each!(vm_sqrt),
        UnaryFn::Rsqrt => each!(vm_rsqrt),
        UnaryFn::Recip => each!(vm_recip),
        UnaryFn::Tanh => each!(vm_tanh),
        UnaryFn::Sigmoid => each!(vm_sigmoid),
        UnaryFn::Relu => each!(relu),
        UnaryFn::Silu => each!(vm_silu),
        UnaryFn::Gelu => each!(vm_gelu),
        UnaryFn::GeluTanh => each!(vm_gelu_tanh),
        UnaryFn::Erf => each!(vm_erf),
    }
}
