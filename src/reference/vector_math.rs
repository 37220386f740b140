//! The Vector unit's math library on f32, the CPU twin of `shaders/shared/softfloat.wgsl` +
//! `shaders/shared/vector_math.wgsl` (imported, with `bf16.wgsl`, by every Vector shader through
//! `vector_params.wgsl`). Same function names, same constants (as bit patterns), same operation order.
//!
//! # Contract
//! - Every float operation is one IEEE f32 multiply or add, rounded once. In WGSL each result passes through
//!   `keep()` (an OR with the run-time zero `p.zero`), so no driver can fuse, reassociate or fold it; here
//!   `keep` is the identity, because Rust does none of that. No `fma` and no built-in transcendental is
//!   used. Division and square root are correctly rounded for every input: in the shader the adapter's
//!   own `/` or `sqrt` made exact in integer arithmetic ([`soft_div`], [`soft_sqrt`] mirror it, tested
//!   bit for bit against Rust's `/` and `f32::sqrt`, also from perturbed estimates), the host's IEEE `/`
//!   and `sqrt` here ([`vm_div`], [`vm_sqrt`]), with NaN bits fixed alike. Int-to-float conversions in
//!   results are of small integers (exact); those of the division's estimate and check need not be. So GPU and CPU agree bit for bit, except on a GPU that
//!   flushes subnormals, where results passing through a subnormal may differ (DESIGN.md).
//! - Specials are decided on bits: a NaN input returns that NaN made quiet; an invalid operation (0/0,
//!   inf-inf, sqrt(-1), log(-1)) returns `0x7FC00000`; two NaN inputs return the first (see [`vm_nan2`]).
//!   exp(-inf) = 0, exp(+inf) = inf, log(0) = -inf, log(+inf) = inf, tanh(±inf) = ±1, tanh(-0) = -0,
//!   sigmoid(-inf) = 0, silu(-inf) = gelu(-inf) = gelu_tanh(-inf) = -0, erf(±inf) = ±1, erfc(-inf) = 2.
//! - max/min: NaN-propagating; `max = a > b ? a : b`, `min = a < b ? a : b`, so of +0 and -0 both return
//!   the second operand, as the golden `max_ref_bf16` does for max.
//!
//! # Algorithms
//! - exp: k = round(x log2 e) by the 1.5*2^23 shifter, r = x - k ln2_hi - k ln2_lo (Cody-Waite, ln2_hi with
//!   15 bits so k ln2_hi is exact), exp(r) = 1 + r + r^2 P5(r) (Cephes expf coefficients), scaled by 2^k in
//!   two exact-then-rounding steps ([`vm_ldexp`]) so subnormal results are rounded once from p.
//! - log: fdlibm's logf: exponent and significand by bits (subnormals normalised), m in [sqrt2/2, sqrt2),
//!   s = f/(2+f) by [`vm_div`], log(1+f) = f - hfsq + s (hfsq + R(s^2)), plus k ln2 (hi/lo).
//! - tanh: |x| < 2^-13: x; |x| < 0.5493: x + x^3 P5(x^2) (own Chebyshev fit, rel. error 4e-9 with f32
//!   coefficients); else 1 - 2/(exp(2|x|) + 1); |x| >= 10: ±1. The sign is put back by bits.
//! - sigmoid: x >= 0: 1/(1 + exp(-x)); x < 0: e^x/(1 + e^x) with e^x = p 2^k kept as (p, k) and scaled last,
//!   so tiny results down to the subnormals keep their precision. silu = x sigmoid(x) the same way;
//!   gelu_tanh = x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (the same function as 0.5x(1 + tanh(..)), with
//!   no cancellation for negative x).
//! - erf, erfc, gelu (in `erf.rs`): fdlibm's s_erff.c rational approximations (coefficients from FreeBSD
//!   msun, © 1993 Sun Microsystems, freely redistributable with that notice); the tail
//!   erfc(z) = exp(-zt^2 - 0.5625) exp((zt - z)(zt + z) + R/S) / z with zt = z cut to 11 bits (so zt^2 + 0.5625 is exact). gelu(x) =
//!   0.5x erfc(-x/sqrt2) evaluates that tail from x itself (zt^2 = xt^2/2 exactly), so the rounding of
//!   x/sqrt2 does not enter the exponent, and scales by 2^k last: accurate down to the underflow (x = -14.5).
//!
//! # Measured accuracy (tests/vector_math.rs)
//! - div, sqrt, recip: correctly rounded, equal to Rust's `/` and `f32::sqrt` bit for bit (edge pairs,
//!   9 million random and constructed pairs, every subnormal and every value in [1, 4) for sqrt).
//! - Max error in f32 ulps against f64 over every 997th f32 bit pattern plus every bf16 value (asserted
//!   bound in brackets): exp 0.95 [1], log 0.79 [1], tanh 1.37 [1.5], erf 0.80 [1], erfc 2.63 [3]
//!   (relative, down to the underflow at 10.06), sigmoid 2.18 [2.5], silu 2.64 [3], gelu 4.05 [4.5]
//!   (relative, down to the underflow near -14.5), rsqrt 1.47 [1.5] (two roundings).
//!   gelu_tanh: within 3 + 4|v| ulp, v = 2 sqrt(2/pi)(x + 0.044715 x^3) (the rounding of v is amplified
//!   by |v| where the result is ~x e^v; measured 0.63 of that bound).
//! - Against the golden `ref_bf16` (all 65,536 bf16 inputs; our f32 rounded once to bf16): exp, log,
//!   sqrt, rsqrt, recip, tanh, sigmoid, silu and gelu_erf are bit-exact on every input, NaN, inf and
//!   signed zeros included; gelu_tanh is within 1 bf16 ulp of an f64 evaluation.
//!
//! # Speed
//! The CPU functions compute every branch and select (no early return), and are inlined into the loops
//! of `reference::lanes`, so the compiler evaluates them over 8 lanes at once (AVX2) with the same
//! roundings in the same order. A select changes no bits: the shader's branches and these selects choose
//! between the same values.

