//! The Cube's accumulation models. A bf16 x bf16 product is exact in f32, so only the order of the additions
//! decides a matmul's bits; that order is part of the numerics contract and has a name.
//!
//! Each product is rounded to f32 on its own (exact for bf16 operands unless it underflows) and each addition
//! rounds once. Rust never contracts or reassociates float arithmetic; the shader has to be kept from doing
//! so explicitly (see `shaders/cube_matmul.wgsl`).

use std::fmt;
use std::str::FromStr;

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
}

impl Accumulation {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Accumulation::Tree16 => "tree16",
            Accumulation::Sequential => "sequential",
        }
    }
}

impl fmt::Display for Accumulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Accumulation {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "tree16" => Ok(Accumulation::Tree16),
            "sequential" => Ok(Accumulation::Sequential),
            _ => Err(crate::Error::Invalid(format!(
                "unknown accumulation model '{s}': expected tree16 or sequential"
            ))),
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
        for m in [Accumulation::Tree16, Accumulation::Sequential] {
            assert_eq!(m.name().parse::<Accumulation>().unwrap(), m);
        }
        assert!("pairwise".parse::<Accumulation>().is_err());
    }
}
