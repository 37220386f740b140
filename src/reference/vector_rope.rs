//! CPU twin of `shaders/vector_rope.wgsl`: the rotary embedding in the rotate-half form (see
//! `program::rope`), each product and sum one f32 rounding.

use super::lanes::Elem;
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
    rope_as(op, x, cos, sin)
}

/// [`vector_rope`] reading x as stored (f32 or bf16) and rounding the result once to `U`, a head's row
/// at a time: the row's position is found once, and the two halves are loops over slices (vectorised),
/// each element computed as [`rope_element`] computes it.
pub fn rope_as<T: Elem, U: Elem>(op: &RopeOp, x: &[T], cos: &[f32], sin: &[f32]) -> Vec<U> {
    let mut out = vec![U::default(); x.len()];
    let half = op.dim / 2;
    super::lanes::par_rows(
        &mut out,
        op.dim,
        #[inline(always)]
        |start, o: &mut [U]| {
            let s = (start / (op.dim * op.heads)) % op.seq;
            let (c, sn) = (
                &cos[s * half..(s + 1) * half],
                &sin[s * half..(s + 1) * half],
            );
            let (x1, x2) = x[start..start + op.dim].split_at(half);
            let (o1, o2) = o.split_at_mut(half);
            for d in 0..half {
                let (a, b) = (x1[d].to_f32(), x2[d].to_f32());
                o1[d] = U::from_f32(vm_sub(vm_mul(a, c[d]), vm_mul(b, sn[d])));
                o2[d] = U::from_f32(vm_add(vm_mul(b, c[d]), vm_mul(a, sn[d])));
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_give_the_bits_of_the_element_formula() {
        // x of [2, 3, 5, 8]: batch 2, seq 3, heads 5, dim 8; values with mixed signs and magnitudes.
        let op = RopeOp {
            x: crate::program::TensorId(0),
            cos: crate::program::TensorId(1),
            sin: crate::program::TensorId(2),
            out: crate::program::TensorId(3),
            dtype_out: crate::DType::F32,
            seq: 3,
            heads: 5,
            dim: 8,
        };
        let v = |n: usize, k: u64| -> Vec<f32> {
            (0..n)
                .map(|i| crate::tensor::random::splitmix64(k, i as u64) as i32 as f32 * 1e-9)
                .collect()
        };
        let (x, cos, sin) = (v(2 * 3 * 5 * 8, 1), v(3 * 4, 2), v(3 * 4, 3));
        let got = vector_rope(&op, &x, &cos, &sin);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(
                g.to_bits(),
                rope_element(&op, &x, &cos, &sin, i).to_bits(),
                "element {i}"
            );
        }
    }
}
