// shared/mte_main.wgsl: the entry point of the data-movement kernels (imported by the kernel, which binds
// `x` and `out` and defines `element(i)`, the raw bits result element i copies; most return
// `raw(source(i))`). Bits are moved unchanged: a bf16 as its 16 bits, an f32 as its word (p.x_bf16 says
// which, for every input). Each invocation writes elements 2w and 2w+1.

#import vector_params

// The raw bits of input element i: a bf16 in the low 16 bits, or an f32.
fn raw(i: u32) -> u32 {
    if (p.x_bf16 != 0u) {
        return (x[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;
    }
    return x[i];
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = flat_invocation(gid, nwg);
    let i = 2u * w;
    if (i >= p.len) {
        return;
    }
    let have1 = i + 1u < p.len;
    let a = element(i);
    var b = 0u;
    if (have1) {
        b = element(i + 1u);
    }
    if (p.x_bf16 != 0u) {
        out[w] = a | (b << 16u);
    } else {
        out[i] = a;
        if (have1) {
            out[i + 1u] = b;
        }
    }
}
