// shared/formats.wgsl: the number formats beside bf16 (fp16, fp8 e4m3/e5m2, HF32, int8, int32) and the
// counter-based random stream of stochastic rounding. Mirrors src/numerics/formats.rs line for line, with
// integer operations only, so a GPU that flushes f32 subnormals in arithmetic cannot change a conversion.
// Every shift amount is kept below 32: WGSL takes a runtime shift modulo the bit width.

#import codes

struct MiniFloat {
    exp_bits: u32,
    man_bits: u32,
    bias: i32,
    has_inf: bool,
    max_finite: u32,  // magnitude bits of the largest finite value
    nan: u32,         // magnitude bits of the quiet NaN every NaN becomes
}

// The narrow float format of an FMT_* code (bf16 for any other code).
fn mf_of(code: u32) -> MiniFloat {
    if (code == FMT_F16) {
        return MiniFloat(5u, 10u, 15, true, 0x7bffu, 0x7e00u);
    }
    if (code == FMT_E4M3) {
        return MiniFloat(4u, 3u, 7, false, 0x7eu, 0x7fu);
    }
    if (code == FMT_E5M2) {
        return MiniFloat(5u, 2u, 15, true, 0x7bu, 0x7eu);
    }
    return MiniFloat(8u, 7u, 127, true, 0x7f7fu, 0x7fc0u);
}

fn mf_inf(f: MiniFloat) -> u32 {
    return ((1u << f.exp_bits) - 1u) << f.man_bits;
}

// Significand of f32 magnitude bits `mag` with its implicit bit.
fn mf_sig(mag: u32) -> u32 {
    return (mag & 0x007fffffu) | select(0u, 0x00800000u, (mag >> 23u) != 0u);
}

// Bits to drop from the significand to reach the format's precision at that magnitude.
fn mf_drop(f: MiniFloat, mag: u32) -> u32 {
    let e = i32(max(mag >> 23u, 1u)) - 127;
    let emin = 1 - f.bias;
    return u32(23 - i32(f.man_bits) + max(emin - e, 0));
}

fn mf_assemble(f: MiniFloat, sign: u32, mag: u32, rounded: u32) -> u32 {
    let e = i32(max(mag >> 23u, 1u)) - 127;
    let emin = 1 - f.bias;
    var code = rounded;
    if (e >= emin) {
        code = (u32(e + f.bias - 1) << f.man_bits) + rounded;
    }
    if (code > f.max_finite) {
        code = select(f.nan, mf_inf(f), f.has_inf);
    }
    return sign | code;
}

// f32 bits -> the format, nearest even.
fn mf_encode(f: MiniFloat, b: u32) -> u32 {
    let sign = (b >> 31u) << (f.exp_bits + f.man_bits);
    let mag = b & 0x7fffffffu;
    if (mag > 0x7f800000u) {
        return sign | f.nan;
    }
    if (mag == 0x7f800000u) {
        return sign | select(f.nan, mf_inf(f), f.has_inf);
    }
    let sig = mf_sig(mag);
    let drop = mf_drop(f, mag);
    var rounded = 0u;
    if (drop <= 24u) {
        let half = 1u << (drop - 1u);
        let odd = (sig >> drop) & 1u;
        rounded = (sig + half - 1u + odd) >> drop;
    }
    return mf_assemble(f, sign, mag, rounded);
}

// f32 bits -> the format, stochastically with 32 random bits r.
fn mf_encode_sr(f: MiniFloat, b: u32, r: u32) -> u32 {
    let sign = (b >> 31u) << (f.exp_bits + f.man_bits);
    let mag = b & 0x7fffffffu;
    if (mag >= 0x7f800000u) {
        return mf_encode(f, b);
    }
    let sig = mf_sig(mag);
    let drop = mf_drop(f, mag);
    var rounded = 0u;
    if (drop <= 31u) {
        rounded = (sig + (r >> (32u - drop))) >> drop;
    } else if (drop < 56u) {
        rounded = select(0u, 1u, r < (sig >> (drop - 32u)));
    }
    return mf_assemble(f, sign, mag, rounded);
}

