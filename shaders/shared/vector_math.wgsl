// shared/vector_math.wgsl: the Vector unit's transcendentals (exp, log, tanh, sigmoid, silu, gelu_tanh,
// erf, erfc, exact gelu). Mirrors src/reference/vector_math.rs and vector_math/erf.rs line for line: the
// same constants (as bit patterns), the same operation order, every float result through keep().
// Imports shared/softfloat.wgsl (keep, vm_div, bit tests).

#import softfloat

fn vm_f(bits: u32) -> f32 {
    return bitcast<f32>(bits);
}

// 2^k for -126 <= k <= 127, by bits.
fn vm_pow2(k: i32) -> f32 {
    return bitcast<f32>(u32(k + 127) << 23u);
}

// p * 2^k for -252 <= k <= 254; the first step is exact, so the result rounds once.
fn vm_ldexp(p: f32, k: i32) -> f32 {
    let k1 = k >> 1u;
    let k2 = k - k1;
    return keep(keep(p * vm_pow2(k1)) * vm_pow2(k2));
}

// exp(x) = p * 2^k, p in [0.7, 1.42], for -200 <= x <= 89.
struct VmExpParts {
    p: f32,
    k: i32,
}

const VM_SHIFTER: f32 = 12582912.0; // 1.5 * 2^23

fn vm_exp_parts(x: f32) -> VmExpParts {
    let t = keep(keep(x * vm_f(0x3fb8aa3bu)) + VM_SHIFTER);
    let k = i32(bitcast<u32>(t)) - 0x4b400000;
    let kf = keep(t - VM_SHIFTER);
    let hi = keep(x - keep(kf * vm_f(0x3f317200u)));
    let r = keep(hi - keep(kf * vm_f(0x35bfbe8eu)));
    let z = keep(r * r);
    var y = vm_f(0x39506967u);
    y = keep(keep(y * r) + vm_f(0x3ab743ceu));
    y = keep(keep(y * r) + vm_f(0x3c088908u));
    y = keep(keep(y * r) + vm_f(0x3d2aa9c1u));
    y = keep(keep(y * r) + vm_f(0x3e2aaaaau));
    y = keep(keep(y * r) + 0.5);
    let p = keep(keep(keep(y * z) + r) + 1.0);
    return VmExpParts(p, k);
}

fn vm_exp(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    if (vm_is_nan(x)) {
        return vm_quiet(x);
    }
    if (ux >= 0x42b17218u && ux < VM_SIGN) {
        return bitcast<f32>(VM_INF);
    }
    if (ux >= 0xc2cff1b5u) {
        return 0.0;
    }
    let e = vm_exp_parts(x);
    return vm_ldexp(e.p, e.k);
}

fn vm_log(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    if (vm_is_nan(x)) {
        return vm_quiet(x);
    }
    if ((ux & VM_ABS) == 0u) {
        return bitcast<f32>(VM_SIGN | VM_INF);
    }
    if ((ux & VM_SIGN) != 0u) {
        return bitcast<f32>(VM_QNAN);
    }
    if (ux == VM_INF) {
        return x;
    }
    let u = vm_unpack(ux);
    var iy = (u.sig & 0x007fffffu) + 0x3f800000u + (0x3f800000u - 0x3f3504f3u);
    let k = u.e - 127 + i32(iy >> 23u) - 127;
    iy = (iy & 0x007fffffu) + 0x3f3504f3u;
    let f = keep(bitcast<f32>(iy) - 1.0);
    let s = vm_div(f, keep(2.0 + f));
    let z = keep(s * s);
    let w = keep(z * z);
    let t1 = keep(w * keep(vm_f(0x3eccce13u) + keep(w * vm_f(0x3e789e26u))));
    let t2 = keep(z * keep(vm_f(0x3f2aaaaau) + keep(w * vm_f(0x3e91e9eeu))));
    let r = keep(t2 + t1);
    let hfsq = keep(keep(0.5 * f) * f);
    let dk = f32(k);
    let a = keep(s * keep(hfsq + r));
    let b = keep(a + keep(dk * vm_f(0x3717f7d1u)));
    let c = keep(keep(b - hfsq) + f);
    return keep(c + keep(dk * vm_f(0x3f317180u)));
}

