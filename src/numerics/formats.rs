//! The number formats beside bf16: fp16, OCP fp8 (e4m3fn and e5m2), HF32, int8 and int32. Every conversion
//! is written with integer operations on the bits, so that `shaders/shared/formats.wgsl` can do exactly the
//! same on any GPU (which may flush subnormals in float arithmetic); the goldens made by `ml_dtypes` check
//! both (tests/numerics/golden_formats.rs).
//!
//! Rules, for every format:
//! - f32 -> a narrower float rounds to nearest, ties to even (or stochastically, [`encode_stochastic`]);
//!   subnormals of the target are produced, not flushed.
//! - Overflow: fp16, bf16 and e5m2 have infinities and overflow to them; e4m3fn has none, so a value
//!   that rounds past its largest finite value (448) becomes NaN, and so do the infinities, as `ml_dtypes`
//!   does (OCP's saturating mode is not the default conversion).
//! - NaN becomes the target's quiet NaN with the sign kept (payloads are not carried: libraries differ).
//! - A narrower float -> f32 is exact.
//! - HF32 (the Cube's mode for f32 operands): an f32 with its 23 fraction bits rounded to 11, ties to even.
//!   CANN's `SetHF32` documents the rounding (transMode 0: nearest, ties to even, the default; 1: ties away
//!   from zero, not modelled) and that L0A/L0B's f32 data is rounded before the Mmad; the 11-bit fraction
//!   is an assumption (the statement; no public Ascend document gives the width).
//! - f32 -> int8 or int32 rounds to nearest even and saturates; NaN becomes 0. int32 -> f32 rounds to
//!   nearest even.

/// A binary floating-point format narrower than f32 (IEEE-style layout: sign, exponent, fraction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MiniFloat {
    pub name: &'static str,
    pub exp_bits: u32,
    pub man_bits: u32,
    pub bias: i32,
    /// Whether the all-ones exponent with a zero fraction is infinity (fp16, bf16, e5m2); e4m3fn has no
    /// infinity and only one NaN per sign.
    pub has_inf: bool,
    /// The magnitude bits of the largest finite value.
    pub max_finite: u32,
    /// The magnitude bits of the quiet NaN that every NaN becomes.
    pub nan: u32,
}

/// IEEE binary16.
pub const FP16: MiniFloat = MiniFloat {
    name: "fp16",
    exp_bits: 5,
    man_bits: 10,
    bias: 15,
    has_inf: true,
    max_finite: 0x7bff,
    nan: 0x7e00,
};

/// bfloat16 (the same rounding as `numerics::bf16`, which stays the fast path; used here for stochastic
/// rounding).
pub const BF16: MiniFloat = MiniFloat {
    name: "bf16",
    exp_bits: 8,
    man_bits: 7,
    bias: 127,
    has_inf: true,
    max_finite: 0x7f7f,
    nan: 0x7fc0,
};

/// OCP 8-bit e4m3 ("fn": finite, no infinity; 0x7f and 0xff are NaN; largest 448).
pub const E4M3: MiniFloat = MiniFloat {
    name: "fp8_e4m3",
    exp_bits: 4,
    man_bits: 3,
    bias: 7,
    has_inf: false,
    max_finite: 0x7e,
    nan: 0x7f,
};

/// OCP 8-bit e5m2 (IEEE-style: infinities, largest finite 57344).
pub const E5M2: MiniFloat = MiniFloat {
    name: "fp8_e5m2",
    exp_bits: 5,
    man_bits: 2,
    bias: 15,
    has_inf: true,
    max_finite: 0x7b,
    nan: 0x7e,
};

impl MiniFloat {
    fn sign_shift(&self) -> u32 {
        self.exp_bits + self.man_bits
    }

    fn inf_bits(&self) -> u32 {
        ((1 << self.exp_bits) - 1) << self.man_bits
    }

