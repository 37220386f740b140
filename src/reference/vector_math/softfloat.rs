//! The exactly rounded part of the math library: `keep`, bit tests, + - * with NaN payloads fixed, max and
//! min, and division and square root.
//!
//! WGSL promises neither a correctly rounded `/` nor `sqrt` (2.5 units of the last place for `/`), so
//! the shader (`shaders/shared/softfloat.wgsl`) takes the adapter's own result as an estimate and makes
//! it exact in integer arithmetic (or, for an estimate too far off, divides bit by bit). [`soft_div`] and
//! [`soft_sqrt`] mirror it line for line and are tested bit for bit against the host's IEEE operations,
//! and [`soft_div_with`] and [`soft_sqrt_with`] with estimates perturbed as an imprecise adapter's would
//! be (tests/numerics/vector_math.rs): that is the proof that the shader rounds correctly. The CPU twin itself
//! uses [`vm_div`] and [`vm_sqrt`], the host's own IEEE `/` and `sqrt` (correctly rounded on every IEEE
//! host, and vectorised by the compiler), with only the NaN result's bits fixed to the shader's. So both
//! give the same bits for every input, at the CPU's speed. (A host thread that turns on flush-to-zero
//! would break that for subnormals, as a GPU that flushes does; Rust never does.)
//!
//! Every function here is branch-free where it matters (a NaN fix-up is a select), so loops over slices
//! of them vectorise (`reference::lanes`).

/// Sign bit of an f32.
pub const SIGN: u32 = 0x8000_0000;
/// Magnitude bits of an f32.
pub const ABS: u32 = 0x7fff_ffff;
/// +infinity.
pub const INF: u32 = 0x7f80_0000;
/// The canonical quiet NaN, returned by invalid operations (0/0, inf-inf, sqrt(-1), log(-1)).
pub const QNAN: u32 = 0x7fc0_0000;
/// The quiet bit of a NaN.
pub const QUIET: u32 = 0x0040_0000;

/// The shader's `keep(x)`: an OR with a run-time zero that stops its compiler from fusing, reordering or
/// folding across it. A Rust compiler does none of that, so here it is the identity.
#[inline(always)]
pub fn keep(x: f32) -> f32 {
    x
}

/// NaN test by bits (no float comparison, so no compiler can assume it away).
#[inline(always)]
pub fn vm_is_nan(x: f32) -> bool {
    (x.to_bits() & ABS) > INF
}

/// Infinity test (either sign) by bits.
#[inline(always)]
pub fn vm_is_inf(x: f32) -> bool {
    (x.to_bits() & ABS) == INF
}

/// `x` with its quiet bit set: the result of any op whose only NaN input is `x`.
#[inline(always)]
pub fn vm_quiet(x: f32) -> f32 {
    f32::from_bits(x.to_bits() | QUIET)
}

/// The NaN result of a two-operand op: `a`'s NaN made quiet if `a` is NaN, else `b`'s if `b` is, else the
/// canonical quiet NaN `0x7FC00000` (an invalid op on numbers).
#[inline(always)]
pub fn vm_nan2(a: f32, b: f32) -> f32 {
    if vm_is_nan(a) {
        return vm_quiet(a);
    }
    if vm_is_nan(b) {
        return vm_quiet(b);
    }
    f32::from_bits(QNAN)
}

/// `a + b`, rounded once; a NaN result is [`vm_nan2`] (so its bits do not depend on the GPU).
#[inline(always)]
pub fn vm_add(a: f32, b: f32) -> f32 {
    let r = keep(a + b);
    if vm_is_nan(r) {
        return vm_nan2(a, b);
    }
    r
}

/// `a - b`, rounded once; NaN as [`vm_add`].
#[inline(always)]
pub fn vm_sub(a: f32, b: f32) -> f32 {
    let r = keep(a - b);
    if vm_is_nan(r) {
        return vm_nan2(a, b);
    }
    r
}

