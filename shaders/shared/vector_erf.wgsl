// shared/vector_erf.wgsl: erf, erfc and exact GELU of the Vector unit's math library: fdlibm s_erff.c
// (Copyright (C) 1993 Sun Microsystems, Inc. Permission to use, copy, modify, and distribute this
// software is freely granted, provided that this notice is preserved.), with exp and division from
// shared/vector_math.wgsl and a tail that returns (p, k) so the scaling by 2^k comes last.
// Mirrors src/reference/vector_math/erf.rs line for line, branches turned into selects as there: every
// invocation evaluates each interval's formula once, on an argument clamped into that interval, and keeps
// the one its input selects. (With branches, a software rasterizer ran every side of every branch under a
// lane mask, and GELU, which inlined erfc's two tails beside its own, evaluated the tail three times.)
// Horner chains written out, top coefficient first, as erf.rs's loops run them.

#import vector_math

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

// Coefficient a where use_a, else b: erf.rs's horner_pick, the shorter polynomial given a zero on top
// (0 * s + c is c exactly for the s >= 0 it is used with).
fn vm_pick(use_a: bool, a: u32, b: u32) -> f32 {
    return select(vm_f(b), vm_f(a), use_a);
}

// ra(s) where `a`, rb(s) else.
fn vm_erf_rab(a: bool, s: f32) -> f32 {
    var y = vm_pick(a, 0xc11d077eu, 0u);
    y = keep(keep(y * s) + vm_pick(a, 0xc2a2932bu, 0xc3f1c275u));
    y = keep(keep(y * s) + vm_pick(a, 0xc3389ae7u, 0xc480230bu));
    y = keep(keep(y * s) + vm_pick(a, 0xc322658cu, 0xc41f6441u));
    y = keep(keep(y * s) + vm_pick(a, 0xc2798057u, 0xc320a2eau));
    y = keep(keep(y * s) + vm_pick(a, 0xc128f022u, 0xc18e104bu));
    y = keep(keep(y * s) + vm_pick(a, 0xbf31a0b7u, 0xbf4c9dd4u));
    return keep(keep(y * s) + vm_pick(a, 0xbc21a093u, 0xbc21a092u));
}

// 1 + s sa(s) where `a`, 1 + s sb(s) else.
fn vm_erf_sab1(a: bool, s: f32) -> f32 {
    var y = vm_pick(a, 0xbd777f97u, 0u);
    y = keep(keep(y * s) + vm_pick(a, 0x40d23f7cu, 0xc1b38712u));
    y = keep(keep(y * s) + vm_pick(a, 0x42d9451fu, 0x43ed43a7u));
    y = keep(keep(y * s) + vm_pick(a, 0x43d6810bu, 0x451f90ceu));
    y = keep(keep(y * s) + vm_pick(a, 0x442158c9u, 0x4547fdbbu));
    y = keep(keep(y * s) + vm_pick(a, 0x43d9486fu, 0x44c01759u));
    y = keep(keep(y * s) + vm_pick(a, 0x4309a863u, 0x43a2e571u));
    y = keep(keep(y * s) + vm_pick(a, 0x419d35ceu, 0x41f2b459u));
    return keep(keep(y * s) + 1.0);
}

// erf(x) = x + x y on |x| < 0.84375: y = pp(z)/qq(z), z = x^2.
fn vm_erf_small_y(x: f32) -> f32 {
    let z = keep(x * x);
    return vm_div(vm_erf_pp(z), vm_erf_qq1(z));
}

// erf(1 + s) - erx on 0.84375 <= 1 + s < 1.25.
fn vm_erf_mid(s: f32) -> f32 {
    return vm_div(vm_erf_pa(s), vm_erf_qa1(s));
}

// erfc(z) = p * 2^k for 1.25 <= z < 10.5, with z^2 = h a^2 exactly (h = 1, a = z for erfc; h = 1/2,
// a = |x| for gelu), so the exponent is evaluated from a, not from the rounded z. Invocations outside
// that range compute on z = a = 2 (h = 1), whose result they discard.
fn vm_erfc_tail(in_range: bool, z_in: f32, a_in: f32, h_in: f32) -> VmExpParts {
    let z = select(2.0, z_in, in_range);
    let a = select(2.0, a_in, in_range);
    let h = select(1.0, h_in, in_range);
    let s = vm_div(1.0, keep(z * z));
    let near = bitcast<u32>(z) < 0x4036db6du;
    let rs = vm_div(vm_erf_rab(near, s), vm_erf_sab1(near, s));
    // a cut to 11 bits: at^2 h + 0.5625 is exact (22 bits, below 2^7).
    let at = bitcast<f32>(bitcast<u32>(a) & 0xffffe000u);
    let e1 = vm_exp_parts(keep(-0.5625 - keep(keep(at * at) * h)));
    let d = keep(keep(keep(at - a) * keep(at + a)) * h);
    // d + rs is small (no special case of vm_exp applies), so exp is its parts, scaled.
    let e2p = vm_exp_parts(keep(d + rs));
    let e2 = vm_ldexp(e2p.p, e2p.k);
    return VmExpParts(vm_div(keep(e1.p * e2), z), e1.k);
}