fn vm_tanh(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    let ax = ux & VM_ABS;
    let sign = ux & VM_SIGN;
    if (ax > VM_INF) {
        return vm_quiet(x);
    }
    if (ax >= 0x41200000u) {
        return bitcast<f32>(sign | 0x3f800000u);
    }
    if (ax < 0x39000000u) {
        return x;
    }
    let a = bitcast<f32>(ax);
    var t: f32;
    if (ax < 0x3f0c9f54u) {
        let z = keep(a * a);
        var y = vm_f(0x3b25aeb8u);
        y = keep(keep(y * z) + vm_f(0xbc0bb6f7u));
        y = keep(keep(y * z) + vm_f(0x3cb2bd30u));
        y = keep(keep(y * z) + vm_f(0xbd5d0a1eu));
        y = keep(keep(y * z) + vm_f(0x3e088882u));
        y = keep(keep(y * z) + vm_f(0xbeaaaaabu));
        t = keep(a + keep(keep(a * z) * y));
    } else {
        let e = vm_exp(keep(a + a));
        t = keep(1.0 - vm_div(2.0, keep(e + 1.0)));
    }
    return bitcast<f32>(bitcast<u32>(t) | sign);
}

// x * sigmoid(v) for non-NaN x and v of the same sign, scaled by 2^k last when v < 0.
fn vm_x_sigmoid(x: f32, v: f32) -> f32 {
    let uv = bitcast<u32>(v);
    if ((uv & VM_SIGN) == 0u) {
        return vm_div(x, keep(1.0 + vm_exp(bitcast<f32>(uv | VM_SIGN))));
    }
    if (uv >= 0xc2e00000u) {
        return bitcast<f32>(bitcast<u32>(x) & VM_SIGN);
    }
    let e = vm_exp_parts(v);
    let ev = vm_ldexp(e.p, e.k);
    return vm_ldexp(vm_div(keep(x * e.p), keep(1.0 + ev)), e.k);
}

fn vm_sigmoid(x: f32) -> f32 {
    if (vm_is_nan(x)) {
        return vm_quiet(x);
    }
    return vm_x_sigmoid(1.0, x);
}

fn vm_silu(x: f32) -> f32 {
    if (vm_is_nan(x)) {
        return vm_quiet(x);
    }
    return vm_x_sigmoid(x, x);
}

// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x sigmoid(x (K1 + K2 x^2)).
fn vm_gelu_tanh(x: f32) -> f32 {
    if (vm_is_nan(x)) {
        return vm_quiet(x);
    }
    let v = keep(x * keep(vm_f(0x3fcc422au) + keep(keep(x * x) * vm_f(0x3d922279u))));
    return vm_x_sigmoid(x, v);
}

// ---- erf, erfc, exact gelu: fdlibm s_erff.c (Copyright (C) 1993 Sun Microsystems, Inc. Permission to
// use, copy, modify, and distribute this software is freely granted, provided that this notice is
// preserved.) Horner chains written out, top coefficient first, as erf.rs's loops run them.

fn vm_erf_pp(s: f32) -> f32 {
    var y = vm_f(0xb7c756b1u);
    y = keep(keep(y * s) + vm_f(0xbbbd1489u));
    y = keep(keep(y * s) + vm_f(0xbce9528fu));
    y = keep(keep(y * s) + vm_f(0xbea66bebu));
    return keep(keep(y * s) + vm_f(0x3e0375d4u));
}

fn vm_erf_qq1(s: f32) -> f32 {
    var y = vm_f(0xb684e21au);
    y = keep(keep(y * s) + vm_f(0x390aee49u));
    y = keep(keep(y * s) + vm_f(0x3ba68116u));
    y = keep(keep(y * s) + vm_f(0x3d852a63u));
    y = keep(keep(y * s) + vm_f(0x3ecbbbceu));
    return keep(keep(y * s) + 1.0);
}

