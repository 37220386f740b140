// mte_permute: a copy with the axes reordered (or a plain copy): result element f is input element
// bcast_offset(f, p.x_strides), its bits moved unchanged. CPU twin: src/reference/mte_permute.rs.
// Each invocation writes elements 2w and 2w+1: one packed word for bf16, two words for f32.

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

// The raw bits of element i: a bf16 in the low 16 bits, or an f32.
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
    let a = raw(bcast_offset(i, p.x_strides));
    var b = 0u;
    if (have1) {
        b = raw(bcast_offset(i + 1u, p.x_strides));
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
