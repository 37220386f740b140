//! erf, erfc and exact GELU: fdlibm's s_erff.c (FreeBSD msun; Copyright (C) 1993 Sun Microsystems, Inc.
//! "Permission to use, copy, modify, and distribute this software is freely granted, provided that this
//! notice is preserved."), with exp and division from this library and a tail that returns (m, k) so the
//! scaling by 2^k comes last. Mirrors the erf part of `shaders/shared/vector_math.wgsl`.

use super::softfloat::{ABS, INF, SIGN, keep, vm_div, vm_is_nan, vm_quiet};
use super::{vm_exp, vm_exp_parts, vm_ldexp};

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
#[inline]
fn horner(c: &[u32], s: f32) -> f32 {
    let mut y = f32::from_bits(c[c.len() - 1]);
    for i in (0..c.len() - 1).rev() {
        y = keep(keep(y * s) + f32::from_bits(c[i]));
    }
    y
}

/// 1 + s (c[0] + s (c[1] + ...)).
#[inline]
fn horner1(c: &[u32], s: f32) -> f32 {
    keep(keep(horner(c, s) * s) + 1.0)
}

/// erf(x) = x + x y on |x| < 0.84375: y = pp(z)/qq(z), z = x^2.
fn vm_erf_small_y(x: f32) -> f32 {
    let z = keep(x * x);
    vm_div(horner(&PP, z), horner1(&QQ, z))
}

/// erf(1 + s) - erx on 0.84375 <= 1 + s < 1.25.
fn vm_erf_mid(s: f32) -> f32 {
    vm_div(horner(&PA, s), horner1(&QA, s))
}

/// erfc(z) = m 2^k for 1.25 <= z < 10.5 (z >= 0). `a` and `h` give z^2 = h a^2 exactly (h = 1, a = z
/// for erfc; h = 1/2, a = |x| for gelu), so the exponent is evaluated from `a`, not from the rounded z.
fn vm_erfc_tail(z: f32, a: f32, h: f32) -> (f32, i32) {
    let s = vm_div(1.0, keep(z * z));
    let rs = if z.to_bits() < 0x4036_db6d {
        vm_div(horner(&RA, s), horner1(&SA, s))
    } else {
        vm_div(horner(&RB, s), horner1(&SB, s))
    };
    // a cut to 11 bits: at^2 h + 0.5625 is exact (22 bits, below 2^7).
    let at = f32::from_bits(a.to_bits() & 0xffff_e000);
    let e1 = vm_exp_parts(keep(-0.5625 - keep(keep(at * at) * h)));
    let d = keep(keep(keep(at - a) * keep(at + a)) * h);
    let e2 = vm_exp(keep(d + rs));
    (vm_div(keep(e1.p * e2), z), e1.k)
}

/// erf(x); erf(±inf) = ±1, erf(-0) = -0.
pub fn vm_erf(x: f32) -> f32 {
    let ux = x.to_bits();
    let ax = ux & ABS;
    let sign = ux & SIGN;
    if ax > INF {
        return vm_quiet(x);
    }
    if ax < 0x3f58_0000 {
        if ax < 0x3180_0000 {
            if ax < 0x0400_0000 {
                return keep(0.125 * keep(keep(8.0 * x) + keep(f32::from_bits(EFX8) * x)));
            }
            return keep(x + keep(f32::from_bits(EFX) * x));
        }
        return keep(x + keep(x * vm_erf_small_y(x)));
    }
    let y;
    if ax < 0x3fa0_0000 {
        y = keep(f32::from_bits(ERX) + vm_erf_mid(keep(f32::from_bits(ax) - 1.0)));
    } else if ax >= 0x40c0_0000 {
        y = 1.0;
    } else {
        let a = f32::from_bits(ax);
        let (m, k) = vm_erfc_tail(a, a, 1.0);
        y = keep(1.0 - vm_ldexp(m, k));
    }
    f32::from_bits(y.to_bits() | sign)
}

/// erfc(x) = 1 - erf(x), accurate in the tail (relative error a few ulp down to the underflow at
/// x = 10.06); erfc(-inf) = 2, erfc(+inf) = 0.
pub fn vm_erfc(x: f32) -> f32 {
    let ux = x.to_bits();
    let ax = ux & ABS;
    if ax > INF {
        return vm_quiet(x);
    }
    if ax < 0x3f58_0000 {
        if ax < 0x2380_0000 {
            return keep(1.0 - x);
        }
        let y = vm_erf_small_y(x);
        if ux < 0x3e80_0000 || (ux & SIGN) != 0 {
            return keep(1.0 - keep(x + keep(x * y)));
        }
        let r = keep(keep(x * y) + keep(x - 0.5));
        return keep(0.5 - r);
    }
    if ax < 0x3fa0_0000 {
        let p = vm_erf_mid(keep(f32::from_bits(ax) - 1.0));
        if (ux & SIGN) == 0 {
            return keep(keep(1.0 - f32::from_bits(ERX)) - p);
        }
        return keep(1.0 + keep(f32::from_bits(ERX) + p));
    }
    if (ux & SIGN) != 0 {
        if ax >= 0x40c0_0000 {
            return 2.0;
        }
        let a = f32::from_bits(ax);
        let (m, k) = vm_erfc_tail(a, a, 1.0);
        return keep(2.0 - vm_ldexp(m, k));
    }
    if ax >= 0x4128_0000 {
        return 0.0;
    }
    let (m, k) = vm_erfc_tail(x, x, 1.0);
    vm_ldexp(m, k)
}

const FRAC_1_SQRT_2: u32 = 0x3f35_04f3;

/// Exact GELU 0.5 x erfc(-x/sqrt2); gelu(-inf) = -0, gelu(+inf) = +inf; x <= -15 gives -0.
pub fn vm_gelu(x: f32) -> f32 {
    let ux = x.to_bits();
    if vm_is_nan(x) {
        return vm_quiet(x);
    }
    if ux == INF {
        return x;
    }
    if ux >= 0xc170_0000 {
        return f32::from_bits(SIGN);
    }
    let hx = keep(0.5 * x);
    let z = keep(x * f32::from_bits(FRAC_1_SQRT_2));
    let uz = z.to_bits();
    if uz < 0xbfa0_0000 {
        // z >= 0 or -1.25 < z < 0: erfc(-z) has no tail to lose.
        return keep(hx * vm_erfc(f32::from_bits(uz ^ SIGN)));
    }
    let (m, k) = vm_erfc_tail(f32::from_bits(uz & ABS), f32::from_bits(ux & ABS), 0.5);
    vm_ldexp(keep(hx * m), k)
}
