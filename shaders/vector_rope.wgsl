// vector_rope: rotary position embedding, rotate-half form (program::rope): for x[.., s, h, :] of width
// D = p.cols with halves x1, x2: out = [x1 cos - x2 sin, x2 cos + x1 sin], tables [p.seq, D/2].
// CPU twin: src/reference/vector_rope.rs.
// @chunk-bytes 32

#import vector_params
#import elementwise_main

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<u32>>;  // cos
@group(0) @binding(3) var<storage, read> z: array<vec4<u32>>;  // sin
@group(0) @binding(4) var<storage, read_write> out: array<vec4<u32>>;

fn load_x(i: u32) -> f32 {
    let wi = word_index(i, p.x_bf16);
    return unpack_elem(x[wi >> 2u][wi & 3u], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    let wi = word_index(i, p.y_bf16);
    return unpack_elem(y[wi >> 2u][wi & 3u], i, p.y_bf16);
}

fn load_z(i: u32) -> f32 {
    let wi = word_index(i, p.z_bf16);
    return unpack_elem(z[wi >> 2u][wi & 3u], i, p.z_bf16);
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

// The wide layout is not used by this kernel (its launcher keeps WIDE = 0).
fn chunk8(c: u32) -> array<f32, 8> {
    return values8(c);
}
