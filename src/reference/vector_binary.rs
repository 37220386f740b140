//! CPU twin of `shaders/vector_binary.wgsl`: one function of two inputs, elementwise with broadcasting, in
//! f32 with one rounding (division correctly rounded, as on every GPU through `vm_div`). The activation
//! gradients (`dy * act'(x)`) are written line for line with the shader's, from `vm_*` functions only.

use super::lanes::map2;
use super::vector_math::{
    vm_add, vm_div, vm_erfc, vm_exp, vm_gt, vm_is_nan, vm_max, vm_min, vm_mul, vm_nan2, vm_select,
    vm_sigmoid, vm_sub,
};
use crate::program::{BinaryFn, Broadcast};

/// One function of two values.
pub fn binary_fn(f: BinaryFn, x: f32, y: f32) -> f32 {
    match f {
        BinaryFn::Add => vm_add(x, y),
        BinaryFn::Sub => vm_sub(x, y),
        BinaryFn::Mul => vm_mul(x, y),
        BinaryFn::Div => vm_div(x, y),
        BinaryFn::Max => vm_max(x, y),
        BinaryFn::Min => vm_min(x, y),
        BinaryFn::ReluGrad => relu_grad(x, y),
        BinaryFn::SiluGrad => silu_grad(x, y),
        BinaryFn::GeluGrad => gelu_grad(x, y),
        BinaryFn::GeluTanhGrad => gelu_tanh_grad(x, y),
    }
}

/// `r`, or [`vm_nan2`] where `x` or `dy` is NaN: the gradients compute on every lane (a NaN flows
/// through them harmlessly) and select the NaN last, as the shader's early return gives it.
#[inline(always)]
fn nan_or(x: f32, dy: f32, r: f32) -> f32 {
    vm_select(vm_is_nan(x) || vm_is_nan(dy), vm_nan2(x, dy), r)
}

/// `x` clamped to `[-c, c]` (x not NaN).
#[inline(always)]
fn clamp(x: f32, c: f32) -> f32 {
    vm_min(vm_max(x, -c), c)
}

/// `dy` where `x > 0`, else +0; NaN in either gives NaN.
#[inline(always)]
pub fn relu_grad(x: f32, dy: f32) -> f32 {
    nan_or(x, dy, vm_select(vm_gt(x, 0.0), dy, 0.0))
}

/// `dy * s (1 + x (1 - s))` with `s = sigmoid(x)`, x clamped to [-80, 80] (beyond, the derivative is 1
/// or below 2e-33 in magnitude).
#[inline(always)]
pub fn silu_grad(x: f32, dy: f32) -> f32 {
    let xc = clamp(x, 80.0);
    let s = vm_sigmoid(xc);
    let w = vm_add(1.0, vm_mul(xc, vm_sub(1.0, s)));
    nan_or(x, dy, vm_mul(vm_mul(s, w), dy))
}

const FRAC_1_SQRT_2_NEG: u32 = 0xbf35_04f3; // -1/sqrt(2)
const FRAC_1_SQRT_2PI: u32 = 0x3ecc_422a; // 1/sqrt(2 pi)
const GELU_TANH_K1: u32 = 0x3fcc_422a; // 2 sqrt(2/pi)
const GELU_TANH_K2: u32 = 0x3d92_2279; // 2 sqrt(2/pi) * 0.044715
const GELU_TANH_K2X3: u32 = 0x3e5b_33b6; // 3 K2

/// `dy * (Phi(x) + x phi(x))`: `Phi(x) = 0.5 erfc(-x / sqrt 2)`, `phi(x) = exp(-x^2 / 2) / sqrt(2 pi)`,
/// x clamped to [-20, 20] (beyond, the derivative is 1 or 0 in f32).
#[inline(always)]
pub fn gelu_grad(x: f32, dy: f32) -> f32 {
    let xc = clamp(x, 20.0);
    let cdf = vm_mul(0.5, vm_erfc(vm_mul(xc, f32::from_bits(FRAC_1_SQRT_2_NEG))));
    let e = vm_exp(vm_mul(vm_mul(xc, xc), -0.5));
    let pdf = vm_mul(e, f32::from_bits(FRAC_1_SQRT_2PI));
    nan_or(x, dy, vm_mul(vm_add(cdf, vm_mul(xc, pdf)), dy))
}

/// The derivative of `x sigmoid(v)`, `v = x (K1 + K2 x^2)` (the tanh GELU), times `dy`:
/// `s + x s (1 - s) (K1 + 3 K2 x^2)`, x clamped to [-20, 20].
#[inline(always)]
pub fn gelu_tanh_grad(x: f32, dy: f32) -> f32 {
    let xc = clamp(x, 20.0);
    let x2 = vm_mul(xc, xc);
    let v = vm_mul(
        xc,
        vm_add(
            f32::from_bits(GELU_TANH_K1),
            vm_mul(x2, f32::from_bits(GELU_TANH_K2)),
        ),
    );
    let s = vm_sigmoid(v);
    let dv = vm_add(
        f32::from_bits(GELU_TANH_K1),
        vm_mul(x2, f32::from_bits(GELU_TANH_K2X3)),
    );
    let q = vm_mul(s, vm_sub(1.0, s));
    let d = vm_add(s, vm_mul(vm_mul(xc, q), dv));
    nan_or(x, dy, vm_mul(d, dy))
}

/// `f(x, y)` for each of the `numel` result elements, x and y read through `bcast`, on all cores.
pub fn vector_binary(
    f: BinaryFn,
    x: &[f32],
    y: &[f32],
    bcast: &Broadcast,
    numel: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; numel];
    let fast = bcast.is_contiguous(0) && bcast.is_contiguous(1);
    super::par_fill(
        &mut out,
        1,
        #[inline(always)]
        |first, part| {
            if fast {
                let n = part.len();
                binary_slice(f, &x[first..first + n], &y[first..first + n], part);
                return;
            }
            for (j, o) in part.iter_mut().enumerate() {
                let i = first + j;
                *o = binary_fn(f, x[bcast.offset(0, i)], y[bcast.offset(1, i)]);
            }
        },
    );
    out
}

/// `out[i] = f(x[i], y[i])` over slices laid out as the result, on this thread (callers run it inside
/// `lanes::simd`): one function over slices, vectorised.
#[inline(always)]
pub fn binary_slice(f: BinaryFn, x: &[f32], y: &[f32], out: &mut [f32]) {
    macro_rules! each {
        ($g:expr) => {
            map2(
                out,
                x,
                y,
                #[inline(always)]
                |a, b| ($g)(a, b),
            )
        };
    }
    match f {
        BinaryFn::Add => each!(vm_add),
        BinaryFn::Sub => each!(vm_sub),
        BinaryFn::Mul => each!(vm_mul),
        BinaryFn::Div => each!(vm_div),
        BinaryFn::Max => each!(vm_max),
        BinaryFn::Min => each!(vm_min),
        BinaryFn::ReluGrad => each!(relu_grad),
        BinaryFn::SiluGrad => each!(silu_grad),
        BinaryFn::GeluGrad => each!(gelu_grad),
        BinaryFn::GeluTanhGrad => each!(gelu_tanh_grad),
    }
}
