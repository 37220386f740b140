//! bf16 conversions and the GPU packing of bf16 pairs, as the numerics contract in DESIGN.md states them.
//!
//! f32 -> bf16 rounds to nearest, ties to even; overflow goes to infinity; NaN stays a quiet NaN of the
//! same sign; subnormals are kept. bf16 -> f32 is exact. These are written out here (rather than taken from
//! `half`) so that the host code reads the same as `shaders/shared/bf16.wgsl`, which cannot call a crate;
//! a test checks both against the third-party goldens and against `half`.

use half::bf16;

/// Rounds an f32 to bf16, nearest even, returning the raw bits.
#[inline(always)]
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    // NaN: keep sign and the top payload bits, force the quiet bit so truncation cannot make an infinity.
    let nan = ((b >> 16) | 0x0040) as u16;
    let lsb = (b >> 16) & 1;
    // Adding 0x7fff plus the kept LSB rounds to nearest with ties to even; a carry out of the mantissa
    // moves into the exponent, which is exactly how overflow reaches infinity.
    let rounded = (b.wrapping_add(0x7fff + lsb) >> 16) as u16;
    // A select, not a branch, so that loops over this vectorise.
    if b & 0x7fff_ffff > 0x7f80_0000 {
        nan
    } else {
        rounded
    }
}

/// Rounds an f32 to bf16, nearest even.
#[inline(always)]
pub fn f32_to_bf16(x: f32) -> bf16 {
    bf16::from_bits(f32_to_bf16_bits(x))
}

/// Widens a bf16 to f32, exactly.
#[inline(always)]
pub fn bf16_to_f32(x: bf16) -> f32 {
    f32::from_bits((x.to_bits() as u32) << 16)
}

/// Packs bf16 values two per u32, element 2i in the low half, as GPU buffers hold them. An odd count is
/// padded with a zero high half.
pub fn pack_bf16(values: &[bf16]) -> Vec<u32> {
    values
        .chunks(2)
        .map(|pair| {
            let lo = pair[0].to_bits() as u32;
            let hi = pair.get(1).map_or(0, |h| h.to_bits() as u32);
            lo | (hi << 16)
        })
        .collect()
}

/// Unpacks `len` bf16 values from u32 words packed by [`pack_bf16`] (or by a shader).
pub fn unpack_bf16(words: &[u32], len: usize) -> Vec<bf16> {
    (0..len)
        .map(|i| bf16::from_bits((words[i / 2] >> ((i % 2) * 16)) as u16))
        .collect()
}

/// The canonical quiet NaN that a NaN Cube result is stored as.
pub const CANONICAL_NAN: u32 = 0x7fc0_0000;

/// A Cube result as stored (L0C -> GM): a NaN becomes [`CANONICAL_NAN`]. Hardware differs in which NaN an
/// operation returns (x86 keeps an operand's payload, NVIDIA returns 0x7FFFFFFF), so only a canonical NaN
/// keeps GPU and CPU bit-identical. Mirrors `cube_out_bits` in `shaders/shared/bf16.wgsl`.
pub fn cube_out(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(CANONICAL_NAN)
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_edges() {
        assert_eq!(f32_to_bf16_bits(1.0), 0x3f80);
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even is 1.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3f80_8000)), 0x3f80);
        // 1 + 3*2^-8 is a tie between odd and even: rounds up to even.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x3f81_8000)), 0x3f82);
        assert_eq!(f32_to_bf16_bits(f32::MAX), 0x7f80);
        assert_eq!(f32_to_bf16_bits(-f32::MAX), 0xff80);
        assert_eq!(
            f32_to_bf16_bits(f32::from_bits(0x7f80_0001)) & 0x7fc0,
            0x7fc0
        );
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0xff80_0001)), 0xffc0);
        assert_eq!(f32_to_bf16_bits(-0.0), 0x8000);
        // The smallest subnormal rounds to zero; a larger one is kept.
        assert_eq!(f32_to_bf16_bits(f32::from_bits(1)), 0);
        assert_eq!(f32_to_bf16_bits(f32::from_bits(0x0001_8000)), 0x0002);
    }

    #[test]
    fn agrees_with_half_on_a_sweep() {
        let mut x: u32 = 0x1234_5678;
        for _ in 0..200_000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let f = f32::from_bits(x);
            let ours = f32_to_bf16(f);
            let theirs = bf16::from_f32(f);
            if f.is_nan() {
                assert!(ours.is_nan());
            } else {
                assert_eq!(ours.to_bits(), theirs.to_bits(), "input {x:#010x}");
            }
        }
    }

    #[test]
    fn pack_roundtrip_odd_length() {
        let v: Vec<bf16> = (0..7u16).map(|i| bf16::from_bits(0x3f80 + i)).collect();
        let packed = pack_bf16(&v);
        assert_eq!(packed.len(), 4);
        assert_eq!(packed[0], 0x3f81_3f80);
        assert_eq!(packed[3] >> 16, 0);
        assert_eq!(unpack_bf16(&packed, 7), v);
    }
}