mod erf;
mod softfloat;

pub use erf::{vm_erf, vm_erfc, vm_gelu};
pub use softfloat::{
    ABS, INF, QNAN, QUIET, SIGN, div_sig, keep, soft_div, soft_div_with, soft_sqrt, soft_sqrt_with,
    sqrt_sig, vm_add, vm_div, vm_gt, vm_is_inf, vm_is_nan, vm_max, vm_min, vm_mul, vm_nan2,
    vm_quiet, vm_recip, vm_round_pack, vm_rsqrt, vm_sqrt, vm_sub, vm_unpack,
};

/// `if c { a } else { b }` on f32 bits, written so that the compiler makes it a select (a blend over
/// lanes), not a branch.
#[inline(always)]
pub fn vm_select(c: bool, a: f32, b: f32) -> f32 {
    let m = (c as u32).wrapping_neg();
    f32::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
}

/// 2^k for -126 <= k <= 127, by bits.
#[inline(always)]
pub fn vm_pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// p * 2^k for -252 <= k <= 254: the first factor 2^(k>>1) is exact on a normal p, so the result rounds
/// once (to a subnormal, zero or infinity where it must).
#[inline(always)]
pub fn vm_ldexp(p: f32, k: i32) -> f32 {
    let k1 = k >> 1;
    let k2 = k - k1;
    keep(keep(p * vm_pow2(k1)) * vm_pow2(k2))
}

/// exp(x) as `p * 2^k` with p in [0.7, 1.42]: valid for -200 <= x <= 89 (no specials).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VmExpParts {
    pub p: f32,
    pub k: i32,
}

const LOG2E: u32 = 0x3fb8_aa3b; // 1.442695
const SHIFTER: f32 = 12_582_912.0; // 1.5 * 2^23
const EXP_LN2_HI: u32 = 0x3f31_7200; // 0.693145751953125, 15 significant bits
const EXP_LN2_LO: u32 = 0x35bf_be8e; // ln2 - EXP_LN2_HI
const EXP_P5: u32 = 0x3950_6967; // 1.9875691500e-4 (Cephes expf)
const EXP_P4: u32 = 0x3ab7_43ce; // 1.3981999507e-3
const EXP_P3: u32 = 0x3c08_8908; // 8.3334519073e-3
const EXP_P2: u32 = 0x3d2a_a9c1; // 4.1665795894e-2
const EXP_P1: u32 = 0x3e2a_aaaa; // 1.6666665459e-1

/// The reduced exp: see [`VmExpParts`].
#[inline(always)]
pub fn vm_exp_parts(x: f32) -> VmExpParts {
    let t = keep(keep(x * f32::from_bits(LOG2E)) + SHIFTER);
    let k = t.to_bits() as i32 - 0x4b40_0000;
    let kf = keep(t - SHIFTER);
    let hi = keep(x - keep(kf * f32::from_bits(EXP_LN2_HI)));
    let r = keep(hi - keep(kf * f32::from_bits(EXP_LN2_LO)));
    let z = keep(r * r);
    let mut y = f32::from_bits(EXP_P5);
    y = keep(keep(y * r) + f32::from_bits(EXP_P4));
    y = keep(keep(y * r) + f32::from_bits(EXP_P3));
    y = keep(keep(y * r) + f32::from_bits(EXP_P2));
    y = keep(keep(y * r) + f32::from_bits(EXP_P1));
    y = keep(keep(y * r) + 0.5);
    let p = keep(keep(keep(y * z) + r) + 1.0);
    VmExpParts { p, k }
}

