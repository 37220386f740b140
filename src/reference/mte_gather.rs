//! CPU twin of `shaders/mte_gather.wgsl`: result row `r` is table row `ids[r]`, copied bit for bit.

/// Rows `ids` of a row-major table with rows of `width` elements (ids were checked at recording).
pub fn mte_gather<T: Copy>(table: &[T], ids: &[u32], width: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(ids.len() * width);
    for &id in ids {
        let start = id as usize * width;
        out.extend_from_slice(&table[start..start + width]);
    }
    out
}