fn vm_erf(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    let ax = ux & VM_ABS;
    let sign = ux & VM_SIGN;
    let small = ax < 0x3f580000u;
    let xs = select(0.0, x, small);
    let tiny = keep(0.125 * keep(keep(8.0 * xs) + keep(vm_f(0x3f8375d4u) * xs)));
    let little = keep(xs + keep(vm_f(0x3e0375d4u) * xs));
    let near = keep(xs + keep(xs * vm_erf_small_y(xs)));
    let r_small = select(near, select(little, tiny, ax < 0x04000000u), ax < 0x31800000u);
    let mid = ax < 0x3fa00000u;
    let y_mid = keep(vm_f(0x3f58560bu) + vm_erf_mid(select(0.0, keep(bitcast<f32>(ax) - 1.0), mid)));
    let tail = !small && !mid && ax < 0x40c00000u;
    let a = bitcast<f32>(ax);
    let t = vm_erfc_tail(tail, a, a, 1.0);
    let y_tail = keep(1.0 - vm_ldexp(t.p, t.k));
    let y = select(select(y_tail, 1.0, ax >= 0x40c00000u), y_mid, mid);
    let r = select(bitcast<f32>(bitcast<u32>(y) | sign), r_small, small);
    return select(r, vm_quiet(x), ax > VM_INF);
}

// erfc(x) and the tail's (p, k) (erf.rs's erfc_with_tail). Where `other`, the tail is evaluated at
// (oz, oa, oh) for a caller that needs that instead of erfc(x) (GELU), and r is meaningless.
struct VmErfc {
    r: f32,
    t: VmExpParts,
}

fn vm_erfc_with_tail(x: f32, other: bool, oz: f32, oa: f32, oh: f32) -> VmErfc {
    let ux = bitcast<u32>(x);
    let ax = ux & VM_ABS;
    let neg = (ux & VM_SIGN) != 0u;
    let small = ax < 0x3f580000u;
    let xs = select(0.0, x, small);
    let y = vm_erf_small_y(xs);
    let lo = keep(1.0 - keep(xs + keep(xs * y)));
    let hi = keep(0.5 - keep(keep(xs * y) + keep(xs - 0.5)));
    let r_small = select(select(hi, lo, ux < 0x3e800000u || neg), keep(1.0 - xs), ax < 0x23800000u);
    let mid = !small && ax < 0x3fa00000u;
    let p = vm_erf_mid(select(0.0, keep(bitcast<f32>(ax) - 1.0), mid));
    let r_mid = select(keep(keep(1.0 - vm_f(0x3f58560bu)) - p), keep(1.0 + keep(vm_f(0x3f58560bu) + p)),
                       neg);
    let limit = select(0x41280000u, 0x40c00000u, neg);
    let own = !small && !mid && ax < limit;
    let a = bitcast<f32>(ax);
    let t = vm_erfc_tail(own || other, select(a, oz, other), select(a, oa, other), select(1.0, oh, other));
    let tv = vm_ldexp(t.p, t.k);
    let r_tail = select(tv, keep(2.0 - tv), neg);
    let r_far = select(0.0, 2.0, neg);
    let r = select(select(select(r_far, r_tail, own), r_mid, mid), r_small, small);
    return VmErfc(r, t);
}

fn vm_erfc(x: f32) -> f32 {
    let e = vm_erfc_with_tail(x, false, 0.0, 0.0, 0.0);
    return select(e.r, vm_quiet(x), (bitcast<u32>(x) & VM_ABS) > VM_INF);
}

// Exact GELU 0.5 x erfc(-x/sqrt2); gelu(-inf) = -0, gelu(+inf) = +inf; x <= -15 gives -0.
fn vm_gelu(x: f32) -> f32 {
    let ux = bitcast<u32>(x);
    let far_neg = ux >= 0xc1700000u;
    let xs = select(x, 0.0, vm_is_nan(x) || far_neg);
    let hx = keep(0.5 * xs);
    let z = keep(xs * vm_f(0x3f3504f3u));
    let uz = bitcast<u32>(z);
    // z >= 0 or -1.25 < z < 0: erfc(-z) has no tail to lose. Else GELU's own tail, from x itself.
    let near = uz < 0xbfa00000u;
    let e = vm_erfc_with_tail(bitcast<f32>(uz ^ VM_SIGN), !near, bitcast<f32>(uz & VM_ABS),
                              bitcast<f32>(bitcast<u32>(xs) & VM_ABS), 0.5);
    let r_near = keep(hx * e.r);
    let r_tail = vm_ldexp(keep(hx * e.t.p), e.t.k);
    var r = select(r_tail, r_near, near);
    r = select(r, bitcast<f32>(VM_SIGN), far_neg);
    r = select(r, x, ux == VM_INF);
    return select(r, vm_quiet(x), vm_is_nan(x));
}
