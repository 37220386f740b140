// shared/unary_fns.wgsl: the Vector unit's elementwise functions of one input, by UNARY_* code
// (shared/codes.wgsl), for vector_unary and vector_chain. CPU twin: src/reference/vector_unary.rs.
// Kernels call unary_fn with a pipeline constant for `f`, so that the switch folds to one case (a software
// rasterizer runs every case of a switch on a uniform), and vector_unary's `// @fold` builds each
// pipeline from a module with that one case only. Each case stays on one line: the fold drops lines.

#import vector_params
#import codes

fn unary_fn(f: u32, v: f32) -> f32 {
    switch f {
        case UNARY_NEG: { return bitcast<f32>(bitcast<u32>(v) ^ 0x80000000u); }  // neg
        case UNARY_ABS: { return bitcast<f32>(bitcast<u32>(v) & 0x7fffffffu); }  // abs
        case UNARY_EXP: { return vm_exp(v); }
        case UNARY_LOG: { return vm_log(v); }
        case UNARY_SQRT: { return vm_sqrt(v); }
        case UNARY_RSQRT: { return vm_rsqrt(v); }
        case UNARY_RECIP: { return vm_recip(v); }
        case UNARY_TANH: { return vm_tanh(v); }
        case UNARY_SIGMOID: { return vm_sigmoid(v); }
        case UNARY_RELU: { return vp_relu(v); }
        case UNARY_SILU: { return vm_silu(v); }
        case UNARY_GELU: { return vm_gelu(v); }
        case UNARY_GELU_TANH: { return vm_gelu_tanh(v); }
        case UNARY_ERF: { return vm_erf(v); }
        // Unreachable: the build checks that every code of shared/codes.wgsl has its case. A stray code
        // gives NaN, never a plausible number.
        default: { return bitcast<f32>(0x7fc0deadu); }
    }
}

