//! CPU twin of `shaders/vector_softmax.wgsl`: softmax over the last axis of `x + mask`, numerically stable.
//! Per row: `v_i = x_i + mask_i`, `m = max(v)`, `e_i = exp(v_i - m)`, `s = sum(e)`, `out_i = e_i / s`; the max
//! and the sum in the `row_tree` order, exp and the division from `vector_math`. A row of all -inf gives
//! `-inf - -inf = NaN` everywhere, as does a row holding +inf or NaN.

use super::lanes::Elem;
use super::vector_math::{vm_add, vm_div, vm_exp, vm_max, vm_sub};
use crate::numerics::row_tree::{SUM_IDENTITY, reduce_values};
use crate::program::Broadcast;
use crate::program::broadcast::MAX_DIMS;

/// Softmax of rows of `len`; `mask` (if any) is read through operand 1 of `bcast` over x's elements.
/// Each row is written three times in place (v, then e, then e / s), so exp runs once per element and
/// every pass is a loop over a slice, vectorised (`lanes`).
pub fn vector_softmax(x: &[f32], mask: Option<&[f32]>, bcast: &Broadcast, len: usize) -> Vec<f32> {
    softmax_as(x, mask, bcast, len)
}

/// [`vector_softmax`] reading x as stored (f32 or bf16, widened exactly) and rounding the result once to
/// `U` (a bf16 result is computed in an f32 row first).
pub fn softmax_as<T: Elem, U: Elem>(
    x: &[T],
    mask: Option<&[f32]>,
    bcast: &Broadcast,
    len: usize,
) -> Vec<U> {
    let mut out = vec![U::default(); x.len()];
    // A mask broadcast over leading axes (one [seq, seq] mask for every head) is still contiguous within
    // each row when its innermost axis has stride 1 and holds whole rows: one offset per row then.
    let (inner, stride) = (bcast.dims[MAX_DIMS - 1], bcast.strides[1][MAX_DIMS - 1]);
    let rows_contiguous = bcast.is_contiguous(1) || (len > 0 && inner % len == 0 && stride == 1);
    super::par_fill(
        &mut out,
        len,
        #[inline(always)]
        |first, part: &mut [U]| {
            // A bf16 result is computed in an f32 row, one per part, reused for each of its rows.
            let mut scratch = Vec::new();
            for (r, o) in part.chunks_mut(len.max(1)).enumerate() {
                let start = first + r * len;
                let v: &mut [f32] = match U::as_f32(o) {
                    Some(v) => v,
                    None => {
                        scratch.resize(len, 0.0);
                        &mut scratch
                    }
                };
                let row = &x[start..start + len];
                match mask {
                    Some(m) if rows_contiguous => {
                        let at = bcast.offset(1, start);
                        map2_widen(v, row, &m[at..at + len])
                    }
                    Some(m) => {
                        for (i, vi) in v.iter_mut().enumerate() {
                            *vi = vm_add(row[i].to_f32(), m[bcast.offset(1, start + i)]);
                        }
                    }
                    None => {
                        for (vi, &r) in v.iter_mut().zip(row) {
                            *vi = r.to_f32();
                        }
                    }
                }
                let max = reduce_values(v, f32::NEG_INFINITY, |v| v, |a, b| vm_max(a, b));
                map1_in_place(v, |v| vm_exp(vm_sub(v, max)));
                let sum = reduce_values(v, SUM_IDENTITY, |v| v, |a, b| vm_add(a, b));
                map1_in_place(v, |e| vm_div(e, sum));
                if U::as_f32(o).is_none() {
                    for (oi, &r) in o.iter_mut().zip(scratch.iter()) {
                        *oi = U::from_f32(r);
                    }
                }
            }
        },
    );
    out
}

/// `v[i] = x[i] + m[i]`, x widened.
#[inline(always)]
fn map2_widen<T: Elem>(v: &mut [f32], x: &[T], m: &[f32]) {
    for ((vi, &a), &b) in v.iter_mut().zip(x).zip(m) {
        *vi = vm_add(a.to_f32(), b);
    }
}

/// `o[i] = f(o[i])`.
#[inline(always)]
fn map1_in_place(o: &mut [f32], f: impl Fn(f32) -> f32) {
    for oi in o.iter_mut() {
        *oi = f(*oi);
    }
}
