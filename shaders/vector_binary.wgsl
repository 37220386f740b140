// vector_binary: one function of two inputs, elementwise with numpy broadcasting, in f32 with one rounding
// (division correctly rounded by vm_div). CPU twin: src/reference/vector_binary.rs. p.func is BinaryFn::code().

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

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

fn binary_fn(f: u32, a: f32, b: f32) -> f32 {
    switch f {
        case 0u: { return vm_add(a, b); }
        case 1u: { return vm_sub(a, b); }
        case 2u: { return vm_mul(a, b); }
        case 3u: { return vm_div(a, b); }
        case 4u: { return vm_max(a, b); }
        default: { return vm_min(a, b); }
    }
}

fn value(i: u32) -> f32 {
    let a = load_x(bcast_offset(i, p.x_strides));
    let b = load_y(bcast_offset(i, p.y_strides));
    return binary_fn(p.func, a, b);
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
