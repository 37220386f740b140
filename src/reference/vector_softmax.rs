//! CPU twin of `shaders/vector_softmax.wgsl`: softmax over the last axis of `x + mask`, numerically stable.
//! Per row: `v_i = x_i + mask_i`, `m = max(v)`, `e_i = exp(v_i - m)`, `s = sum(e)`, `out_i = e_i / s`; the max
//! and the sum in the `row_tree` order, exp and the division from `vector_math`. A row of all -inf gives
//! `-inf - -inf = NaN` everywhere, as does a row holding +inf or NaN.

use super::vector_math::{vm_add, vm_div, vm_exp, vm_max, vm_sub};
use crate::numerics::row_tree::{SUM_IDENTITY, reduce_row};
use crate::program::Broadcast;

/// Softmax of rows of `len`; `mask` (if any) is read through operand 1 of `bcast` over x's elements.
pub fn vector_softmax(x: &[f32], mask: Option<&[f32]>, bcast: &Broadcast, len: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    super::par_fill(&mut out, len, |first, part| {
        for (r, o) in part.chunks_mut(len).enumerate() {
            let base = first + r * len;
            let v = |i: usize| match mask {
                Some(m) => vm_add(x[base + i], m[bcast.offset(1, base + i)]),
                None => x[base + i],
            };
            let max = reduce_row(len, f32::NEG_INFINITY, v, vm_max);
            let e = |i: usize| vm_exp(vm_sub(v(i), max));
            let sum = reduce_row(len, SUM_IDENTITY, e, vm_add);
            for (i, oi) in o.iter_mut().enumerate() {
                *oi = vm_div(e(i), sum);
            }
        }
    });
    out
}
