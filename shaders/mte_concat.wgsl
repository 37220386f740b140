// mte_concat: two tensors joined along an axis, bits moved unchanged. Both are viewed as rows (the axes
// before the joined one make the rows): result row r is x's row r (p.dims.x elements) then y's row r
// (p.dims.y elements). CPU twin: src/reference/mte_concat.rs. Each invocation writes elements 2w and
// 2w+1, as shared/mte_main.wgsl's kernels do; x and y have one dtype (p.x_bf16).

#import vector_params

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

// The raw bits of element i of x (from_y false) or y: a bf16 in the low 16 bits, or an f32.
fn raw(from_y: bool, i: u32) -> u32 {
    var word = 0u;
    if (p.x_bf16 != 0u) {
        if (from_y) {
            word = y[i >> 1u];
        } else {
            word = x[i >> 1u];
        }
        return (word >> ((i & 1u) * 16u)) & 0xffffu;
    }
    if (from_y) {
        return y[i];
    }
    return x[i];
}

// Result element i: from x's row or y's.
fn element(i: u32) -> u32 {
    let width = p.dims.x + p.dims.y;
    let r = i / width;
    let c = i % width;
    if (c < p.dims.x) {
        return raw(false, r * p.dims.x + c);
    }
    return raw(true, r * p.dims.y + (c - p.dims.x));
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
