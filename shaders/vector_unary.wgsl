// vector_unary: one function of one input, elementwise, in f32 (the Vector unit's unary ops).
// CPU twin: src/reference/vector_unary.rs. Launcher: src/kernels/vector.rs. p.func is a UNARY_* code
// (shared/codes.wgsl, UnaryFn::code()).
// Two elements or a chunk of 8 per invocation (WIDE; shared/elementwise_main.wgsl): the launcher takes WIDE
// = 1 for the cheap functions.
//
// The function is the pipeline constant FUNC (= p.func), one pipeline per function: a software rasterizer
// (lavapipe) runs a switch on a uniform with every case under a lane mask, so one kernel holding all
// fourteen functions spent the time of all fourteen on every element. A constant selector folds to one.
// `@fold`: each FUNC's pipeline is built from a module that holds its own case of unary_fn only, since a
// driver inlines every case before it folds the selector: 0.29-0.38 s a pipeline on lavapipe with all
// fourteen, about 0.01 s with one.
// @variants FUNC=0,1,2,3,4,5,6,7,8,9,10,11,12,13 WIDE=0,1
// @fold FUNC UNARY
// @chunk-bytes 32

#import vector_params
#import codes
#import elementwise_main
#import unary_fns

// The UNARY_* code of this pipeline's function (shared/codes.wgsl).
override FUNC: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<u32>>;

fn load_x(i: u32) -> f32 {
    let wi = word_index(i, p.x_bf16);
    return unpack_elem(x[wi >> 2u][wi & 3u], i, p.x_bf16);
}

fn value(i: u32) -> f32 {
    return unary_fn(FUNC, load_x(i));
}

// Elements 8c .. 8c+7: x's words as two vec4 (f32) or one (bf16).
fn chunk8(c: u32) -> array<f32, 8> {
    var v: array<f32, 8>;
    if (p.x_bf16 != 0u) {
        v = unpack8(x[c], vec4(0u), 1u);
    } else {
        v = unpack8(x[2u * c], x[2u * c + 1u], 0u);
    }
    for (var k = 0u; k < 8u; k++) {
        v[k] = unary_fn(FUNC, v[k]);
    }
    return v;
}