/// e^x. Overflows to inf for x >= 88.72284 (0x42B17218), underflows to 0 for x <= -103.97208 (0x42CFF1B5
/// negated), subnormal results rounded from p once.
#[inline(always)]
pub fn vm_exp(x: f32) -> f32 {
    let ux = x.to_bits();
    let nan = vm_is_nan(x);
    let over = (0x42b1_7218..SIGN).contains(&ux);
    let under = ux >= 0xc2cf_f1b5;
    // Lanes that take a special result compute on 0 instead, so that no lane's k leaves its range.
    let e = vm_exp_parts(vm_select(nan || over || under, 0.0, x));
    let r = vm_ldexp(e.p, e.k);
    let special = vm_select(over, f32::from_bits(INF), 0.0);
    let r = vm_select(over || under, special, r);
    vm_select(nan, vm_quiet(x), r)
}

const LOG_SQRT2_HALF: u32 = 0x3f35_04f3; // sqrt(2)/2
const LOG_LN2_HI: u32 = 0x3f31_7180; // fdlibm logf
const LOG_LN2_LO: u32 = 0x3717_f7d1;
const LG1: u32 = 0x3f2a_aaaa; // 0.66666662693
const LG2: u32 = 0x3ecc_ce13; // 0.40000972152
const LG3: u32 = 0x3e91_e9ee; // 0.28498786688
const LG4: u32 = 0x3e78_9e26; // 0.24279078841

/// ln(x): log(±0) = -inf, log(x < 0) = NaN (0x7FC00000), log(+inf) = +inf.
#[inline(always)]
pub fn vm_log(x: f32) -> f32 {
    let ux = x.to_bits();
    let nan = vm_is_nan(x);
    let zero = (ux & ABS) == 0;
    let neg = (ux & SIGN) != 0;
    let special = nan || zero || neg || ux == INF;
    // The special lanes compute on 1; a subnormal is normalised by an exact multiplication by 2^23 (the
    // same significand and exponent as `vm_unpack`'s shift, without a count of leading zeros).
    let xs = vm_select(special, 1.0, x);
    let sub = xs.to_bits() < 0x0080_0000;
    let xn = vm_select(sub, xs * f32::from_bits(0x4b00_0000), xs).to_bits();
    let sig = xn & 0x007f_ffff;
    let e = (xn >> 23) as i32 - if sub { 23 } else { 0 };
    let mut iy = (sig & 0x007f_ffff) + 0x3f80_0000 + (0x3f80_0000 - LOG_SQRT2_HALF);
    let k = e - 127 + (iy >> 23) as i32 - 127;
    iy = (iy & 0x007f_ffff) + LOG_SQRT2_HALF;
    let f = keep(f32::from_bits(iy) - 1.0);
    let s = vm_div(f, keep(2.0 + f));
    let z = keep(s * s);
    let w = keep(z * z);
    let t1 = keep(w * keep(f32::from_bits(LG2) + keep(w * f32::from_bits(LG4))));
    let t2 = keep(z * keep(f32::from_bits(LG1) + keep(w * f32::from_bits(LG3))));
    let r = keep(t2 + t1);
    let hfsq = keep(keep(0.5 * f) * f);
    let dk = k as f32;
    let a = keep(s * keep(hfsq + r));
    let b = keep(a + keep(dk * f32::from_bits(LOG_LN2_LO)));
    let c = keep(keep(b - hfsq) + f);
    let r = keep(c + keep(dk * f32::from_bits(LOG_LN2_HI)));
    let r = vm_select(ux == INF, x, r);
    let r = vm_select(neg, f32::from_bits(QNAN), r);
    let r = vm_select(zero, f32::from_bits(SIGN | INF), r);
    vm_select(nan, vm_quiet(x), r)
}

// tanh(x) = x + x^3 P(x^2) on |x| < 0.5493 (fitted at Chebyshev nodes; rel. error 4.0e-9).
const TANH_P0: u32 = 0xbeaa_aaab;
const TANH_P1: u32 = 0x3e08_8882;
const TANH_P2: u32 = 0xbd5d_0a1e;
const TANH_P3: u32 = 0x3cb2_bd30;
const TANH_P4: u32 = 0xbc0b_b6f7;
const TANH_P5: u32 = 0x3b25_aeb8;

