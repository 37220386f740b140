// vector_binary: one function of two inputs, elementwise with numpy broadcasting, in f32 with one rounding
// (division correctly rounded by vm_div). CPU twin: src/reference/vector_binary.rs. p.func is a
// BINARY_* code (shared/codes.wgsl, BinaryFn::code()).
// Codes 6-9 are the activation gradients dy * act'(x) (x = a, dy = b), line for line with the twin.
// The function is the pipeline constant FUNC (= p.func), one pipeline per function: see vector_unary.wgsl.
// PLAIN = 1 when both operands are laid out as the result (no broadcasting): each is then read at the
// result's own index, not through bcast_offset's division and remainder per dimension, and with WIDE = 1
// (shared/elementwise_main.wgsl; the launcher takes it for the cheap functions) in whole vec4s.
// @variants FUNC=0,1,2,3,4,5,6,7,8,9 PLAIN=0,1 WIDE=0,1
// @chunk-bytes 32

#import vector_params
#import codes
#import elementwise_main

// The BINARY_* code of this pipeline's function (shared/codes.wgsl).
override FUNC: u32 = 0u;
override PLAIN: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<u32>>;

fn load_x(i: u32) -> f32 {
    let wi = word_index(i, p.x_bf16);
    return unpack_elem(x[wi >> 2u][wi & 3u], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    let wi = word_index(i, p.y_bf16);
    return unpack_elem(y[wi >> 2u][wi & 3u], i, p.y_bf16);
}

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

fn value(i: u32) -> f32 {
    if (PLAIN == 1u) {
        return binary_fn(FUNC, load_x(i), load_y(i));
    }
    let a = load_x(bcast_offset(i, p.x_strides));
    let b = load_y(bcast_offset(i, p.y_strides));
    return binary_fn(FUNC, a, b);
}

// Elements 8c .. 8c+7; with PLAIN, both operands' words as whole vec4s.
fn chunk8(c: u32) -> array<f32, 8> {
    if (PLAIN != 1u) {
        return values8(c);
    }
    var a: array<f32, 8>;
    var b: array<f32, 8>;
    if (p.x_bf16 != 0u) {
        a = unpack8(x[c], vec4(0u), 1u);
    } else {
        a = unpack8(x[2u * c], x[2u * c + 1u], 0u);
    }
    if (p.y_bf16 != 0u) {
        b = unpack8(y[c], vec4(0u), 1u);
    } else {
        b = unpack8(y[2u * c], y[2u * c + 1u], 0u);
    }
    for (var k = 0u; k < 8u; k++) {
        a[k] = binary_fn(FUNC, a[k], b[k]);
    }
    return a;
}