fn vm_erf_pa(s: f32) -> f32 {
    var y = vm_f(0xbb0df9c0u);
    y = keep(keep(y * s) + vm_f(0x3d1151b3u));
    y = keep(keep(y * s) + vm_f(0xbde31cc2u));
    y = keep(keep(y * s) + vm_f(0x3ea2fe54u));
    y = keep(keep(y * s) + vm_f(0xbebe9208u));
    y = keep(keep(y * s) + vm_f(0x3ed46805u));
    return keep(keep(y * s) + vm_f(0xbb1acdc6u));
}

fn vm_erf_qa1(s: f32) -> f32 {
    var y = vm_f(0x3c445aa3u);
    y = keep(keep(y * s) + vm_f(0x3c5f6e13u));
    y = keep(keep(y * s) + vm_f(0x3e013307u));
    y = keep(keep(y * s) + vm_f(0x3d931ae7u));
    y = keep(keep(y * s) + vm_f(0x3f0a5785u));
    y = keep(keep(y * s) + vm_f(0x3dd9f331u));
    return keep(keep(y * s) + 1.0);
}

fn vm_erf_ra(s: f32) -> f32 {
    var y = vm_f(0xc11d077eu);
    y = keep(keep(y * s) + vm_f(0xc2a2932bu));
    y = keep(keep(y * s) + vm_f(0xc3389ae7u));
    y = keep(keep(y * s) + vm_f(0xc322658cu));
    y = keep(keep(y * s) + vm_f(0xc2798057u));
    y = keep(keep(y * s) + vm_f(0xc128f022u));
    y = keep(keep(y * s) + vm_f(0xbf31a0b7u));
    return keep(keep(y * s) + vm_f(0xbc21a093u));
}

fn vm_erf_sa1(s: f32) -> f32 {
    var y = vm_f(0xbd777f97u);
    y = keep(keep(y * s) + vm_f(0x40d23f7cu));
    y = keep(keep(y * s) + vm_f(0x42d9451fu));
    y = keep(keep(y * s) + vm_f(0x43d6810bu));
    y = keep(keep(y * s) + vm_f(0x442158c9u));
    y = keep(keep(y * s) + vm_f(0x43d9486fu));
    y = keep(keep(y * s) + vm_f(0x4309a863u));
    y = keep(keep(y * s) + vm_f(0x419d35ceu));
    return keep(keep(y * s) + 1.0);
}

fn vm_erf_rb(s: f32) -> f32 {
    var y = vm_f(0xc3f1c275u);
    y = keep(keep(y * s) + vm_f(0xc480230bu));
    y = keep(keep(y * s) + vm_f(0xc41f6441u));
    y = keep(keep(y * s) + vm_f(0xc320a2eau));
    y = keep(keep(y * s) + vm_f(0xc18e104bu));
    y = keep(keep(y * s) + vm_f(0xbf4c9dd4u));
    return keep(keep(y * s) + vm_f(0xbc21a092u));
}

fn vm_erf_sb1(s: f32) -> f32 {
    var y = vm_f(0xc1b38712u);
    y = keep(keep(y * s) + vm_f(0x43ed43a7u));
    y = keep(keep(y * s) + vm_f(0x451f90ceu));
    y = keep(keep(y * s) + vm_f(0x4547fdbbu));
    y = keep(keep(y * s) + vm_f(0x44c01759u));
    y = keep(keep(y * s) + vm_f(0x43a2e571u));
    y = keep(keep(y * s) + vm_f(0x41f2b459u));
    return keep(keep(y * s) + 1.0);
}

fn vm_erf_small_y(x: f32) -> f32 {
    let z = keep(x * x);
    return vm_div(vm_erf_pp(z), vm_erf_qq1(z));
}

fn vm_erf_mid(s: f32) -> f32 {
    return vm_div(vm_erf_pa(s), vm_erf_qa1(s));
}

