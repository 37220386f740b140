//! CPU twin of `shaders/vector_binary.wgsl`: one function of two inputs, elementwise with broadcasting, in
//! f32 with one rounding (division correctly rounded, as on every GPU through `vm_div`).

use super::vector_math::{vm_add, vm_div, vm_max, vm_min, vm_mul, vm_sub};
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
    }
}

/// `f(x, y)` for each of the `numel` result elements, x and y read through `bcast`.
pub fn vector_binary(
    f: BinaryFn,
    x: &[f32],
    y: &[f32],
    bcast: &Broadcast,
    numel: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; numel];
    let fast = bcast.is_contiguous(0) && bcast.is_contiguous(1);
    super::par_fill(&mut out, 1, |first, part| {
        for (j, o) in part.iter_mut().enumerate() {
            let i = first + j;
            let (xi, yi) = if fast {
                (i, i)
            } else {
                (bcast.offset(0, i), bcast.offset(1, i))
            };
            *o = binary_fn(f, x[xi], y[yi]);
        }
    });
    out
}
