// vector_epilogue: a cube_matmul epilogue on the f32 accumulator (FixPipe / Vector hand-off), then one
// rounding to the output dtype: v * scale, + bias[n], activation, + residual. CPU twin:
// src/reference/vector_epilogue.rs. p.func is an ACT_* code (shared/codes.wgsl); p.cols is N.
// The activation is also the pipeline constant FUNC, one pipeline per activation: see vector_unary.wgsl.
// @variants FUNC=0,1,2,3,4
// @chunk-bytes 32

#import vector_params
#import codes
#import elementwise_main

// The ACT_* code of this pipeline's activation (shared/codes.wgsl).
override FUNC: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;    // the accumulator, f32
@group(0) @binding(2) var<storage, read> y: array<vec4<u32>>;    // bias [N] (a dummy when absent)
@group(0) @binding(3) var<storage, read> z: array<vec4<u32>>;    // residual, the result's shape (a dummy when absent)
@group(0) @binding(4) var<storage, read_write> out: array<vec4<u32>>;

fn load_y(i: u32) -> f32 {
    let wi = word_index(i, p.y_bf16);
    return unpack_elem(y[wi >> 2u][wi & 3u], i, p.y_bf16);
}

fn load_z(i: u32) -> f32 {
    let wi = word_index(i, p.z_bf16);
    return unpack_elem(z[wi >> 2u][wi & 3u], i, p.z_bf16);
}

fn activate(f: u32, v: f32) -> f32 {
    switch f {
        case ACT_NONE: { return v; }
        case ACT_RELU: { return vp_relu(v); }
        case ACT_GELU: { return vm_gelu(v); }
        case ACT_GELU_TANH: { return vm_gelu_tanh(v); }
        case ACT_SILU: { return vm_silu(v); }
        // Unreachable: the build checks that every code of shared/codes.wgsl has its case. A stray code
        // gives NaN, never a plausible number.
        default: { return bitcast<f32>(0x7fc0deadu); }
    }
}

fn value(i: u32) -> f32 {
    var v = bitcast<f32>(x[i >> 2u][i & 3u]);
    if ((p.flags & HAS_SCALE) != 0u) {
        v = vm_mul(v, p.scale);
    }
    if ((p.flags & HAS_Y) != 0u) {
        v = vm_add(v, load_y(i % p.cols));
    }
    v = activate(FUNC, v);
    if ((p.flags & HAS_Z) != 0u) {
        v = vm_add(v, load_z(i));
    }
    return v;
}

// The wide layout is not used by this kernel (its launcher keeps WIDE = 0).
fn chunk8(c: u32) -> array<f32, 8> {
    return values8(c);
}
