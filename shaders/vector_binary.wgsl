// vector_binary: one function of two inputs, elementwise with numpy broadcasting, in f32 with one rounding
// (division correctly rounded by vm_div). CPU twin: src/reference/vector_binary.rs. p.func is BinaryFn::code().

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn load_x(i: u32) -> f32 {
    return unpack_elem(x[word_index(i, p.x_bf16)], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    return unpack_elem(y[word_index(i, p.y_bf16)], i, p.y_bf16);
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