// erfc(z) = p * 2^k for 1.25 <= z < 10.5, with z^2 = h a^2 exactly.
fn vm_erfc_tail(z: f32, a: f32, h: f32) -> VmExpParts {
    let s = vm_div(1.0, keep(z * z));
    var rs: f32;
    if (bitcast<u32>(z) < 0x4036db6du) {
        rs = vm_div(vm_erf_ra(s), vm_erf_sa1(s));
    } else {
        rs = vm_div(vm_erf_rb(s), vm_erf_sb1(s));
    }
    let at = bitcast<f32>(bitcast<u32>(a) & 0xffffe000u);
    let e1 = vm_exp_parts(keep(-0.5625 - keep(keep(at * at) * h)));
    let d = keep(keep(keep(at - a) * keep(at + a)) * h);
    let e2 = vm_exp(keep(d + rs));
    return VmExpParts(vm_div(keep(e1.p * e2), z), e1.k);
}

fn vm_erf(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    let ax = ux & VM_ABS;
    let sign = ux & VM_SIGN;
    if (ax > VM_INF) {
        return vm_quiet(x);
    }
    if (ax < 0x3f580000u) {
        if (ax < 0x31800000u) {
            if (ax < 0x04000000u) {
                return keep(0.125 * keep(keep(8.0 * x) + keep(vm_f(0x3f8375d4u) * x)));
            }
            return keep(x + keep(vm_f(0x3e0375d4u) * x));
        }
        return keep(x + keep(x * vm_erf_small_y(x)));
    }
    var y: f32;
    if (ax < 0x3fa00000u) {
        y = keep(vm_f(0x3f58560bu) + vm_erf_mid(keep(bitcast<f32>(ax) - 1.0)));
    } else if (ax >= 0x40c00000u) {
        y = 1.0;
    } else {
        let a = bitcast<f32>(ax);
        let t = vm_erfc_tail(a, a, 1.0);
        y = keep(1.0 - vm_ldexp(t.p, t.k));
    }
    return bitcast<f32>(bitcast<u32>(y) | sign);
}

fn vm_erfc(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    let ax = ux & VM_ABS;
    if (ax > VM_INF) {
        return vm_quiet(x);
    }
    if (ax < 0x3f580000u) {
        if (ax < 0x23800000u) {
            return keep(1.0 - x);
        }
        let y = vm_erf_small_y(x);
        if (ux < 0x3e800000u || (ux & VM_SIGN) != 0u) {
            return keep(1.0 - keep(x + keep(x * y)));
        }
        let r = keep(keep(x * y) + keep(x - 0.5));
        return keep(0.5 - r);
    }
    if (ax < 0x3fa00000u) {
        let p = vm_erf_mid(keep(bitcast<f32>(ax) - 1.0));
        if ((ux & VM_SIGN) == 0u) {
            return keep(keep(1.0 - vm_f(0x3f58560bu)) - p);
        }
        return keep(1.0 + keep(vm_f(0x3f58560bu) + p));
    }
    if ((ux & VM_SIGN) != 0u) {
        if (ax >= 0x40c00000u) {
            return 2.0;
        }
        let a = bitcast<f32>(ax);
        let t = vm_erfc_tail(a, a, 1.0);
        return keep(2.0 - vm_ldexp(t.p, t.k));
    }
    if (ax >= 0x41280000u) {
        return 0.0;
    }
    let t = vm_erfc_tail(x, x, 1.0);
    return vm_ldexp(t.p, t.k);
}

// Exact GELU 0.5 x erfc(-x/sqrt2); the tail is evaluated from x itself.
fn vm_gelu(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    if (vm_is_nan(x)) {
        return vm_quiet(x);
    }
    if (ux == VM_INF) {
        return x;
    }
    if (ux >= 0xc1700000u) {
        return bitcast<f32>(VM_SIGN);
    }
    let hx = keep(0.5 * x);
    let z = keep(x * vm_f(0x3f3504f3u));
    let uz = bitcast<u32>(z);
    if (uz < 0xbfa00000u) {
        return keep(hx * vm_erfc(bitcast<f32>(uz ^ VM_SIGN)));
    }
    let t = vm_erfc_tail(bitcast<f32>(uz & VM_ABS), bitcast<f32>(ux & VM_ABS), 0.5);
    return vm_ldexp(keep(hx * t.p), t.k);
}
