// vector_rope: rotary position embedding, rotate-half form (program::rope): for x[.., s, h, :] of width
// D = p.cols with halves x1, x2: out = [x1 cos - x2 sin, x2 cos + x1 sin], tables [p.seq, D/2].
// CPU twin: src/reference/vector_rope.rs.

#import vector_params
#import elementwise_main

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;  // cos
@group(0) @binding(3) var<storage, read> z: array<u32>;  // sin
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

fn load_x(i: u32) -> f32 {
    return unpack_elem(x[word_index(i, p.x_bf16)], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    return unpack_elem(y[word_index(i, p.y_bf16)], i, p.y_bf16);
}

fn load_z(i: u32) -> f32 {
    return unpack_elem(z[word_index(i, p.z_bf16)], i, p.z_bf16);
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