/// `a * b`, rounded once; NaN as [`vm_add`].
#[inline(always)]
pub fn vm_mul(a: f32, b: f32) -> f32 {
    let r = keep(a * b);
    if vm_is_nan(r) {
        return vm_nan2(a, b);
    }
    r
}

/// An unsigned key that orders non-NaN f32 bit patterns by value (-0 just below +0).
#[inline(always)]
fn vm_order_key(u: u32) -> u32 {
    if (u & SIGN) != 0 { !u } else { u | SIGN }
}

/// `a > b` for non-NaN operands, by bits: +0 and -0 are equal.
#[inline(always)]
pub fn vm_gt(a: f32, b: f32) -> bool {
    let ua = a.to_bits();
    let ub = b.to_bits();
    if ((ua | ub) & ABS) == 0 {
        return false;
    }
    vm_order_key(ua) > vm_order_key(ub)
}

/// `max(a, b)`: NaN if either is NaN ([`vm_nan2`]); otherwise `a > b ? a : b`, so of two zeros it returns
/// `b` (max(+0, -0) = -0, max(-0, +0) = +0), as the golden `max_ref_bf16` (numpy's `maximum`) does.
#[inline(always)]
pub fn vm_max(a: f32, b: f32) -> f32 {
    if vm_is_nan(a) || vm_is_nan(b) {
        return vm_nan2(a, b);
    }
    if vm_gt(a, b) { a } else { b }
}

/// `min(a, b)`: the mirror of [`vm_max`], `a < b ? a : b`, so of two zeros it also returns `b`
/// (min(+0, -0) = -0, min(-0, +0) = +0); NaN as [`vm_max`].
#[inline(always)]
pub fn vm_min(a: f32, b: f32) -> f32 {
    if vm_is_nan(a) || vm_is_nan(b) {
        return vm_nan2(a, b);
    }
    if vm_gt(b, a) { a } else { b }
}

/// Significand and biased exponent of a finite nonzero magnitude `m` (bits, sign clear): the significand
/// as an integer in [2^23, 2^24), normalised for subnormals (whose exponent becomes 1 - shift <= 0), so
/// the value is `sig * 2^(exp - 150)`.
#[inline(always)]
pub fn vm_unpack(m: u32) -> (u32, i32) {
    let e = (m >> 23) as i32;
    if e == 0 {
        let shift = m.leading_zeros() - 8;
        return (m << shift, 1 - shift as i32);
    }
    ((m & 0x007f_ffff) | 0x0080_0000, e)
}

/// Packs `sign`, biased exponent `e` and `q` (25 bits: a significand in [2^24, 2^25) with one guard bit
/// below the 24 kept) plus a sticky bit into an f32, rounding to nearest even once: overflow to infinity,
/// `e <= 0` to a subnormal or zero (shifted right first, the bits shifted out joining the sticky bit).
pub fn vm_round_pack(sign: u32, e: i32, q: u32, sticky: bool) -> f32 {
    if e >= 255 {
        return f32::from_bits(sign | INF);
    }
    let mut q = q;
    let mut sticky = sticky;
    let mut base = 0u32;
    if e <= 0 {
        let s = (1 - e).min(31) as u32;
        sticky = sticky || (q & ((1u32 << s) - 1)) != 0;
        q >>= s;
    } else {
        base = ((e - 1) as u32) << 23;
    }
    let mant = q >> 1;
    let up = (q & 1) == 1 && (sticky || (mant & 1) == 1);
    f32::from_bits(sign | (base + mant + up as u32))
}

/// `a / b`, correctly rounded: the host's IEEE division, whose NaN results (0/0, inf/inf, a NaN operand)
/// are given the shader's bits ([`vm_nan2`]). Equal to [`soft_div`] bit for bit on every input.
#[inline(always)]
pub fn vm_div(a: f32, b: f32) -> f32 {
    let r = a / b;
    if vm_is_nan(r) { vm_nan2(a, b) } else { r }
}

