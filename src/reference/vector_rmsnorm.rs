//! CPU twin of `shaders/vector_rmsnorm.wgsl`: rmsnorm over the last axis. Per row of `n`:
//! `r = 1 / sqrt(sum(x_i * x_i) / n + eps)`, `out_i = x_i * r (* gamma_i)`; the sum in the `row_tree` order.

use super::lanes::Elem;
use super::vector_layernorm::{inv_root, scale_shift};
use super::vector_math::{vm_div, vm_mul};
use super::vector_reduce::row_sum;

/// Rmsnorm of rows of `len`.
pub fn vector_rmsnorm(x: &[f32], gamma: Option<&[f32]>, eps: f32, len: usize) -> Vec<f32> {
    rmsnorm_as(x, gamma, eps, len)
}

/// [`vector_rmsnorm`] reading x as stored (f32 or bf16) and rounding the result once to `U`.
pub fn rmsnorm_as<T: Elem, U: Elem>(
    x: &[T],
    gamma: Option<&[f32]>,
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
            let ms = vm_div(
                row_sum(row, |v| {
                    let v = v.to_f32();
                    vm_mul(v, v)
                }),
                n,
            );
            let rstd = inv_root(ms, eps);
            scale_shift(o, row, |v| vm_mul(v.to_f32(), rstd), gamma, None);
        },
    );
    out
}
