// shared/softfloat.wgsl: the exactly rounded part of the Vector unit's math library: keep(), bit tests,
// + - * with NaN payloads fixed, max and min, and division and square root correctly rounded for every
// input (the adapter's own estimate made exact in integer arithmetic). Mirrors
// src/reference/vector_math/softfloat.rs line for line.
// Needs the kernel's `p.zero` (a uniform that is 0 at run time). Imported by shared/vector_math.wgsl.

const VM_SIGN: u32 = 0x80000000u;
const VM_ABS: u32 = 0x7fffffffu;
const VM_INF: u32 = 0x7f800000u;
const VM_QNAN: u32 = 0x7fc00000u;
const VM_QUIET: u32 = 0x00400000u;

// x, with the compiler unable to know it: the operations before and after it cannot be fused, reordered
// or folded. Every float result of this library passes through it.
fn keep(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) | p.zero);
}

fn vm_is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & VM_ABS) > VM_INF;
}

fn vm_is_inf(x: f32) -> bool {
    return (bitcast<u32>(x) & VM_ABS) == VM_INF;
}

fn vm_quiet(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) | VM_QUIET);
}

// a's NaN made quiet if a is NaN, else b's, else the canonical quiet NaN.
fn vm_nan2(a: f32, b: f32) -> f32 {
    if (vm_is_nan(a)) {
        return vm_quiet(a);
    }
    if (vm_is_nan(b)) {
        return vm_quiet(b);
    }
    return bitcast<f32>(VM_QNAN);
}

fn vm_add(a: f32, b: f32) -> f32 {
    let r = keep(a + b);
    if (vm_is_nan(r)) {
        return vm_nan2(a, b);
    }
    return r;
}

fn vm_sub(a: f32, b: f32) -> f32 {
    let r = keep(a - b);
    if (vm_is_nan(r)) {
        return vm_nan2(a, b);
    }
    return r;
}

fn vm_mul(a: f32, b: f32) -> f32 {
    let r = keep(a * b);
    if (vm_is_nan(r)) {
        return vm_nan2(a, b);
    }
    return r;
}

fn vm_order_key(u: u32) -> u32 {
    return select(u | VM_SIGN, ~u, (u & VM_SIGN) != 0u);
}

// a > b for non-NaN operands, by bits: +0 and -0 are equal.
fn vm_gt(a: f32, b: f32) -> bool {
    let ua = bitcast<u32>(a);
    let ub = bitcast<u32>(b);
    if (((ua | ub) & VM_ABS) == 0u) {
        return false;
    }
    return vm_order_key(ua) > vm_order_key(ub);
}

// a > b ? a : b (of two zeros, b), NaN if either is NaN.
fn vm_max(a: f32, b: f32) -> f32 {
    if (vm_is_nan(a) || vm_is_nan(b)) {
        return vm_nan2(a, b);
    }
    return select(b, a, vm_gt(a, b));
}

// a < b ? a : b (of two zeros, b), NaN if either is NaN.
fn vm_min(a: f32, b: f32) -> f32 {
    if (vm_is_nan(a) || vm_is_nan(b)) {
        return vm_nan2(a, b);
    }
    return select(b, a, vm_gt(b, a));
}

// Significand in [2^23, 2^24) and biased exponent (<= 0 for a subnormal) of a finite nonzero magnitude.
struct VmUnpacked {
    sig: u32,
    e: i32,
}

fn vm_unpack(m: u32) -> VmUnpacked {
    let e = i32(m >> 23u);
    if (e == 0) {
        let shift = countLeadingZeros(m) - 8u;
        return VmUnpacked(m << shift, 1 - i32(shift));
    }
    return VmUnpacked((m & 0x007fffffu) | 0x00800000u, e);
}

// sign, biased exponent e, q = 24 significand bits and a guard bit, plus sticky: rounded to nearest even.
fn vm_round_pack(sign: u32, e: i32, q_in: u32, sticky_in: bool) -> f32 {
    if (e >= 255) {
        return bitcast<f32>(sign | VM_INF);
    }
    var q = q_in;
    var sticky = sticky_in;
    var base = 0u;
    if (e <= 0) {
        let s = u32(min(1 - e, 31));
        sticky = sticky || (q & ((1u << s) - 1u)) != 0u;
        q = q >> s;
    } else {
        base = u32(e - 1) << 23u;
    }
    let mant = q >> 1u;
    let up = (q & 1u) == 1u && (sticky || (mant & 1u) == 1u);
    return bitcast<f32>(sign | (base + mant + select(0u, 1u, up)));
}

// a / b, correctly rounded for every input, by integer long division.
fn vm_div(a: f32, b: f32) -> f32 {
    let ua = bitcast<u32>(a);
    let ub = bitcast<u32>(b);
    let sign = (ua ^ ub) & VM_SIGN;
    let aa = ua & VM_ABS;
    let ab = ub & VM_ABS;
    if (aa > VM_INF || ab > VM_INF) {
        return vm_nan2(a, b);
    }
    if (aa == VM_INF) {
        if (ab == VM_INF) {
            return bitcast<f32>(VM_QNAN);
        }
        return bitcast<f32>(sign | VM_INF);
    }
    if (ab == VM_INF) {
        return bitcast<f32>(sign);
    }
    if (ab == 0u) {
        if (aa == 0u) {
            return bitcast<f32>(VM_QNAN);
        }
        return bitcast<f32>(sign | VM_INF);
    }
    if (aa == 0u) {
        return bitcast<f32>(sign);
    }
    let ua_ = vm_unpack(aa);
    let ub_ = vm_unpack(ab);
    var ma = ua_.sig;
    let mb = ub_.sig;
    var e = ua_.e - ub_.e + 127;
    if (ma < mb) {
        ma = ma << 1u;
        e = e - 1;
    }
    let d = vm_div_sig(ma, mb);
    return vm_round_pack(sign, e, d.q, d.sticky);
}