/// tanh(x), odd by construction (the sign is taken off and put back by bits).
#[inline(always)]
pub fn vm_tanh(x: f32) -> f32 {
    let ux = x.to_bits();
    let ax = ux & ABS;
    let sign = ux & SIGN;
    // Both ways for every lane (NaN and the saturated lanes on 1), the right one selected.
    let a = vm_select(ax >= 0x4120_0000, 1.0, f32::from_bits(ax));
    let z = keep(a * a);
    let mut y = f32::from_bits(TANH_P5);
    y = keep(keep(y * z) + f32::from_bits(TANH_P4));
    y = keep(keep(y * z) + f32::from_bits(TANH_P3));
    y = keep(keep(y * z) + f32::from_bits(TANH_P2));
    y = keep(keep(y * z) + f32::from_bits(TANH_P1));
    y = keep(keep(y * z) + f32::from_bits(TANH_P0));
    let small = keep(a + keep(keep(a * z) * y));
    let e = vm_exp(keep(a + a));
    let large = keep(1.0 - vm_div(2.0, keep(e + 1.0)));
    let t = vm_select(ax < 0x3f0c_9f54, small, large);
    let t = vm_select(ax >= 0x4120_0000, 1.0, t);
    let t = f32::from_bits(t.to_bits() | sign);
    let t = vm_select(ax < 0x3900_0000, x, t);
    vm_select(ax > INF, vm_quiet(x), t)
}

/// x * sigmoid(v) for non-NaN x and v of the same sign (x = v, or x and a multiple of it): v >= 0 as
/// x / (1 + e^-v); v < 0 as (x p) / (1 + e^v) * 2^k with e^v = p 2^k, scaled last; v <= -112 gives a
/// zero with x's sign.
#[inline(always)]
pub fn vm_x_sigmoid(x: f32, v: f32) -> f32 {
    let uv = v.to_bits();
    let positive = (uv & SIGN) == 0;
    // Both ways share e^-|v| = p 2^k: -|v| is vm_exp's argument for v >= 0 and v itself for v < 0.
    // Lanes at or below -112 (whose results are selected below) compute on -112, inside the parts' range.
    let nv = f32::from_bits(uv | SIGN);
    let e = vm_exp_parts(vm_select(nv.to_bits() >= 0xc2e0_0000, -112.0, nv));
    let ev = vm_ldexp(e.p, e.k);
    // vm_exp(-|v|), as it decides its underflow.
    let exp_nv = vm_select(nv.to_bits() >= 0xc2cf_f1b5, 0.0, ev);
    let pos = vm_div(x, keep(1.0 + exp_nv));
    let neg = vm_ldexp(vm_div(keep(x * e.p), keep(1.0 + ev)), e.k);
    let neg = vm_select(uv >= 0xc2e0_0000, f32::from_bits(x.to_bits() & SIGN), neg);
    vm_select(positive, pos, neg)
}

/// 1 / (1 + e^-x); sigmoid(-inf) = 0, sigmoid(+inf) = 1, tiny results kept down to the subnormals.
#[inline(always)]
pub fn vm_sigmoid(x: f32) -> f32 {
    let xs = vm_select(vm_is_nan(x), 0.0, x);
    vm_select(vm_is_nan(x), vm_quiet(x), vm_x_sigmoid(1.0, xs))
}

/// x * sigmoid(x); silu(-inf) = -0, silu(+inf) = +inf.
#[inline(always)]
pub fn vm_silu(x: f32) -> f32 {
    let xs = vm_select(vm_is_nan(x), 0.0, x);
    vm_select(vm_is_nan(x), vm_quiet(x), vm_x_sigmoid(xs, xs))
}

const GELU_TANH_K1: u32 = 0x3fcc_422a; // 2 sqrt(2/pi)
const GELU_TANH_K2: u32 = 0x3d92_2279; // 2 sqrt(2/pi) * 0.044715

/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed as x sigmoid(x (K1 + K2 x^2)).
#[inline(always)]
pub fn vm_gelu_tanh(x: f32) -> f32 {
    let nan = vm_is_nan(x);
    let xs = vm_select(nan, 0.0, x);
    let v = keep(
        xs * keep(
            f32::from_bits(GELU_TANH_K1) + keep(keep(xs * xs) * f32::from_bits(GELU_TANH_K2)),
        ),
    );
    vm_select(nan, vm_quiet(x), vm_x_sigmoid(xs, v))
}
