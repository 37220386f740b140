//! CPU twin of `shaders/vector_layernorm.wgsl`: layernorm over the last axis with the biased variance.
//! Per row of `n`: `mean = sum(x) / n`, `d_i = x_i - mean`, `var = sum(d_i * d_i) / n`,
//! `rstd = 1 / sqrt(var + eps)`, `out_i = d_i * rstd (* gamma_i) (+ beta_i)`. Sums in the `row_tree` order;
//! division and square root correctly rounded (`vector_math`), so every step is one IEEE rounding.

use super::vector_math::{vm_add, vm_div, vm_mul, vm_rsqrt, vm_sub};
use super::vector_reduce::row_sum;

/// `1 / sqrt(mean + eps)`: the norms' shared last step.
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
    let mut out = vec![0f32; x.len()];
    let n = len as f32;
    super::par_fill(&mut out, len, |first, part| {
        for (r, o) in part.chunks_mut(len).enumerate() {
            let row = &x[first + r * len..first + (r + 1) * len];
            let mean = vm_div(row_sum(row, |v| v), n);
            let var = vm_div(
                row_sum(row, |v| {
                    let d = vm_sub(v, mean);
                    vm_mul(d, d)
                }),
                n,
            );
            let rstd = inv_root(var, eps);
            for (i, oi) in o.iter_mut().enumerate() {
                let mut y = vm_mul(vm_sub(row[i], mean), rstd);
                if let Some(g) = gamma {
                    y = vm_mul(y, g[i]);
                }
                if let Some(b) = beta {
                    y = vm_add(y, b[i]);
                }
                *oi = y;
            }
        }
    });
    out
}
