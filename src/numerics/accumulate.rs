//! The Cube's accumulation models. A bf16 x bf16 product is exact in f32, so only the order of the additions
//! decides a matmul's bits; that order is part of the numerics contract and has a name.
//!
//! Each product is rounded to f32 on its own (exact for bf16 operands unless it underflows) and each addition
//! rounds once. Rust never contracts or reassociates float arithmetic; the shader has to be kept from doing
//! so explicitly (see `shaders/cube_matmul.wgsl`).

use std::fmt;
use std::str::FromStr;

use crate::numerics::formats;
use crate::tensor::DType;

/// Width of a Cube fractal along K: 16 bf16 elements.
pub const FRACTAL_K: usize = 16;

/// How the products of one output element are summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Accumulation {
    /// Within each 16-wide K fractal the 16 products are summed by a fixed pairwise tree in f32 (lanes past
    /// K are zero, as the Cube pads a fractal), then added to the f32 accumulator; fractals in ascending k.
    #[default]
    Tree16,
    /// One f32 accumulator, k ascending over the real K only: each product added on its own.
    Sequential,
    /// An accumulator experiment, not what a 910C does: Tree16, but the accumulator is rounded to a
    /// narrower format (nearest even, overflow to infinity) after every `every` fractals and after the
    /// last, as if the partial sums were kept in that format between passes over K. Shows what a bf16 or
    /// fp16 accumulator would do to a result (`fp16-every1` is an fp16 accumulator).
    Narrow(NarrowAccumulator),
}

/// The narrow format and period of [`Accumulation::Narrow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NarrowAccumulator {
    /// `DType::Bf16` or `DType::F16`.
    pub format: DType,
    /// Fractals (of 16 along K) between roundings, at least 1.
    pub every: u32,
}

/// The largest period accepted: beyond it the model is Tree16 for any K a device can hold.
pub const MAX_NARROW_EVERY: u32 = 1 << 20;

impl Accumulation {
    /// The narrow model that rounds to `format` (bf16 or f16) every `every` fractals; an error for any
    /// other format or a period outside 1..=2^20.
    pub fn narrow(format: DType, every: u32) -> crate::Result<Self> {
        if !matches!(format, DType::Bf16 | DType::F16) {
            return Err(crate::Error::Invalid(format!(
                "a narrow accumulator is bf16 or f16, not {format}"
            )));
        }
        if every == 0 || every > MAX_NARROW_EVERY {
            return Err(crate::Error::Invalid(format!(
                "a narrow accumulator rounds every 1 to {MAX_NARROW_EVERY} fractals, not {every}"
            )));
        }
        Ok(Accumulation::Narrow(NarrowAccumulator { format, every }))
    }

    /// The name used on the command line and in reports: `tree16`, `sequential`, `bf16-every4`.
    pub fn name(self) -> String {
        match self {
            Accumulation::Tree16 => "tree16".to_string(),
            Accumulation::Sequential => "sequential".to_string(),
            Accumulation::Narrow(n) => format!("{}-every{}", n.format, n.every),
        }
    }

    /// The order of additions within and across fractals: Narrow adds as Tree16 does.
    pub fn order(self) -> Accumulation {
        match self {
            Accumulation::Narrow(_) => Accumulation::Tree16,
            other => other,
        }
    }

    /// The narrow rounding, if any.
    pub fn narrowing(self) -> Option<NarrowAccumulator> {
        match self {
            Accumulation::Narrow(n) => Some(n),
            _ => None,
        }
    }
}

impl NarrowAccumulator {
    /// Whether the accumulator is rounded after fractal `f` (0-based) of `fractals`.
    pub fn rounds_after(self, f: usize, fractals: usize) -> bool {
        (f + 1) % self.every as usize == 0 || f + 1 == fractals
    }

    /// `x` rounded to the narrow format and widened back to f32.
    pub fn round(self, x: f32) -> f32 {
        let f = if self.format == DType::F16 {
            formats::FP16
        } else {
            formats::BF16
        };
        f32::from_bits(f.decode(f.encode(x.to_bits())))
    }
}

