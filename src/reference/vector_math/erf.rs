//! erf, erfc and exact GELU: fdlibm's s_erff.c (FreeBSD msun; Copyright (C) 1993 Sun Microsystems, Inc.
//! "Permission to use, copy, modify, and distribute this software is freely granted, provided that this
//! notice is preserved."), with exp and division from this library and a tail that returns (m, k) so the
//! scaling by 2^k comes last. Mirrors the erf part of `shaders/shared/vector_math.wgsl`, with its
//! branches turned into selects: every lane evaluates each interval's formula on an argument clamped into
//! that interval, and keeps the one its own input selects (the same values the shader's branch computes).

use super::softfloat::{ABS, INF, SIGN, keep, vm_div, vm_is_nan, vm_quiet};
use super::{vm_exp_parts, vm_ldexp, vm_select};

const ERX: u32 = 0x3f58_560b; // 8.4506291151e-01
const EFX: u32 = 0x3e03_75d4; // 1.2837916613e-01
const EFX8: u32 = 0x3f83_75d4; // 1.0270333290e+00
const PP: [u32; 5] = [
    0x3e03_75d4,
    0xbea6_6beb,
    0xbce9_528f,
    0xbbbd_1489,
    0xb7c7_56b1,
];
const QQ: [u32; 5] = [
    0x3ecb_bbce,
    0x3d85_2a63,
    0x3ba6_8116,
    0x390a_ee49,
    0xb684_e21a,
];
const PA: [u32; 7] = [
    0xbb1a_cdc6,
    0x3ed4_6805,
    0xbebe_9208,
    0x3ea2_fe54,
    0xbde3_1cc2,
    0x3d11_51b3,
    0xbb0d_f9c0,
];
const QA: [u32; 6] = [
    0x3dd9_f331,
    0x3f0a_5785,
    0x3d93_1ae7,
    0x3e01_3307,
    0x3c5f_6e13,
    0x3c44_5aa3,
];
const RA: [u32; 8] = [
    0xbc21_a093,
    0xbf31_a0b7,
    0xc128_f022,
    0xc279_8057,
    0xc322_658c,
    0xc338_9ae7,
    0xc2a2_932b,
    0xc11d_077e,
];
const SA: [u32; 8] = [
    0x419d_35ce,
    0x4309_a863,
    0x43d9_486f,
    0x4421_58c9,
    0x43d6_810b,
    0x42d9_451f,
    0x40d2_3f7c,
    0xbd77_7f97,
];
const RB: [u32; 7] = [
    0xbc21_a092,
    0xbf4c_9dd4,
    0xc18e_104b,
    0xc320_a2ea,
    0xc41f_6441,
    0xc480_230b,
    0xc3f1_c275,
];
const SB: [u32; 7] = [
    0x41f2_b459,
    0x43a2_e571,
    0x44c0_1759,
    0x4547_fdbb,
    0x451f_90ce,
    0x43ed_43a7,
    0xc1b3_8712,
];

/// c[0] + s (c[1] + s (... c[n-1])), Horner from the top.
#[inline(always)]
fn horner<const N: usize>(c: &[u32; N], s: f32) -> f32 {
    let mut y = f32::from_bits(c[N - 1]);
    for i in (0..N - 1).rev() {
        y = keep(keep(y * s) + f32::from_bits(c[i]));
    }
    y
}

/// 1 + s (c[0] + s (c[1] + ...)).
#[inline(always)]
fn horner1<const N: usize>(c: &[u32; N], s: f32) -> f32 {
    keep(keep(horner(c, s) * s) + 1.0)
}

/// Horner over `a` or `b` (per lane, `use_a`), the shorter one `b` evaluated as if it had a zero on top:
/// `0 * s + b[top]` is `b[top]` exactly for the s >= 0 it is used with, so both give the shader's values.
#[inline(always)]
fn horner_pick<const N: usize, const M: usize>(
    use_a: bool,
    a: &[u32; N],
    b: &[u32; M],
    s: f32,
) -> f32 {
    let coef = |i: usize| {
        vm_select(
            use_a,
            f32::from_bits(a[i]),
            f32::from_bits(if i < M { b[i] } else { 0 }),
        )
    };
    let mut y = coef(N - 1);
    for i in (0..N - 1).rev() {
        y = keep(keep(y * s) + coef(i));
    }
    y
}

