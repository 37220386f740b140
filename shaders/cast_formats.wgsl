// cast_formats: the Vector unit's conversion between any two element formats (FMT_* codes), rounding to
// nearest even or stochastically (Philox2x32-10 bits per element index, so a given seed gives the same
// bits on any GPU and in the CPU twin, src/reference/cast_formats.rs). Launcher: src/kernels/cast_formats.rs.
// Every value goes through its f32 bits: widening to f32 is exact for every format but int32 (which
// rounds to nearest even), then one rounding to the target. Each invocation writes one output word
// (1, 2 or 4 elements); integer operations only, apart from the int8/int32 targets' round().

#import codes
#import bf16
#import formats

struct Params {
    len: u32,         // elements
    src_fmt: u32,     // FMT_* of the source
    dst_fmt: u32,     // FMT_* of the result
    stochastic: u32,  // 1: stochastic rounding (float targets narrower than f32)
    seed: u32,
    index_base: u32,  // element index of src[0] in the whole tensor (a chunk's offset)
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

fn width_of(code: u32) -> u32 {
    switch code {
        case FMT_F32, FMT_I32: { return 32u; }
        case FMT_BF16, FMT_F16: { return 16u; }
        case FMT_E4M3, FMT_E5M2, FMT_I8: { return 8u; }
        default: { return 32u; }
    }
}

// Raw bits of source element i.
fn src_bits(i: u32) -> u32 {
    let w = width_of(p.src_fmt);
    if (w == 32u) {
        return src[i];
    }
    let per = 32u / w;
    let word = src[i / per];
    return (word >> ((i % per) * w)) & ((1u << w) - 1u);
}

// f32 bits of a source element.
fn widen(raw: u32) -> u32 {
    switch p.src_fmt {
        case FMT_F32: { return raw; }
        case FMT_BF16: { return raw << 16u; }
        case FMT_F16, FMT_E4M3, FMT_E5M2: { return mf_decode(mf_of(p.src_fmt), raw); }
        case FMT_I8: { return i32_to_f32_bits((bitcast<i32>(raw << 24u)) >> 24u); }
        case FMT_I32: { return i32_to_f32_bits(bitcast<i32>(raw)); }
        default: { return 0x7fc0deadu; }
    }
}

// Raw bits of the result of f32 bits b, element index i.
fn narrow(b: u32, i: u32) -> u32 {
    let sr = p.stochastic != 0u;
    switch p.dst_fmt {
        case FMT_F32: { return b; }
        case FMT_BF16: {
            // A NaN keeps its payload's top bits, as the bf16 cast always has.
            if (!sr || (b & 0x7fffffffu) > 0x7f800000u) {
                return f32_bits_to_bf16_bits(b);
            }
            return mf_encode_sr(mf_of(FMT_BF16), b, philox_bits(p.seed, p.index_base + i));
        }
        case FMT_F16, FMT_E4M3, FMT_E5M2: {
            if (sr) {
                return mf_encode_sr(mf_of(p.dst_fmt), b, philox_bits(p.seed, p.index_base + i));
            }
            return mf_encode(mf_of(p.dst_fmt), b);
        }
        case FMT_I8: { return f32_to_i8_bits(b); }
        case FMT_I32: { return f32_to_i32_bits(b); }
        default: { return 0u; }
    }
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // A 2-D grid lets the dispatch exceed 65535 workgroups along x.
    let word = gid.x + gid.y * nwg.x * 256u;
    let w = width_of(p.dst_fmt);
    let per = 32u / w;
    if (word * per >= p.len) {
        return;
    }
    var out = 0u;
    for (var j = 0u; j < per; j++) {
        let i = word * per + j;
        if (i < p.len) {
            let bits = narrow(widen(src_bits(i)), i) & select((1u << w) - 1u, 0xffffffffu, w == 32u);
            out = out | (bits << (j * w));
        }
    }
    dst[word] = out;
}
