// vector_binary: one function of two inputs, elementwise with numpy broadcasting, in f32 with one rounding
// (division correctly rounded by vm_div). CPU twin: src/reference/vector_binary.rs. p.func is a
// BINARY_* code (shared/codes.wgsl, BinaryFn::code()).
// Codes 6-9 are the activation gradients dy * act'(x) (x = a, dy = b), line for line with the twin.
// The function is the pipeline constant FUNC (= p.func), one pipeline per function, each built from a
// module holding its own case of binary_fn only (`@fold`: 0.47-0.70 s a pipeline on lavapipe with all ten
// functions, about 0.02 s with one): see vector_unary.wgsl.
// PLAIN = 1 when both operands are laid out as the result (no broadcasting): each is then read at the
// result's own index, not through bcast_offset's division and remainder per dimension, and with WIDE = 1
// (shared/elementwise_main.wgsl; the launcher takes it for the cheap functions) in whole vec4s.
// @variants FUNC=0,1,2,3,4,5,6,7,8,9 PLAIN=0,1 WIDE=0,1
// @fold FUNC BINARY
// @chunk-bytes 32

#import vector_params
#import codes
#import elementwise_main
#import binary_fns

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