/// erf(x) = x + x y on |x| < 0.84375: y = pp(z)/qq(z), z = x^2.
#[inline(always)]
fn vm_erf_small_y(x: f32) -> f32 {
    let z = keep(x * x);
    vm_div(horner(&PP, z), horner1(&QQ, z))
}

/// erf(1 + s) - erx on 0.84375 <= 1 + s < 1.25.
#[inline(always)]
fn vm_erf_mid(s: f32) -> f32 {
    vm_div(horner(&PA, s), horner1(&QA, s))
}

/// erfc(z) = m 2^k for 1.25 <= z < 10.5 (z >= 0). `a` and `h` give z^2 = h a^2 exactly (h = 1, a = z
/// for erfc; h = 1/2, a = |x| for gelu), so the exponent is evaluated from `a`, not from the rounded z.
/// Lanes outside that range compute on z = a = 2 (h = 1), whose result they discard.
#[inline(always)]
fn vm_erfc_tail(in_range: bool, z: f32, a: f32, h: f32) -> (f32, i32) {
    let z = vm_select(in_range, z, 2.0);
    let a = vm_select(in_range, a, 2.0);
    let h = vm_select(in_range, h, 1.0);
    let s = vm_div(1.0, keep(z * z));
    let near = z.to_bits() < 0x4036_db6d;
    let rs = vm_div(
        horner_pick(near, &RA, &RB, s),
        keep(keep(horner_pick(near, &SA, &SB, s) * s) + 1.0),
    );
    // a cut to 11 bits: at^2 h + 0.5625 is exact (22 bits, below 2^7).
    let at = f32::from_bits(a.to_bits() & 0xffff_e000);
    let e1 = vm_exp_parts(keep(-0.5625 - keep(keep(at * at) * h)));
    let d = keep(keep(keep(at - a) * keep(at + a)) * h);
    // d + rs is small (no special case of vm_exp applies), so exp is its parts, scaled.
    let e2 = vm_exp_parts(keep(d + rs));
    let e2 = vm_ldexp(e2.p, e2.k);
    (vm_div(keep(e1.p * e2), z), e1.k)
}

/// erf(x); erf(±inf) = ±1, erf(-0) = -0.
#[inline(always)]
pub fn vm_erf(x: f32) -> f32 {
    let ux = x.to_bits();
    let ax = ux & ABS;
    let sign = ux & SIGN;
    let small = ax < 0x3f58_0000;
    let xs = vm_select(small, x, 0.0);
    let tiny = keep(0.125 * keep(keep(8.0 * xs) + keep(f32::from_bits(EFX8) * xs)));
    let little = keep(xs + keep(f32::from_bits(EFX) * xs));
    let near = keep(xs + keep(xs * vm_erf_small_y(xs)));
    let r_small = vm_select(
        ax < 0x3180_0000,
        vm_select(ax < 0x0400_0000, tiny, little),
        near,
    );
    let mid = ax < 0x3fa0_0000;
    let y_mid =
        keep(f32::from_bits(ERX) + vm_erf_mid(vm_select(mid, keep(f32::from_bits(ax) - 1.0), 0.0)));
    let tail = !small && !mid && ax < 0x40c0_0000;
    let a = f32::from_bits(ax);
    let (m, k) = vm_erfc_tail(tail, a, a, 1.0);
    let y_tail = keep(1.0 - vm_ldexp(m, k));
    let y = vm_select(mid, y_mid, vm_select(ax >= 0x40c0_0000, 1.0, y_tail));
    let r = vm_select(small, r_small, f32::from_bits(y.to_bits() | sign));
    vm_select(ax > INF, vm_quiet(x), r)
}

/// erfc(x) = 1 - erf(x), accurate in the tail (relative error a few ulp down to the underflow at
/// x = 10.06); erfc(-inf) = 2, erfc(+inf) = 0.
#[inline(always)]
pub fn vm_erfc(x: f32) -> f32 {
    let (r, _, _) = erfc_with_tail(x, Tail::OWN);
    vm_select((x.to_bits() & ABS) > INF, vm_quiet(x), r)
}

