// cast_f32_bf16: rounds f32 values to bf16 once (FixPipe's output conversion, and the Vector unit's cast).
// CPU twin: src/reference/cast_f32_bf16.rs. Each invocation writes one packed word: elements 2i and 2i+1.

#import bf16

struct Params {
    len: u32,       // number of f32 elements
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;        // f32 bits
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;  // packed bf16

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // A 2-D grid lets the dispatch exceed 65535 workgroups along x.
    let word = gid.x + gid.y * nwg.x * 256u;
    let i = word * 2u;
    if (i >= p.len) {
        return;
    }
    let lo = f32_bits_to_bf16_bits(src[i]);
    var hi = 0u;
    if (i + 1u < p.len) {
        hi = f32_bits_to_bf16_bits(src[i + 1u]);
    }
    dst[word] = lo | (hi << 16u);
}
