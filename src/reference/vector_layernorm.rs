//! CPU twin of `shaders/vector_layernorm.wgsl`: layernorm over the last axis with the biased variance.
//! Per row of `n`: `mean = sum(x) / n`, `d_i = x_i - mean`, `var = sum(d_i * d_i) / n`,
//! `rstd = 1 / sqrt(var + eps)`, `out_i = d_i * rstd (* gamma_i) (+ beta_i)`. Sums in the `row_tree` order;
//! division and square root correctly rounded (`vector_math`), so every step is one IEEE rounding.

use super::lanes::Elem;
use super::vector_math::{vm_add, vm_div, vm_mul, vm_rsqrt, vm_sub};
use super::vector_reduce::row_sum;

/// `1 / sqrt(mean + eps)`: the norms' shared last step.
#[inline(always)]
pub fn inv_root(mean: f32, eps: f32) -> f32 {
    vm_rsqrt(vm_add(mean, eps))
}

/// Layernorm of rows of `len`.
pub fn vector_layernorm(
    x: &[f32],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    len: usize,
) -> Vec<f32> {
    layernorm_as(x, gamma, beta, eps, len)
}

/// [`vector_layernorm`] reading x as stored (f32 or bf16, widened exactly) and rounding the result once
/// to `U`: the same bits as widening, normalising in f32 and rounding, without a whole-tensor copy.
pub fn layernorm_as<T: Elem, U: Elem>(
    x: &[T],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    len: usize,
) -> Vec<U> {
    let mut out = vec![U::default(); x.len()];
    let n = len as f32;
    super::lanes::par_rows(
        &mut out,
        len,
        #[inline(always)]
        |start, o| {
            let row = &x[start..start + len];
            let mean = vm_div(row_sum(row, |v| v.to_f32()), n);
            let var = vm_div(
                row_sum(row, |v| {
                    let d = vm_sub(v.to_f32(), mean);
                    vm_mul(d, d)
                }),
                n,
            );
            let rstd = inv_root(var, eps);
            scale_shift(
                o,
                row,
                |v| vm_mul(vm_sub(v.to_f32(), mean), rstd),
                gamma,
                beta,
            );
        },
    );
    out
}

/// `o[i] = y(x[i]) * gamma[i] + beta[i]`, each factor where given, in that order (one rounding each), then
/// one rounding to `U`, in one pass per row: a loop per case, so each vectorises.
#[inline(always)]
pub(super) fn scale_shift<T: Copy, U: Elem>(
    o: &mut [U],
    x: &[T],
    y: impl Fn(T) -> f32,
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
) {
    match (gamma, beta) {
        (Some(g), Some(b)) => {
            for (((oi, &v), &gi), &bi) in o.iter_mut().zip(x).zip(g).zip(b) {
                *oi = U::from_f32(vm_add(vm_mul(y(v), gi), bi));
            }
        }
        (Some(g), None) => {
            for ((oi, &v), &gi) in o.iter_mut().zip(x).zip(g) {
                *oi = U::from_f32(vm_mul(y(v), gi));
            }
        }
        (None, Some(b)) => {
            for ((oi, &v), &bi) in o.iter_mut().zip(x).zip(b) {
                *oi = U::from_f32(vm_add(y(v), bi));
            }
        }
        (None, None) => {
            for (oi, &v) in o.iter_mut().zip(x) {
                *oi = U::from_f32(y(v));
            }
        }
    }
}
