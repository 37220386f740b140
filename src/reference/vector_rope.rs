//! CPU twin of `shaders/vector_rope.wgsl`: the rotary embedding in the rotate-half form (see
//! `program::rope`), each product and sum one f32 rounding.

use super::vector_math::{vm_add, vm_mul, vm_sub};
use crate::program::RopeOp;

/// Element `i` of the result, for `x` of `[.., seq, heads, dim]` and tables of `[seq, dim / 2]`.
pub fn rope_element(op: &RopeOp, x: &[f32], cos: &[f32], sin: &[f32], i: usize) -> f32 {
    let half = op.dim / 2;
    let d = i % op.dim;
    let s = (i / (op.dim * op.heads)) % op.seq;
    let t = s * half + d % half;
    let (c, sn) = (cos[t], sin[t]);
    if d < half {
        vm_sub(vm_mul(x[i], c), vm_mul(x[i + half], sn))
    } else {
        vm_add(vm_mul(x[i], c), vm_mul(x[i - half], sn))
    }
}

/// The rotary embedding of every element, f32 results.
pub fn vector_rope(op: &RopeOp, x: &[f32], cos: &[f32], sin: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    super::par_fill(&mut out, op.dim, |first, part| {
        for (j, o) in part.iter_mut().enumerate() {
            *o = rope_element(op, x, cos, sin, first + j);
        }
    });
    out
}