    /// The significand of `mag` (f32 magnitude bits, finite) with its implicit bit, and the number of low
    /// bits to drop to reach this format's precision at that magnitude (more below its normal range).
    fn split(&self, mag: u32) -> (u32, u32) {
        let field = mag >> 23;
        let sig = (mag & 0x007f_ffff) | if field != 0 { 0x0080_0000 } else { 0 };
        let e = field.max(1) as i32 - 127;
        let emin = 1 - self.bias;
        let drop = 23 - self.man_bits as i32 + (emin - e).max(0);
        (sig, drop as u32)
    }

    /// The code of `rounded` (a significand in units of this format's ulp at the magnitude of f32 bits
    /// `mag`), with overflow to infinity or NaN, and the sign.
    fn assemble(&self, sign: u32, mag: u32, rounded: u32) -> u32 {
        let e = (mag >> 23).max(1) as i32 - 127;
        let emin = 1 - self.bias;
        // In the normal range the implicit bit of `rounded` lands in the exponent field: a carry out of
        // the fraction moves the value to the next binade, as it should. Below it, the field stays 0 and
        // a carry reaches the smallest normal.
        let code = if e >= emin {
            (((e + self.bias - 1) as u32) << self.man_bits) + rounded
        } else {
            rounded
        };
        let code = if code > self.max_finite {
            if self.has_inf {
                self.inf_bits()
            } else {
                self.nan
            }
        } else {
            code
        };
        sign | code
    }

    /// Rounds f32 bits `b` to this format, nearest even.
    pub fn encode(&self, b: u32) -> u32 {
        let sign = (b >> 31) << self.sign_shift();
        let mag = b & 0x7fff_ffff;
        if mag > 0x7f80_0000 {
            return sign | self.nan;
        }
        if mag == 0x7f80_0000 {
            return sign
                | if self.has_inf {
                    self.inf_bits()
                } else {
                    self.nan
                };
        }
        let (sig, drop) = self.split(mag);
        let rounded = if drop > 24 {
            0
        } else {
            let half = 1u32 << (drop - 1);
            let odd = (sig >> drop) & 1;
            (sig + half - 1 + odd) >> drop
        };
        self.assemble(sign, mag, rounded)
    }

    /// Rounds f32 bits `b` to this format stochastically: up with probability equal to the distance from
    /// the value below, given 32 uniform random bits `r`. Exact for drops of up to 32 bits; below that
    /// (magnitudes under 2^-8 of the smallest subnormal) the probability is truncated to 32 bits.
    pub fn encode_stochastic(&self, b: u32, r: u32) -> u32 {
        let sign = (b >> 31) << self.sign_shift();
        let mag = b & 0x7fff_ffff;
        if mag >= 0x7f80_0000 {
            return self.encode(b);
        }
        let (sig, drop) = self.split(mag);
        let rounded = if drop <= 31 {
            (sig + (r >> (32 - drop))) >> drop
        } else if drop < 56 {
            u32::from(r < (sig >> (drop - 32)))
        } else {
            0
        };
        self.assemble(sign, mag, rounded)
    }

    /// Widens a code of this format to f32 bits, exactly.
    pub fn decode(&self, code: u32) -> u32 {
        let sign = ((code >> self.sign_shift()) & 1) << 31;
        let field = (code >> self.man_bits) & ((1 << self.exp_bits) - 1);
        let man = code & ((1 << self.man_bits) - 1);
        let all_ones = (1 << self.exp_bits) - 1;
        let is_nan = if self.has_inf {
            field == all_ones && man != 0
        } else {
            field == all_ones && man == (1 << self.man_bits) - 1
        };
        if is_nan {
            return sign | 0x7fc0_0000 | (man << (23 - self.man_bits));
        }
        if self.has_inf && field == all_ones {
            return sign | 0x7f80_0000;
        }
        if field == 0 {
            if man == 0 {
                return sign;
            }
            if 1 - self.bias <= -126 {
                // bf16: its subnormals are f32 subnormals, the fraction shifted up.
                return sign | (man << (23 - self.man_bits));
            }
            // A subnormal of a narrower range: normalise its fraction (it is a normal f32).
            let lead = 31 - man.leading_zeros(); // position of the highest set bit
            let e = 1 - self.bias - self.man_bits as i32 + lead as i32;
            let frac = (man << (23 - lead)) & 0x007f_ffff;
            return sign | (((e + 127) as u32) << 23) | frac;
        }
        let e = field as i32 - self.bias;
        sign | (((e + 127) as u32) << 23) | (man << (23 - self.man_bits))
    }
}

