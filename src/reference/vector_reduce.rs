//! CPU twin of `shaders/vector_reduce.wgsl`: sum, mean, max and sum of squares over the last axis, in the
//! fixed lane-and-tree order of `numerics::row_tree`.

use super::vector_math::{vm_add, vm_div, vm_max, vm_mul};
use crate::numerics::row_tree::{SUM_IDENTITY, reduce_values};
use crate::program::ReduceFn;

/// The row sum of `f(x_i)` in the contract's order.
#[inline(always)]
pub fn row_sum<T: Copy>(row: &[T], f: impl Fn(T) -> f32) -> f32 {
    reduce_values(row, SUM_IDENTITY, f, |a, b| vm_add(a, b))
}

/// The row maximum (NaN if any element is NaN); -inf for no elements.
#[inline(always)]
pub fn row_max(row: &[f32]) -> f32 {
    reduce_values(row, f32::NEG_INFINITY, |v| v, |a, b| vm_max(a, b))
}

/// One reduction of one row.
#[inline(always)]
pub fn reduce_fn(f: ReduceFn, row: &[f32]) -> f32 {
    match f {
        ReduceFn::Sum => row_sum(row, |v| v),
        ReduceFn::Mean => vm_div(row_sum(row, |v| v), row.len() as f32),
        ReduceFn::Amax => row_max(row),
        ReduceFn::SumSq => row_sum(row, |v| vm_mul(v, v)),
    }
}

/// `f` over each row of `len` elements of `x`.
pub fn vector_reduce(f: ReduceFn, x: &[f32], len: usize) -> Vec<f32> {
    let rows = x.len() / len;
    let mut out = vec![0f32; rows];
    super::par_fill(
        &mut out,
        1,
        #[inline(always)]
        |first, part| {
            for (j, o) in part.iter_mut().enumerate() {
                let r = first + j;
                *o = reduce_fn(f, &x[r * len..(r + 1) * len]);
            }
        },
    );
    out
}