/// `sqrt(x)`, correctly rounded: the host's IEEE square root, NaN results given the shader's bits
/// (`x` made quiet, or `0x7FC00000` for a negative x). Equal to [`soft_sqrt`] bit for bit on every input.
#[inline(always)]
pub fn vm_sqrt(x: f32) -> f32 {
    let r = x.sqrt();
    if !vm_is_nan(r) {
        r
    } else if vm_is_nan(x) {
        vm_quiet(x)
    } else {
        f32::from_bits(QNAN)
    }
}

/// `a / b`, correctly rounded (nearest, ties to even) for every input: the shader's algorithm, the
/// host's `/` as its estimate. Specials: NaN as [`vm_nan2`]; 0/0 and inf/inf give `0x7FC00000`; x/0 =
/// signed inf; x/inf = signed 0.
pub fn soft_div(a: f32, b: f32) -> f32 {
    soft_div_with(a, b, |x, y| x / y)
}

/// [`soft_div`] with `estimate` standing for the adapter's division of two significands (as f32 in
/// [2^23, 2^25)): any estimate gives the correctly rounded quotient, one within 2^6 units of the last
/// place by the fast correction and a worse one by the long division ([`div_sig`]). For tests that give
/// it the estimates of a less precise adapter.
pub fn soft_div_with(a: f32, b: f32, estimate: impl Fn(f32, f32) -> f32) -> f32 {
    let ua = a.to_bits();
    let ub = b.to_bits();
    let sign = (ua ^ ub) & SIGN;
    let aa = ua & ABS;
    let ab = ub & ABS;
    if aa > INF || ab > INF {
        return vm_nan2(a, b);
    }
    if aa == INF {
        if ab == INF {
            return f32::from_bits(QNAN);
        }
        return f32::from_bits(sign | INF);
    }
    if ab == INF {
        return f32::from_bits(sign);
    }
    if ab == 0 {
        if aa == 0 {
            return f32::from_bits(QNAN);
        }
        return f32::from_bits(sign | INF);
    }
    if aa == 0 {
        return f32::from_bits(sign);
    }
    let (ma0, ea) = vm_unpack(aa);
    let (mb, eb) = vm_unpack(ab);
    let mut ma = ma0;
    let mut e = ea - eb + 127;
    if ma < mb {
        ma <<= 1;
        e -= 1;
    }
    let (q, sticky) = div_sig(ma, mb, estimate(ma as f32, mb as f32));
    vm_round_pack(sign, e, q, sticky)
}

/// 2^24 and 2^30.
const P24: f32 = 16_777_216.0;
const P30: f32 = 1_073_741_824.0;
/// The largest estimate taken: 2^25 - 2 (2^25 - 1 is not an f32); the correction reaches past it.
const QMAX: f32 = 33_554_430.0;

/// The quotient's 25 bits `q = floor(ma 2^24 / mb)`, for mb in [2^23, 2^24) and ma in [mb, 2 mb), and
/// whether a remainder is left, from `est` ≈ ma / mb. The remainder `ma 2^24 - q mb` of a close estimate
/// is small, so its low 32 bits (wrapping arithmetic) are all of it; one step from it and one conditional
/// step each way give the exact quotient. A float check of the remainder's size (products within 2^27
/// of the true ones) sends an estimate too far off for that (more than about 2^6 units of the last
/// place; WGSL promises 2.5) to the long division, one bit per step. As the shader's `vm_div_sig`.
pub fn div_sig(ma: u32, mb: u32, est: f32) -> (u32, bool) {
    let (fa, fb) = (ma as f32, mb as f32);
    // `as` saturates and takes NaN to 0, as the clamp and conversion of a shader may or may not: either
    // way the check below catches the estimate.
    let mut q = (est * P24).clamp(P24, QMAX) as u32;
    let near = ((q as f32) * fb - fa * P24).abs() < P30;
    if !near {
        let (mut q, mut r) = (0u32, ma);
        for _ in 0..25 {
            q <<= 1;
            if r >= mb {
                r -= mb;
                q |= 1;
            }
            r <<= 1;
        }
        return (q, r != 0);
    }
    let mut r = (ma << 24).wrapping_sub(q.wrapping_mul(mb)) as i32;
    let step = (r as f32 / fb).floor() as i32;
    q = (q as i32 + step) as u32;
    r = r.wrapping_sub(step.wrapping_mul(mb as i32));
    if r < 0 {
        q -= 1;
        r += mb as i32;
    }
    if r >= mb as i32 {
        q += 1;
        r -= mb as i32;
    }
    (q, r != 0)
}