/// Which tail [`erfc_with_tail`] evaluates in a lane: erfc's own, or (where `other`) `m 2^k` of
/// [`vm_erfc_tail`] at `(z, a, h)` for a caller that needs that instead of erfc(x) (GELU), so that each
/// lane evaluates one tail.
#[derive(Clone, Copy)]
struct Tail {
    other: bool,
    z: f32,
    a: f32,
    h: f32,
}

impl Tail {
    const OWN: Tail = Tail {
        other: false,
        z: 0.0,
        a: 0.0,
        h: 0.0,
    };
}

/// erfc(x) for a non-NaN x (meaningless in lanes where `tail.other`), and the tail's `(m, k)`.
#[inline(always)]
fn erfc_with_tail(x: f32, tail: Tail) -> (f32, f32, i32) {
    let ux = x.to_bits();
    let ax = ux & ABS;
    let neg = (ux & SIGN) != 0;
    let small = ax < 0x3f58_0000;
    let xs = vm_select(small, x, 0.0);
    let y = vm_erf_small_y(xs);
    let lo = keep(1.0 - keep(xs + keep(xs * y)));
    let hi = keep(0.5 - keep(keep(xs * y) + keep(xs - 0.5)));
    let r_small = vm_select(
        ax < 0x2380_0000,
        keep(1.0 - xs),
        vm_select(ux < 0x3e80_0000 || neg, lo, hi),
    );
    let mid = !small && ax < 0x3fa0_0000;
    let p = vm_erf_mid(vm_select(mid, keep(f32::from_bits(ax) - 1.0), 0.0));
    let r_mid = vm_select(
        neg,
        keep(1.0 + keep(f32::from_bits(ERX) + p)),
        keep(keep(1.0 - f32::from_bits(ERX)) - p),
    );
    let limit = if neg { 0x40c0_0000 } else { 0x4128_0000 };
    let own = !small && !mid && ax < limit;
    let a = f32::from_bits(ax);
    let (m, k) = vm_erfc_tail(
        own || tail.other,
        vm_select(tail.other, tail.z, a),
        vm_select(tail.other, tail.a, a),
        vm_select(tail.other, tail.h, 1.0),
    );
    let t = vm_ldexp(m, k);
    let r_tail = vm_select(neg, keep(2.0 - t), t);
    let r_far = vm_select(neg, 2.0, 0.0);
    let r = vm_select(
        small,
        r_small,
        vm_select(mid, r_mid, vm_select(own, r_tail, r_far)),
    );
    (r, m, k)
}

const FRAC_1_SQRT_2: u32 = 0x3f35_04f3;

/// Exact GELU 0.5 x erfc(-x/sqrt2); gelu(-inf) = -0, gelu(+inf) = +inf; x <= -15 gives -0.
#[inline(always)]
pub fn vm_gelu(x: f32) -> f32 {
    let ux = x.to_bits();
    let far_neg = ux >= 0xc170_0000;
    let xs = vm_select(vm_is_nan(x) || far_neg, 0.0, x);
    let hx = keep(0.5 * xs);
    let z = keep(xs * f32::from_bits(FRAC_1_SQRT_2));
    let uz = z.to_bits();
    // z >= 0 or -1.25 < z < 0: erfc(-z) has no tail to lose. Else GELU's own tail, from x itself.
    let near = uz < 0xbfa0_0000;
    let tail = Tail {
        other: !near,
        z: f32::from_bits(uz & ABS),
        a: f32::from_bits(xs.to_bits() & ABS),
        h: 0.5,
    };
    let (e, m, k) = erfc_with_tail(f32::from_bits(uz ^ SIGN), tail);
    let r_near = keep(hx * e);
    let r_tail = vm_ldexp(keep(hx * m), k);
    let r = vm_select(near, r_near, r_tail);
    let r = vm_select(far_neg, f32::from_bits(SIGN), r);
    let r = vm_select(ux == INF, x, r);
    vm_select(vm_is_nan(x), vm_quiet(x), r)
}
