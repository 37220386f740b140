// vector_unary: one function of one input, elementwise, in f32 (the Vector unit's unary ops).
// CPU twin: src/reference/vector_unary.rs. Launcher: src/kernels/vector.rs. p.func is UnaryFn::code().
// Each invocation computes elements 2w and 2w+1 and writes them as f32 or as one packed bf16 word.

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn load_x(i: u32) -> f32 {
    return unpack_elem(x[word_index(i, p.x_bf16)], i, p.x_bf16);
}

fn unary_fn(f: u32, v: f32) -> f32 {
    switch f {
        case 0u: { return bitcast<f32>(bitcast<u32>(v) ^ 0x80000000u); }  // neg
        case 1u: { return bitcast<f32>(bitcast<u32>(v) & 0x7fffffffu); }  // abs
        case 2u: { return vm_exp(v); }
        case 3u: { return vm_log(v); }
        case 4u: { return vm_sqrt(v); }
        case 5u: { return vm_rsqrt(v); }
        case 6u: { return vm_recip(v); }
        case 7u: { return vm_tanh(v); }
        case 8u: { return vm_sigmoid(v); }
        case 9u: { return vp_relu(v); }
        case 10u: { return vm_silu(v); }
        case 11u: { return vm_gelu(v); }
        default: { return vm_gelu_tanh(v); }
    }
}

fn value(i: u32) -> f32 {
    return unary_fn(p.func, load_x(i));
}