/// Rounds f32 bits to HF32 (11 fraction bits kept, nearest even; the result is again f32 bits). NaN stays
/// a quiet NaN of the same sign; overflow goes to infinity.
pub fn hf32_round_bits(b: u32) -> u32 {
    if b & 0x7fff_ffff > 0x7f80_0000 {
        return (b | 0x0040_0000) & 0xffff_f000;
    }
    let lsb = (b >> 12) & 1;
    (b.wrapping_add(0x7ff + lsb)) & 0xffff_f000
}

/// f32 -> int8: nearest even, saturated to [-128, 127]; NaN -> 0.
pub fn f32_to_i8(x: f32) -> i8 {
    if x.is_nan() {
        return 0;
    }
    x.round_ties_even().clamp(-128.0, 127.0) as i8
}

/// f32 -> int32: nearest even, saturated; NaN -> 0.
pub fn f32_to_i32(x: f32) -> i32 {
    if x.is_nan() {
        return 0;
    }
    // 2^31 is the first f32 above i32's range; -2^31 is in it.
    let r = x.round_ties_even();
    if r >= 2_147_483_648.0 {
        i32::MAX
    } else if r < -2_147_483_648.0 {
        i32::MIN
    } else {
        r as i32
    }
}

/// int32 -> f32 bits, nearest even, with integer operations (as the shader must: WGSL leaves the rounding
/// of an inexact integer conversion to the implementation).
pub fn i32_to_f32_bits(v: i32) -> u32 {
    if v == 0 {
        return 0;
    }
    let sign = if v < 0 { 0x8000_0000 } else { 0 };
    let mag = v.unsigned_abs();
    let lead = 31 - mag.leading_zeros();
    if lead <= 23 {
        return sign | ((lead + 127) << 23) | ((mag << (23 - lead)) & 0x007f_ffff);
    }
    let drop = lead - 23;
    let odd = (mag >> drop) & 1;
    let half = 1u32 << (drop - 1);
    // u64: mag + half may pass 2^32 for |v| near 2^31.
    let rounded = ((mag as u64 + half as u64 - 1 + odd as u64) >> drop) as u32;
    // `rounded` has 24 or 25 bits; its top bit adds into the exponent field.
    sign + (((lead + 127 - 1) << 23) + rounded)
}

/// 32 random bits for element `index` of the stream `seed`: the first word of Philox2x32-10 (Salmon et
/// al., SC 2011; the counter-based generator of cuRAND, JAX and PyTorch) on counter `(index, 0)` with key
/// `seed`. The same bits on any host and in `shaders/shared/formats.wgsl`.
pub fn philox_bits(seed: u32, index: u32) -> u32 {
    const M: u32 = 0xD256_D193;
    const W: u32 = 0x9E37_79B9;
    let (mut x0, mut x1, mut k) = (index, 0u32, seed);
    for _ in 0..10 {
        let prod = M as u64 * x0 as u64;
        let (hi, lo) = ((prod >> 32) as u32, prod as u32);
        x0 = hi ^ k ^ x1;
        x1 = lo;
        k = k.wrapping_add(W);
    }
    x0
}

/// Both words of Philox2x32-10, for the known-answer test.
#[cfg(test)]
fn philox2x32(ctr: [u32; 2], key: u32) -> [u32; 2] {
    const M: u32 = 0xD256_D193;
    const W: u32 = 0x9E37_79B9;
    let ([mut x0, mut x1], mut k) = (ctr, key);
    for _ in 0..10 {
        let prod = M as u64 * x0 as u64;
        x0 = (prod >> 32) as u32 ^ k ^ x1;
        x1 = prod as u32;
        k = k.wrapping_add(W);
    }
    [x0, x1]
}

#[cfg(test)]
mod tests;
