// shared/elementwise_main.wgsl: the entry point of the elementwise Vector kernels (imported by the kernel).
// The kernel binds its buffers as array<vec4<u32>> (each is bound in whole 32-byte chunks: `@chunk-bytes
// 32`), names its result `out`, and defines
// - `value(i)`: the f32 result for element i (its loads one word at a time), and
// - `chunk8(c)`: the f32 results for elements 8c .. 8c+7 (it may load whole vec4s; `values8(c)` is the
//   fallback through value()). Elements past p.len may hold anything: they are stored as 0.
//
// Two layouts, the pipeline constant WIDE choosing (its launcher knows which suits the function):
// - WIDE = 0: each invocation computes elements 2w and 2w+1 and stores them as two f32 words or one
//   packed bf16 word, so no two invocations write the same word.
// - WIDE = 1: each invocation computes the chunk of 8 elements c and stores it as two vec4 (f32) or one
//   vec4 (bf16) of words. Measured on lavapipe (4096 x 4096 f32), this halves the time of cheap functions
//   (relu 40 -> 25 ms, exp 51 -> 32 ms) by loading and storing 16 bytes at a time, but makes heavy ones
//   (gelu, erf, sigmoid, log) 10-20% slower: eight results in flight need more registers.

#import vector_params

override WIDE: u32 = 0u;

// The 8 f32 elements of a chunk, from its words: 8 bf16 in `lo` (is_bf16 = 1), or 8 f32 in `lo`, `hi`.
fn unpack8(lo: vec4<u32>, hi: vec4<u32>, is_bf16: u32) -> array<f32, 8> {
    var r: array<f32, 8>;
    for (var k = 0u; k < 4u; k++) {
        if (is_bf16 != 0u) {
            r[2u * k] = bitcast<f32>(lo[k] << 16u);
            r[2u * k + 1u] = bitcast<f32>(lo[k] & 0xffff0000u);
        } else {
            r[k] = bitcast<f32>(lo[k]);
            r[k + 4u] = bitcast<f32>(hi[k]);
        }
    }
    return r;
}

// chunk8 through value(), element by element (the indices past p.len read the last element).
fn values8(c: u32) -> array<f32, 8> {
    var r: array<f32, 8>;
    for (var k = 0u; k < 8u; k++) {
        r[k] = value(min(8u * c + k, p.len - 1u));
    }
    return r;
}

// Stores an elementwise result pair, elements i = 2w and i+1 (if in range): as f32, or rounded once into
// one packed bf16 word.
fn store_pair(w: u32, i: u32, v0: f32, v1: f32, have1: bool) {
    if (p.out_bf16 != 0u) {
        let hi = select(0u, f32_to_bf16_bits(v1), have1);
        out[w >> 2u][w & 3u] = f32_to_bf16_bits(v0) | (hi << 16u);
    } else {
        out[i >> 2u][i & 3u] = bitcast<u32>(v0);
        if (have1) {
            let j = i + 1u;
            out[j >> 2u][j & 3u] = bitcast<u32>(v1);
        }
    }
}

// Stores chunk c: elements past p.len as 0, every word of the chunk written.
fn store8(c: u32, r: array<f32, 8>) {
    var w: array<u32, 8>;
    for (var k = 0u; k < 8u; k++) {
        w[k] = select(0u, bitcast<u32>(r[k]), 8u * c + k < p.len);
    }
    if (p.out_bf16 != 0u) {
        var o: vec4<u32>;
        for (var k = 0u; k < 4u; k++) {
            let lo = f32_bits_to_bf16_bits(w[2u * k]);
            o[k] = lo | (f32_bits_to_bf16_bits(w[2u * k + 1u]) << 16u);
        }
        out[c] = o;
    } else {
        out[2u * c] = vec4(w[0], w[1], w[2], w[3]);
        out[2u * c + 1u] = vec4(w[4], w[5], w[6], w[7]);
    }
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = flat_invocation(gid, nwg);
    if (WIDE != 0u) {
        if (8u * w >= p.len) {
            return;
        }
        store8(w, chunk8(w));
        return;
    }
    let i = 2u * w;
    if (i >= p.len) {
        return;
    }
    let have1 = i + 1u < p.len;
    let v0 = value(i);
    var v1 = 0.0;
    if (have1) {
        v1 = value(i + 1u);
    }
    store_pair(w, i, v0, v1, have1);
}
