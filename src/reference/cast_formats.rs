//! CPU twin of `shaders/cast_formats.wgsl`: any element format to any other, through the value's f32 bits
//! (exact for every format but int32, which rounds to nearest even), then one rounding to the target:
//! nearest even, or stochastic with Philox2x32-10 bits for each element's index. The rules of each format
//! (overflow, NaN, saturation) are those of `numerics::formats`.

use crate::numerics::bf16::f32_to_bf16_bits;
use crate::numerics::formats::{self, philox_bits};
use crate::program::Rounding;
use crate::tensor::{DType, TensorData};

/// Casts every element of `x` to `to`; `index_base` is the element index of `x[0]` in the whole tensor
/// (it seeds the stochastic stream, so a tensor cast in chunks gets the bits of one cast).
pub fn cast_formats(x: &TensorData, to: DType, rounding: Rounding, index_base: u32) -> TensorData {
    let from = x.dtype();
    let bits = (0..x.len()).map(|i| {
        let wide = widen(from, x.bits_at(i));
        narrow(to, wide, rounding, index_base.wrapping_add(i as u32))
    });
    TensorData::from_bits(to, bits)
}

/// f32 bits of a raw element of `from`.
fn widen(from: DType, raw: u32) -> u32 {
    match from {
        DType::F32 => raw,
        DType::Bf16 => raw << 16,
        DType::I8 => formats::i32_to_f32_bits(raw as u8 as i8 as i32),
        DType::I32 => formats::i32_to_f32_bits(raw as i32),
        float => float.minifloat().map_or(raw, |f| f.decode(raw)),
    }
}

/// Raw bits of `to` for f32 bits `b` of element `index`.
fn narrow(to: DType, b: u32, rounding: Rounding, index: u32) -> u32 {
    let random = |seed| philox_bits(seed, index);
    match (to, rounding) {
        (DType::F32, _) => b,
        (DType::I8, _) => formats::f32_to_i8(f32::from_bits(b)) as u8 as u32,
        (DType::I32, _) => formats::f32_to_i32(f32::from_bits(b)) as u32,
        // A NaN keeps its payload's top bits, as the bf16 cast always has.
        (DType::Bf16, Rounding::Nearest) => f32_to_bf16_bits(f32::from_bits(b)) as u32,
        (DType::Bf16, Rounding::Stochastic { .. }) if b & 0x7fff_ffff > 0x7f80_0000 => {
            f32_to_bf16_bits(f32::from_bits(b)) as u32
        }
        (float, Rounding::Nearest) => float.minifloat().map_or(b, |f| f.encode(b)),
        (float, Rounding::Stochastic { seed }) => float
            .minifloat()
            .map_or(b, |f| f.encode_stochastic(b, random(seed))),
    }
}
