//! The project's deterministic input generator, `gen_bf16(seed, shape, scale)` of `tests/golden/README.md`:
//! a splitmix64 stream mapped to uniform values in [-1, 1), scaled and rounded to bf16. Written out because
//! the goldens fix this exact stream; no crate promises it.

use half::bf16;

use super::{Shape, Tensor};
use crate::numerics::f32_to_bf16;

/// The `i`-th output (0-based) of splitmix64 started at `seed`.
#[inline]
pub fn splitmix64(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add((i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z ^= z >> 30;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 27;
    z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `gen_bf16(seed, shape, scale)`: row-major bf16 values `round(u_i * scale)` with `u_i` uniform in [-1, 1).
/// Each value is a pure function of `(seed, i, scale)`, so large tensors are filled in parallel chunks with
/// the same bits as one pass.
pub fn gen_bf16(seed: u64, shape: impl Into<Shape>, scale: f32) -> Tensor {
    let shape = shape.into();
    let mut values = vec![bf16::ZERO; shape.numel()];
    // Below this many elements per thread, a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 1 << 18;
    let parts = crate::reference::threads()
        .min(values.len() / MIN_PER_THREAD)
        .max(1);
    let per = values.len().div_ceil(parts).max(1);
    std::thread::scope(|s| {
        for (c, chunk) in values.chunks_mut(per).enumerate() {
            s.spawn(move || gen_into(seed, (c * per) as u64, scale, chunk));
        }
    });
    Tensor::from_bf16(shape, values).expect("length matches shape by construction")
}

/// The value of `gen_bf16` at index `i`.
#[inline]
pub fn gen_bf16_at(seed: u64, i: u64, scale: f32) -> bf16 {
    // The top 24 bits give an exact f32 in [0, 2); minus one is exact too.
    let u = (splitmix64(seed, i) >> 40) as f32 * (1.0 / 8_388_608.0) - 1.0;
    f32_to_bf16(u * scale)
}

/// Fills `out` with the values of `gen_bf16` from index `first` on.
fn gen_into(seed: u64, first: u64, scale: f32, out: &mut [bf16]) {
    for (i, v) in out.iter_mut().enumerate() {
        *v = gen_bf16_at(seed, first + i as u64, scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value_from_golden_readme() {
        assert_eq!(splitmix64(0, 0), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn values_in_range_and_deterministic() {
        let a = gen_bf16(7, [3, 5], 2.0);
        let b = gen_bf16(7, [3, 5], 2.0);
        assert!(a.bit_eq(&b));
        assert!(a.to_f32_vec().iter().all(|&x| (-2.0..=2.0).contains(&x)));
        assert!(!a.bit_eq(&gen_bf16(8, [3, 5], 2.0)));
    }

    #[test]
    fn parallel_fill_equals_one_pass() {
        // Large and odd enough to be cut into several uneven chunks.
        let n = 3 * (1 << 18) + 12_345;
        let t = gen_bf16(42, [n], 0.5);
        let serial: Vec<bf16> = (0..n as u64).map(|i| gen_bf16_at(42, i, 0.5)).collect();
        assert_eq!(t.as_bf16().unwrap(), serial.as_slice());
        // And the first values match a small tensor's (the chunking does not shift the stream).
        let small = gen_bf16(42, [7], 0.5);
        assert_eq!(&t.as_bf16().unwrap()[..7], small.as_bf16().unwrap());
    }
}
