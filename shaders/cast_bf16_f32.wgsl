// cast_bf16_f32: widens bf16 values to f32, exactly (the bits shifted up by 16; integer operations only, so
// NaN payloads and subnormals pass unchanged). CPU twin: src/reference/cast_bf16_f32.rs.

#import bf16

struct Params {
    len: u32,       // number of elements
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;        // packed bf16
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;  // f32 bits

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // A 2-D grid lets the dispatch exceed 65535 workgroups along x.
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.len) {
        return;
    }
    dst[i] = bitcast<u32>(bf16_unpack(src[i >> 1u], i));
}