/// The root's 25 bits `q = floor(sqrt(m 2^24))` for m in [2^24, 2^26), from `est` ≈ sqrt(m), as
/// [`div_sig`]: exact through the small remainder `m 2^24 - q^2`, or digit by digit where the estimate
/// was far off. As the shader's `vm_sqrt_sig`.
pub fn sqrt_sig(m: u32, est: f32) -> u32 {
    let fm = m as f32;
    let mut q = (est * 4096.0).clamp(P24, QMAX) as u32;
    let fq = q as f32;
    if (fq * fq - fm * P24).abs() >= P30 {
        // 25 bits, the remainder below 2^27.
        let (mut m, mut q, mut s, mut bit) = (m, 0u32, 0u32, 0x0100_0000u32);
        while bit != 0 {
            let t = s + bit;
            if t <= m {
                s = t + bit;
                m -= t;
                q += bit;
            }
            m <<= 1;
            bit >>= 1;
        }
        return q;
    }
    let mut r = (m << 24).wrapping_sub(q.wrapping_mul(q)) as i32;
    let step = (r as f32 / (2.0 * fq)).floor() as i32;
    r = r
        .wrapping_sub(2i32.wrapping_mul(step).wrapping_mul(q as i32))
        .wrapping_sub(step * step);
    q = (q as i32 + step) as u32;
    // m 2^24 - (q - 1)^2 = r + 2q - 1, and m 2^24 - (q + 1)^2 = r - 2q - 1.
    if r < 0 {
        r += 2 * q as i32 - 1;
        q -= 1;
    }
    if r > 2 * q as i32 {
        q += 1;
    }
    q
}

/// `sqrt(x)`, correctly rounded for every input: the shader's algorithm, the host's `sqrt` as its
/// estimate. sqrt(-0) = -0, sqrt(+inf) = +inf, sqrt(negative) = `0x7FC00000`, NaN made quiet.
pub fn soft_sqrt(x: f32) -> f32 {
    soft_sqrt_with(x, f32::sqrt)
}

/// [`soft_sqrt`] with `estimate` standing for the adapter's square root of a significand (as f32 in
/// [2^24, 2^26)), as [`soft_div_with`].
pub fn soft_sqrt_with(x: f32, estimate: impl Fn(f32) -> f32) -> f32 {
    let ux = x.to_bits();
    let ax = ux & ABS;
    if ax > INF {
        return vm_quiet(x);
    }
    if ax == 0 {
        return x;
    }
    if (ux & SIGN) != 0 {
        return f32::from_bits(QNAN);
    }
    if ax == INF {
        return x;
    }
    let (m0, e0) = vm_unpack(ax);
    let mut m = m0;
    let mut e = e0 - 127;
    if (e & 1) != 0 {
        m <<= 1;
    }
    e >>= 1;
    // 25 bits of the root: 24 and a guard bit.
    m <<= 1;
    let mut q = sqrt_sig(m, estimate(m as f32));
    // A square root is never exactly halfway between two f32s, so the guard bit alone decides.
    q += q & 1;
    f32::from_bits(((q >> 1) as i32 + 0x3f00_0000 + (e << 23)) as u32)
}

/// `1 / x`, correctly rounded.
#[inline(always)]
pub fn vm_recip(x: f32) -> f32 {
    vm_div(1.0, x)
}

/// `1 / sqrt(x)` as `vm_div(1, vm_sqrt(x))`: two roundings, within 1 ulp.
#[inline(always)]
pub fn vm_rsqrt(x: f32) -> f32 {
    vm_div(1.0, vm_sqrt(x))
}
