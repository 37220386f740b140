//! CPU twin of `shaders/vector_rmsnorm.wgsl`: rmsnorm over the last axis. Per row of `n`:
//! `r = 1 / sqrt(sum(x_i * x_i) / n + eps)`, `out_i = x_i * r (* gamma_i)`; the sum in the `row_tree` order.

use super::vector_layernorm::inv_root;
use super::vector_math::{vm_div, vm_mul};
use super::vector_reduce::row_sum;

/// Rmsnorm of rows of `len`.
pub fn vector_rmsnorm(x: &[f32], gamma: Option<&[f32]>, eps: f32, len: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    let n = len as f32;
    super::par_fill(&mut out, len, |first, part| {
        for (r, o) in part.chunks_mut(len).enumerate() {
            let row = &x[first + r * len..first + (r + 1) * len];
            let ms = vm_div(row_sum(row, |v| vm_mul(v, v)), n);
            let rstd = inv_root(ms, eps);
            for (i, oi) in o.iter_mut().enumerate() {
                let mut y = vm_mul(row[i], rstd);
                if let Some(g) = gamma {
                    y = vm_mul(y, g[i]);
                }
                *oi = y;
            }
        }
    });
    out
}
