// shared/vector_math.wgsl: the Vector unit's transcendentals (exp, log, tanh, sigmoid, silu, gelu_tanh;
// erf, erfc and exact gelu are in shared/vector_erf.wgsl). Mirrors src/reference/vector_math.rs line for
// line: the same constants (as bit patterns), the same operation order, every float result through keep().
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
