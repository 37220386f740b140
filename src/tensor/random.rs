//! The project's deterministic input generator, `gen_bf16(seed, shape, scale)` of `shared/golden/README.md`:
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
pub fn gen_bf16(seed: u64, shape: impl Into<Shape>, scale: f32) -> Tensor {
    let shape = shape.into();
    let values: Vec<bf16> = (0..shape.numel() as u64)
        .map(|i| {
            // The top 24 bits give an exact f32 in [0, 2); minus one is exact too.
            let u = (splitmix64(seed, i) >> 40) as f32 * (1.0 / 8_388_608.0) - 1.0;
            f32_to_bf16(u * scale)
        })
        .collect();
    Tensor::from_bf16(shape, values).expect("length matches shape by construction")
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
}
