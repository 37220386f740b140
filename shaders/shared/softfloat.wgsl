// shared/softfloat.wgsl: the exactly rounded part of the Vector unit's math library: keep(), bit tests,
// + - * with NaN payloads fixed, max and min, and division and square root in integer arithmetic,
// correctly rounded for every input. Mirrors src/reference/vector_math/softfloat.rs line for line.
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
    // ma / mb is in [1, 2): 25 quotient bits, one per step; the remainder stays below 2^25.
    var q = 0u;
    var r = ma;
    for (var i = 0u; i < 25u; i++) {
        q = q << 1u;
        if (r >= mb) {
            r = r - mb;
            q = q | 1u;
        }
        r = r << 1u;
    }
    return vm_round_pack(sign, e, q, r != 0u);
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
    // sqrt(m) bit by bit: 25 bits (24 and a guard bit); the remainder m stays below 2^27.
    m = m << 1u;
    var q = 0u;
    var s = 0u;
    var bit = 0x01000000u;
    while (bit != 0u) {
        let t = s + bit;
        if (t <= m) {
            s = t + bit;
            m = m - t;
            q = q + bit;
        }
        m = m << 1u;
        bit = bit >> 1u;
    }
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
