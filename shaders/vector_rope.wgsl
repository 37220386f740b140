// vector_rope: rotary position embedding, rotate-half form (program::rope): for x[.., s, h, :] of width
// D = p.cols with halves x1, x2: out = [x1 cos - x2 sin, x2 cos + x1 sin], tables [p.seq, D/2].
// CPU twin: src/reference/vector_rope.rs.

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;  // cos
@group(0) @binding(3) var<storage, read> z: array<u32>;  // sin
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

fn load_x(i: u32) -> f32 {
    if (p.x_bf16 != 0u) {
        return bf16_unpack(x[i >> 1u], i);
    }
    return bitcast<f32>(x[i]);
}

fn load_y(i: u32) -> f32 {
    if (p.y_bf16 != 0u) {
        return bf16_unpack(y[i >> 1u], i);
    }
    return bitcast<f32>(y[i]);
}

fn load_z(i: u32) -> f32 {
    if (p.z_bf16 != 0u) {
        return bf16_unpack(z[i >> 1u], i);
    }
    return bitcast<f32>(z[i]);
}

fn value(i: u32) -> f32 {
    let half = p.cols / 2u;
    let d = i % p.cols;
    let s = (i / (p.cols * p.rows)) % p.seq;
    let t = s * half + d % half;
    let c = load_y(t);
    let sn = load_z(t);
    if (d < half) {
        return vm_sub(vm_mul(load_x(i), c), vm_mul(load_x(i + half), sn));
    }
    return vm_add(vm_mul(load_x(i), c), vm_mul(load_x(i - half), sn));
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = flat_invocation(gid, nwg);
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