impl fmt::Display for Accumulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Accumulation {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        let bad = || {
            crate::Error::Invalid(format!(
                "unknown accumulation model '{s}': expected tree16, sequential, or bf16-everyN / \
                 f16-everyN (a narrow accumulator rounded every N fractals, N >= 1)"
            ))
        };
        match s {
            "tree16" => Ok(Accumulation::Tree16),
            "sequential" => Ok(Accumulation::Sequential),
            _ => {
                let (fmt, n) = s.split_once("-every").ok_or_else(bad)?;
                let format = match fmt {
                    "bf16" => DType::Bf16,
                    "f16" | "fp16" => DType::F16,
                    _ => return Err(bad()),
                };
                let every = n.parse::<u32>().map_err(|_| bad())?;
                Accumulation::narrow(format, every)
            }
        }
    }
}

/// Sums the 16 products `a[i] * b[i]` of one fractal by the fixed pairwise tree of [`Accumulation::Tree16`]:
/// level 1 pairs (0,1) (2,3) ..., then neighbours, down to one value.
#[inline(always)]
pub fn tree16(a: &[f32; FRACTAL_K], b: &[f32; FRACTAL_K]) -> f32 {
    let mut s = [0f32; 8];
    for i in 0..8 {
        s[i] = a[2 * i] * b[2 * i] + a[2 * i + 1] * b[2 * i + 1];
    }
    let t = [s[0] + s[1], s[2] + s[3], s[4] + s[5], s[6] + s[7]];
    let u = [t[0] + t[1], t[2] + t[3]];
    u[0] + u[1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_order_differs_from_sequential() {
        // 2^24 + 1 + 1 ...: sequential loses each 1 against 2^24, the tree first adds the ones together.
        let mut a = [1f32; 16];
        a[0] = 16_777_216.0;
        let b = [1f32; 16];
        let seq = a.iter().zip(&b).fold(0f32, |acc, (x, y)| acc + x * y);
        assert_eq!(seq, 16_777_216.0);
        // The tree loses only the 1 paired with 2^24 (a tie, to even), and keeps the other 14.
        assert_eq!(tree16(&a, &b), 16_777_230.0);
    }

    #[test]
    fn names_round_trip() {
        let narrow = Accumulation::narrow(DType::F16, 4).unwrap();
        for m in [Accumulation::Tree16, Accumulation::Sequential, narrow] {
            assert_eq!(m.name().parse::<Accumulation>().unwrap(), m);
        }
        for bad in [
            "pairwise",
            "bf16-every0",
            "f32-every2",
            "bf16-every",
            "bf16-every99999999",
        ] {
            assert!(bad.parse::<Accumulation>().is_err(), "{bad}");
        }
    }

    #[test]
    fn narrow_rounding_is_the_formats_nearest_even() {
        let bf = Accumulation::narrow(DType::Bf16, 1)
            .unwrap()
            .narrowing()
            .unwrap();
        let h = Accumulation::narrow(DType::F16, 2)
            .unwrap()
            .narrowing()
            .unwrap();
        // bf16 keeps 7 fraction bits: 1 + 2^-8 is the tie between 1 and 1 + 2^-7 and goes to even (1);
        // 1 + 3 * 2^-8 is the tie between 1 + 2^-7 and 1 + 2^-6 and goes to the even one, 1 + 2^-6.
        assert_eq!(bf.round(1.0 + 2f32.powi(-8)), 1.0);
        assert_eq!(bf.round(1.0 + 3.0 * 2f32.powi(-8)), 1.0 + 2f32.powi(-6));
        // fp16 overflows to infinity past 65520 (the tie above its max, 65504).
        assert_eq!(h.round(65519.0), 65504.0);
        assert_eq!(h.round(65520.0), f32::INFINITY);
        // Rounded after fractals 1, 3, ... and after the last.
        assert!(!h.rounds_after(0, 5) && h.rounds_after(1, 5) && h.rounds_after(4, 5));
    }
}
