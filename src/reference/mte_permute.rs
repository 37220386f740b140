//! CPU twin of `shaders/mte_permute.wgsl`: result element `f` is input element `bcast.offset(0, f)`, copied
//! bit for bit.

use crate::program::Broadcast;

/// The permuted copy of `x` (any element type: bits are moved, never converted).
pub fn mte_permute<T: Copy + Send + Sync>(x: &[T], bcast: &Broadcast) -> Vec<T> {
    (0..x.len()).map(|f| x[bcast.offset(0, f)]).collect()
}
