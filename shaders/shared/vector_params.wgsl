// shared/vector_params.wgsl: the uniforms and helpers of every vector_* shader (imported by each
// of them; see src/build/shaders.rs). Mirrors `VectorParams` in src/kernels/vector.rs.

#import bf16
#import vector_erf

struct Params {
    len: u32,       // elementwise: result elements; row ops: the row length
    rows: u32,      // row ops: rows in all
    zero: u32,      // always 0; see keep() in vector_math.wgsl
    func: u32,      // which function: UnaryFn / BinaryFn / ReduceFn / Activation code
    x_bf16: u32,    // 1 when x holds packed bf16, 0 for f32
    y_bf16: u32,    // the same for the second input (y, mask, gamma, bias)
    z_bf16: u32,    // the same for the third input (beta, residual)
    out_bf16: u32,  // elementwise kernels: 1 to write packed bf16
    eps: f32,
    scale: f32,
    flags: u32,     // bit 0: the second input is present; bit 1: the third; bit 2: scale is present
    row_base: u32,  // first row of this dispatch
    cols: u32,      // epilogue: N, the bias' length; rope: the head width; gather: the row width
    seq: u32,       // rope: positions
    sides_bf16: u32, // vector_chain: bit k set when side operand k holds packed bf16
    _pad2: u32,
    dims: vec4<u32>,       // the result's collapsed dimensions (numpy broadcasting), outermost first
    x_strides: vec4<u32>,  // x's element stride along each (0 where stretched)
    y_strides: vec4<u32>,  // the second input's (vector_chain: side operand 0's)
    s_strides: array<vec4<u32>, 3>,  // vector_chain: side operands 1-3's
}

@group(0) @binding(0) var<uniform> p: Params;

const HAS_Y: u32 = 1u;
const HAS_Z: u32 = 2u;
const HAS_SCALE: u32 = 4u;
const LANES: u32 = 256u;  // numerics::row_tree::LANES (see shared/row_tree.wgsl)

// Offset of result element `flat` in an operand with `strides` (program::broadcast::Broadcast::offset).
fn bcast_offset(flat: u32, strides: vec4<u32>) -> u32 {
    var f = flat;
    var off = 0u;
    for (var d = 3i; d >= 0i; d--) {
        let c = f % p.dims[d];
        f = f / p.dims[d];
        off += c * strides[d];
    }
    return off;
}

// The flat index of an elementwise invocation on a 2-D grid of 256-wide workgroups.
fn flat_invocation(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// The row of a row-op workgroup on a 2-D grid.
fn flat_row(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return p.row_base + wg.x + wg.y * nwg.x;
}

// NaN by its bits, so no compiler assumption about NaN can change the answer.
fn vp_is_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Element i of a buffer that holds packed bf16 (is_bf16 = 1) or f32: the word that holds it, and its value.
// Each shader's load_x / load_y / load_z is one line over these.
fn word_index(i: u32, is_bf16: u32) -> u32 {
    return select(i, i >> 1u, is_bf16 != 0u);
}

fn unpack_elem(word: u32, i: u32, is_bf16: u32) -> f32 {
    if (is_bf16 != 0u) {
        return bf16_unpack(word, i);
    }
    return bitcast<f32>(word);
}

// max(v, 0) with NaN kept and -0 giving +0 (reference::vector_unary::relu).
fn vp_relu(v: f32) -> f32 {
    if (vp_is_nan(v)) {
        return v;
    }
    if (v > 0.0) {
        return v;
    }
    return 0.0;
}