// 2^24 and 2^30 as f32.
const VM_2P24: f32 = 16777216.0;
const VM_2P30: f32 = 1073741824.0;
// The largest estimate taken: 2^25 - 2 (2^25 - 1 is not an f32); the correction reaches past it.
const VM_QMAX: f32 = 33554430.0;

// The quotient's 25 bits q = floor(ma 2^24 / mb), for mb in [2^23, 2^24) and ma in [mb, 2 mb), and
// whether a remainder is left.
struct VmQuotient {
    q: u32,
    sticky: bool,
}

// An estimate from the adapter's own division, made exact: its remainder ma 2^24 - q mb is small, so
// its low 32 bits (wrapping u32 arithmetic) are all of it, and one step from it and one conditional
// step each way give the exact quotient. That needs the estimate within 2^6 units of the last place of
// a quotient in [1, 2) (WGSL promises 2.5 units): a float check of the remainder's size (its products
// within 2^27 of the true ones) sends any worse estimate to the long division, one bit per step, whose
// trip count is 0 otherwise, so that an adapter that runs both sides of a branch does not pay for it.
// Mirrors src/reference/vector_math/softfloat.rs's `div_sig`.
fn vm_div_sig(ma: u32, mb: u32) -> VmQuotient {
    let fa = f32(ma);
    let fb = f32(mb);
    var q = u32(clamp(keep(keep(fa / fb) * VM_2P24), VM_2P24, VM_QMAX));
    let off = keep(keep(f32(q) * fb) - keep(fa * VM_2P24));
    let near = abs(off) < VM_2P30;
    var r = bitcast<i32>((ma << 24u) - q * mb);
    let step = i32(floor(keep(f32(r) / fb)));
    q = u32(i32(q) + step);
    r = r - step * i32(mb);
    if (r < 0) {
        q = q - 1u;
        r = r + i32(mb);
    }
    if (r >= i32(mb)) {
        q = q + 1u;
        r = r - i32(mb);
    }
    var sticky = r != 0;
    // The long division, for an estimate that was far off.
    let steps = select(25u, 0u, near);
    var lq = 0u;
    var lr = ma;
    for (var i = 0u; i < steps; i++) {
        lq = lq << 1u;
        if (lr >= mb) {
            lr = lr - mb;
            lq = lq | 1u;
        }
        lr = lr << 1u;
    }
    if (!near) {
        q = lq;
        sticky = lr != 0u;
    }
    return VmQuotient(q, sticky);
}

// The root's 25 bits q = floor(sqrt(m 2^24)) for m in [2^24, 2^26), as vm_div_sig: the adapter's sqrt
// as the estimate (WGSL promises a few units), made exact through the small remainder m 2^24 - q^2, or
// the digit-by-digit root where the estimate was far off. Mirrors softfloat.rs's `sqrt_sig`.
fn vm_sqrt_sig(m_in: u32) -> u32 {
    let fm = f32(m_in);
    var q = u32(clamp(keep(keep(sqrt(fm)) * 4096.0), VM_2P24, VM_QMAX));
    let fq = f32(q);
    let off = keep(keep(fq * fq) - keep(fm * VM_2P24));
    let near = abs(off) < VM_2P30;
    var r = bitcast<i32>((m_in << 24u) - q * q);
    let step = i32(floor(keep(f32(r) / keep(2.0 * fq))));
    r = r - 2 * step * i32(q) - step * step;
    q = u32(i32(q) + step);
    // m 2^24 - (q - 1)^2 = r + 2q - 1, and m 2^24 - (q + 1)^2 = r - 2q - 1.
    if (r < 0) {
        r = r + 2 * i32(q) - 1;
        q = q - 1u;
    }
    if (r > 2 * i32(q)) {
        r = r - 2 * i32(q) - 1;
        q = q + 1u;
    }
    // Digit by digit, for an estimate that was far off: 25 bits, the remainder below 2^27.
    let steps = select(25u, 0u, near);
    var m = m_in;
    var lq = 0u;
    var s = 0u;
    var bit = 0x01000000u;
    for (var i = 0u; i < steps; i++) {
        let t = s + bit;
        if (t <= m) {
            s = t + bit;
            m = m - t;
            lq = lq + bit;
        }
        m = m << 1u;
        bit = bit >> 1u;
    }
    return select(lq, q, near);
}

// sqrt(x), correctly rounded for every input, digit by digit in integers.
fn vm_sqrt(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    let ax = ux & VM_ABS;
    if (ax > VM_INF) {
        return vm_quiet(x);
    }
    if (ax == 0u) {
        return x;
    }
    if ((ux & VM_SIGN) != 0u) {
        return bitcast<f32>(VM_QNAN);
    }
    if (ax == VM_INF) {
        return x;
    }
    let u = vm_unpack(ax);
    var m = u.sig;
    var e = u.e - 127;
    if ((e & 1) != 0) {
        m = m << 1u;
    }
    e = e >> 1u;
    // 25 bits of the root: 24 and a guard bit.
    var q = vm_sqrt_sig(m << 1u);
    // A square root is never exactly halfway between two f32s, so the guard bit alone decides.
    q = q + (q & 1u);
    return bitcast<f32>(u32(i32(q >> 1u) + 0x3f000000 + (e << 23u)));
}

fn vm_recip(x: f32) -> f32 {
    return vm_div(1.0, x);
}

fn vm_rsqrt(x: f32) -> f32 {
    return vm_div(1.0, vm_sqrt(x));
}
