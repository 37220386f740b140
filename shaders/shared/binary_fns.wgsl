// shared/binary_fns.wgsl: the Vector unit's elementwise functions of two inputs, by BINARY_* code
// (shared/codes.wgsl), for vector_binary and vector_chain. Codes 6-9 are the activation gradients
// dy * act'(x) (x = a, dy = b), line for line with the twin (src/reference/vector_binary.rs). Kernels call
// binary_fn with a pipeline constant for `f` (see shared/unary_fns.wgsl); each case stays on one line, as
// vector_binary's `// @fold` drops the other functions' lines.

#import vector_params
#import codes

fn clamp_to(x: f32, c: f32) -> f32 {
    return vm_min(vm_max(x, -c), c);
}

fn relu_grad(x: f32, dy: f32) -> f32 {
    if (vm_is_nan(x) || vm_is_nan(dy)) {
        return vm_nan2(x, dy);
    }
    if (vm_gt(x, 0.0)) {
        return dy;
    }
    return 0.0;
}

fn silu_grad(x: f32, dy: f32) -> f32 {
    if (vm_is_nan(x) || vm_is_nan(dy)) {
        return vm_nan2(x, dy);
    }
    let xc = clamp_to(x, 80.0);
    let s = vm_sigmoid(xc);
    let w = vm_add(1.0, vm_mul(xc, vm_sub(1.0, s)));
    return vm_mul(vm_mul(s, w), dy);
}

fn gelu_grad(x: f32, dy: f32) -> f32 {
    if (vm_is_nan(x) || vm_is_nan(dy)) {
        return vm_nan2(x, dy);
    }
    let xc = clamp_to(x, 20.0);
    let cdf = vm_mul(0.5, vm_erfc(vm_mul(xc, vm_f(0xbf3504f3u))));
    let e = vm_exp(vm_mul(vm_mul(xc, xc), -0.5));
    let pdf = vm_mul(e, vm_f(0x3ecc422au));
    return vm_mul(vm_add(cdf, vm_mul(xc, pdf)), dy);
}

fn gelu_tanh_grad(x: f32, dy: f32) -> f32 {
    if (vm_is_nan(x) || vm_is_nan(dy)) {
        return vm_nan2(x, dy);
    }
    let xc = clamp_to(x, 20.0);
    let x2 = vm_mul(xc, xc);
    let v = vm_mul(xc, vm_add(vm_f(0x3fcc422au), vm_mul(x2, vm_f(0x3d922279u))));
    let s = vm_sigmoid(v);
    let dv = vm_add(vm_f(0x3fcc422au), vm_mul(x2, vm_f(0x3e5b33b6u)));
    let q = vm_mul(s, vm_sub(1.0, s));
    let d = vm_add(s, vm_mul(vm_mul(xc, q), dv));
    return vm_mul(d, dy);
}

fn binary_fn(f: u32, a: f32, b: f32) -> f32 {
    switch f {
        case BINARY_ADD: { return vm_add(a, b); }
        case BINARY_SUB: { return vm_sub(a, b); }
        case BINARY_MUL: { return vm_mul(a, b); }
        case BINARY_DIV: { return vm_div(a, b); }
        case BINARY_MAX: { return vm_max(a, b); }
        case BINARY_MIN: { return vm_min(a, b); }
        case BINARY_RELU_GRAD: { return relu_grad(a, b); }
        case BINARY_SILU_GRAD: { return silu_grad(a, b); }
        case BINARY_GELU_GRAD: { return gelu_grad(a, b); }
        case BINARY_GELU_TANH_GRAD: { return gelu_tanh_grad(a, b); }
        // Unreachable: the build checks that every code of shared/codes.wgsl has its case. A stray code
        // gives NaN, never a plausible number.
        default: { return bitcast<f32>(0x7fc0deadu); }
    }
}

