//! The fixed reduction order of the Vector unit's row ops (reductions, softmax, the norms), part of the
//! numerics contract like the Cube's accumulation models: GPU and CPU reduce a row in exactly this order,
//! so their sums (and everything computed from them) agree bit for bit.
//!
//! A row of `len` values is dealt round-robin to [`LANES`] lanes: lane `t` folds values `t`, `t + LANES`,
//! `t + 2 LANES`, ... in ascending order, starting from the identity. Then the lanes are combined by a
//! halving tree: for `h = LANES/2, ..., 1`, lane `t < h` becomes `combine(lane[t], lane[t + h])`. The result
//! is lane 0. A GPU workgroup of `LANES` invocations does the same with one invocation per lane.
//!
//! The identity of a sum is -0.0, not +0.0: `-0 + x == x` for every x (signed zeros included), so empty
//! lanes never change a result.

/// Lanes per row: the `vector_*` row shaders' workgroup size.
pub const LANES: usize = 256;

/// The identity of an f32 sum that leaves every value, -0 included, unchanged.
pub const SUM_IDENTITY: f32 = -0.0;

/// Reduces `value(0) .. value(len - 1)` in the contract's order.
#[inline(always)]
pub fn reduce_row(
    len: usize,
    identity: f32,
    value: impl Fn(usize) -> f32,
    combine: impl Fn(f32, f32) -> f32,
) -> f32 {
    let mut lanes = [identity; LANES];
    // A block of LANES values at a time: value i goes to lane i % LANES, and each block's loop over the
    // lanes vectorises.
    let mut start = 0;
    while start < len {
        let n = (len - start).min(LANES);
        for (t, lane) in lanes[..n].iter_mut().enumerate() {
            *lane = combine(*lane, value(start + t));
        }
        start += LANES;
    }
    tree(&mut lanes, combine)
}

/// Reduces `f(row[0]) .. f(row[len - 1])` in the contract's order: [`reduce_row`] over a slice (of f32,
/// or of bf16 that `f` widens).
#[inline(always)]
pub fn reduce_values<T: Copy>(
    row: &[T],
    identity: f32,
    f: impl Fn(T) -> f32,
    combine: impl Fn(f32, f32) -> f32,
) -> f32 {
    let mut lanes = [identity; LANES];
    for block in row.chunks(LANES) {
        for (lane, &v) in lanes.iter_mut().zip(block) {
            *lane = combine(*lane, f(v));
        }
    }
    tree(&mut lanes, combine)
}

/// The halving tree over the lanes; lane 0 is the result.
#[inline(always)]
fn tree(lanes: &mut [f32; LANES], combine: impl Fn(f32, f32) -> f32) -> f32 {
    let mut h = LANES / 2;
    while h >= 1 {
        let (lo, hi) = lanes.split_at_mut(h);
        for (a, &b) in lo.iter_mut().zip(&hi[..h]) {
            *a = combine(*a, b);
        }
        h /= 2;
    }
    lanes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_round_robin_lanes_then_a_halving_tree() {
        // With 2*LANES values, lane t holds v[t] + v[t + LANES]; the tree then adds lanes pairwise.
        // Build values whose sum depends on the order: one large value cancels only in a given order.
        let len = 2 * LANES;
        let v = |i: usize| {
            if i == 0 {
                1.0e8
            } else if i == LANES {
                -1.0e8
            } else {
                1.0
            }
        };
        // Lane 0 = 1e8 + -1e8 = 0 exactly, the other lanes hold 2 (or 1 + 1): the total is exact.
        assert_eq!(
            reduce_row(len, SUM_IDENTITY, v, |a, b| a + b),
            (len - 2) as f32
        );
        // A plain left-to-right sum loses the ones added while 1e8 is present.
        let seq = (0..len).fold(0.0f32, |a, i| a + v(i));
        assert_ne!(seq, (len - 2) as f32);
    }

    #[test]
    fn the_slice_form_reduces_in_the_same_order() {
        // Values whose sums depend on the order (magnitudes from 2^-20 to 2^20), over lengths around the
        // lane count, so that partial blocks and empty lanes are covered.
        for len in [0, 1, 2, 255, 256, 257, 511, 1000, 4096, 4099] {
            let row: Vec<f32> = (0..len)
                .map(|i| {
                    let z = crate::tensor::random::splitmix64(7, i as u64);
                    let m = (z >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                    m * 2f32.powi((z % 41) as i32 - 20)
                })
                .collect();
            let add = |a: f32, b: f32| a + b;
            let by_index = reduce_row(len, SUM_IDENTITY, |i| row[i] * 3.0, add);
            let by_slice = reduce_values(&row, SUM_IDENTITY, |v| v * 3.0, add);
            assert_eq!(by_index.to_bits(), by_slice.to_bits(), "len {len}");
            let max = reduce_values(&row, f32::NEG_INFINITY, |v| v, f32::max);
            assert_eq!(max, row.iter().copied().fold(f32::NEG_INFINITY, f32::max));
        }
    }

    #[test]
    fn negative_zero_survives_and_empty_rows_give_the_identity() {
        assert_eq!(
            reduce_row(3, SUM_IDENTITY, |_| -0.0, |a, b| a + b).to_bits(),
            (-0.0f32).to_bits()
        );
        assert_eq!(
            reduce_row(0, f32::NEG_INFINITY, |_| 0.0, f32::max),
            f32::NEG_INFINITY
        );
    }
}