// A code of the format -> f32 bits, exactly.
fn mf_decode(f: MiniFloat, code: u32) -> u32 {
    let sign = ((code >> (f.exp_bits + f.man_bits)) & 1u) << 31u;
    let all_ones = (1u << f.exp_bits) - 1u;
    let field = (code >> f.man_bits) & all_ones;
    let man = code & ((1u << f.man_bits) - 1u);
    var is_nan = field == all_ones && man == (1u << f.man_bits) - 1u;
    if (f.has_inf) {
        is_nan = field == all_ones && man != 0u;
    }
    if (is_nan) {
        return sign | 0x7fc00000u | (man << (23u - f.man_bits));
    }
    if (f.has_inf && field == all_ones) {
        return sign | 0x7f800000u;
    }
    if (field == 0u) {
        if (man == 0u) {
            return sign;
        }
        if (1 - f.bias <= -126) {
            return sign | (man << (23u - f.man_bits));
        }
        let lead = 31u - countLeadingZeros(man);
        let e = 1 - f.bias - i32(f.man_bits) + i32(lead);
        let frac = (man << (23u - lead)) & 0x007fffffu;
        return sign | (u32(e + 127) << 23u) | frac;
    }
    let e = i32(field) - f.bias;
    return sign | (u32(e + 127) << 23u) | (man << (23u - f.man_bits));
}

// f32 bits -> HF32 (11 fraction bits, nearest even), as f32 bits.
fn hf32_round_bits(b: u32) -> u32 {
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return (b | 0x00400000u) & 0xfffff000u;
    }
    let lsb = (b >> 12u) & 1u;
    return (b + 0x7ffu + lsb) & 0xfffff000u;
}

// int32 -> f32 bits, nearest even (WGSL's f32(i32) may round either way).
fn i32_to_f32_bits(v: i32) -> u32 {
    if (v == 0) {
        return 0u;
    }
    let sign = select(0u, 0x80000000u, v < 0);
    let mag = select(bitcast<u32>(v), 0u - bitcast<u32>(v), v < 0);
    let lead = 31u - countLeadingZeros(mag);
    if (lead <= 23u) {
        return sign | ((lead + 127u) << 23u) | ((mag << (23u - lead)) & 0x007fffffu);
    }
    let drop = lead - 23u;
    let odd = (mag >> drop) & 1u;
    let half = 1u << (drop - 1u);
    let rounded = (mag + half - 1u + odd) >> drop;
    return sign + (((lead + 127u - 1u) << 23u) + rounded);
}

// f32 -> int8 (nearest even, saturated; NaN -> 0), as its low 8 bits.
fn f32_to_i8_bits(b: u32) -> u32 {
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return 0u;
    }
    let r = clamp(round(bitcast<f32>(b)), -128.0, 127.0);
    return bitcast<u32>(i32(r)) & 0xffu;
}

// f32 -> int32 (nearest even, saturated; NaN -> 0), as its bits.
fn f32_to_i32_bits(b: u32) -> u32 {
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return 0u;
    }
    let r = round(bitcast<f32>(b));
    if (r >= 2147483648.0) {
        return 0x7fffffffu;
    }
    if (r < -2147483648.0) {
        return 0x80000000u;
    }
    return bitcast<u32>(i32(r));
}

// The high and low words of a 32 x 32 -> 64-bit product, from 16-bit pieces (WGSL has no 64-bit integers).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let t = a1 * b0 + ((a0 * b0) >> 16u);
    let w1 = (t & 0xffffu) + a0 * b1;
    let hi = a1 * b1 + (t >> 16u) + (w1 >> 16u);
    return vec2<u32>(hi, a * b);
}

// 32 random bits for element `index` of stream `seed`: the first word of Philox2x32-10 on counter
// (index, 0) with key `seed`.
fn philox_bits(seed: u32, index: u32) -> u32 {
    var x0 = index;
    var x1 = 0u;
    var k = seed;
    for (var i = 0u; i < 10u; i++) {
        let p = mul_wide(0xD256D193u, x0);
        x0 = p.x ^ k ^ x1;
        x1 = p.y;
        k = k + 0x9E3779B9u;
    }
    return x0;
}
