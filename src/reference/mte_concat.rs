//! CPU twin of `shaders/mte_concat.wgsl`: result row `r` is row `r` of `a` (`a_width` elements) then row
//! `r` of `b` (`b_width`), copied bit for bit.

/// `a` and `b`, row-major with rows of `a_width` and `b_width` elements (the same number of rows),
/// joined row by row.
pub fn mte_concat<T: Copy>(a: &[T], b: &[T], a_width: usize, b_width: usize) -> Vec<T> {
    let rows = a
        .len()
        .checked_div(a_width)
        .unwrap_or_else(|| b.len() / b_width.max(1));
    let mut out = Vec::with_capacity(a.len() + b.len());
    for r in 0..rows {
        out.extend_from_slice(&a[r * a_width..(r + 1) * a_width]);
        out.extend_from_slice(&b[r * b_width..(r + 1) * b_width]);
    }
    out
}
