// vector_chain: two to four elementwise Vector ops applied one after another in one pass, the result of
// each rounded to its own dtype before the next reads it, as if each had been stored and loaded: the same
// bits as the ops run one by one (vector_unary, vector_binary), without the intermediate results' trips
// through memory. The executors fuse ops that a program records back to back when each intermediate
// feeds only the next op (planner: src/exec/chain_plan.rs; GPU side: src/exec/gpu/chain.rs); launcher:
// src/kernels/vector_chain.rs. CPU twin: the ops' own twins, one after another
// (src/reference/vector_unary.rs, vector_binary.rs; fused on the CPU by src/exec/cpu_chain.rs).
//
// Stage k (0-3) is the pipeline constants K<k> (1: unary F<k>(t); 2: binary F<k>(t, s_k); 3: binary
// F<k>(s_k, t); 0: absent, so are all after it) and F<k> (a UNARY_* or BINARY_* code, shared/codes.wgsl,
// of the cheap functions only: neg, abs, exp, relu; add, sub, mul, max, min, relu_grad). t starts as x;
// s_k is side operand k. Stage 0 binary reads the first op's x as t and its y as s_0.
// R<k> = 1 rounds stage k's result to bf16 (the last stage's rounding is the store's: p.out_bf16).
// Operands are addressed by the form constants FX and FS<k>: 0 at the result's own index (whole vec4
// words), 1 through their broadcast strides (p.x_strides, p.y_strides, p.s_strides), 2 a single element.
// Chunks of 8 elements per invocation (WIDE = 1, shared/elementwise_main.wgsl).
//
// Why only the cheap functions, and one call site per stage: a driver inlines every case of a switch
// before it folds the constant selector away, so each call site of a stage costs the compile of every
// function it could be. With all 24 functions and a call site per stage and layout, one pipeline took
// 3.7 s to build on lavapipe (a lone op's takes 0.4 s); as it is, 0.07-0.16 s. The heavy functions are
// compute-bound, where fusing saves little.
//
// Every constant is a selector that folds on its own, so the build validates each value of each with
// the others at their first value (`@variants-each`), not every combination.
// @variants-each WIDE=1 K0=1,2,3 K1=1,2,3,0 K2=0,1,2,3 K3=0,1,2,3 F0=0,1,2,4,5,6,9 F1=0,1,2,4,5,6,9 F2=0,1,2,4,5,6,9 F3=0,1,2,4,5,6,9 R0=0,1 R1=0,1 R2=0,1 FX=0,1,2 FS0=0,1,2 FS1=0,1,2 FS2=0,1,2 FS3=0,1,2
// @chunk-bytes 32

#import vector_params
#import codes
#import elementwise_main
#import binary_fns

override K0: u32 = 1u;
override K1: u32 = 1u;
override K2: u32 = 0u;
override K3: u32 = 0u;
override F0: u32 = 0u;
override F1: u32 = 0u;
override F2: u32 = 0u;
override F3: u32 = 0u;
override R0: u32 = 0u;
override R1: u32 = 0u;
override R2: u32 = 0u;
override FX: u32 = 0u;
override FS0: u32 = 0u;
override FS1: u32 = 0u;
override FS2: u32 = 0u;
override FS3: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> s0: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> s1: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> s2: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> s3: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> out: array<vec4<u32>>;

// The element of an operand of `form` that result element i reads.
fn at(i: u32, form: u32, strides: vec4<u32>) -> u32 {
    if (form == 0u) {
        return i;
    }
    if (form == 2u) {
        return 0u;
    }
    return bcast_offset(i, strides);
}

fn side_bf16(k: u32) -> u32 {
    return (p.sides_bf16 >> k) & 1u;
}

fn load_x(i: u32) -> f32 {
    let j = at(i, FX, p.x_strides);
    let wi = word_index(j, p.x_bf16);
    return unpack_elem(x[wi >> 2u][wi & 3u], j, p.x_bf16);
}

fn load_s0(i: u32) -> f32 {
    let j = at(i, FS0, p.y_strides);
    let wi = word_index(j, side_bf16(0u));
    return unpack_elem(s0[wi >> 2u][wi & 3u], j, side_bf16(0u));
}

fn load_s1(i: u32) -> f32 {
    let j = at(i, FS1, p.s_strides[0]);
    let wi = word_index(j, side_bf16(1u));
    return unpack_elem(s1[wi >> 2u][wi & 3u], j, side_bf16(1u));
}

fn load_s2(i: u32) -> f32 {
    let j = at(i, FS2, p.s_strides[1]);
    let wi = word_index(j, side_bf16(2u));
    return unpack_elem(s2[wi >> 2u][wi & 3u], j, side_bf16(2u));
}

fn load_s3(i: u32) -> f32 {
    let j = at(i, FS3, p.s_strides[2]);
    let wi = word_index(j, side_bf16(3u));
    return unpack_elem(s3[wi >> 2u][wi & 3u], j, side_bf16(3u));
}

// The cheap unary functions, line for line with shared/unary_fns.wgsl (and the twin).
fn cheap_unary(f: u32, v: f32) -> f32 {
    switch f {
        case UNARY_NEG: { return bitcast<f32>(bitcast<u32>(v) ^ 0x80000000u); }
        case UNARY_ABS: { return bitcast<f32>(bitcast<u32>(v) & 0x7fffffffu); }
        case UNARY_EXP: { return vm_exp(v); }
        case UNARY_RELU: { return vp_relu(v); }
        // Never reached: the launcher fuses only these (kernels/vector_chain.rs, `takes`).
        default: { return bitcast<f32>(0x7fc0deadu); }
    }
}

// The cheap binary functions, line for line with shared/binary_fns.wgsl (and the twin).
fn cheap_binary(f: u32, a: f32, b: f32) -> f32 {
    switch f {
        case BINARY_ADD: { return vm_add(a, b); }
        case BINARY_SUB: { return vm_sub(a, b); }
        case BINARY_MUL: { return vm_mul(a, b); }
        case BINARY_MAX: { return vm_max(a, b); }
        case BINARY_MIN: { return vm_min(a, b); }
        case BINARY_RELU_GRAD: { return relu_grad(a, b); }
        default: { return bitcast<f32>(0x7fc0deadu); }
    }
}

// One stage on t, with its side operand s (unused by a unary stage): one call of each function family.
fn stage(k: u32, f: u32, t: f32, s: f32) -> f32 {
    if (k == 1u) {
        return cheap_unary(f, t);
    }
    let left = k == 2u;
    return cheap_binary(f, select(s, t, left), select(t, s, left));
}

// t as a bf16 result would hold it after its store and the next op's load (r = 1), or as it is.
fn rounded(t: f32, r: u32) -> f32 {
    if (r == 0u) {
        return t;
    }
    return bitcast<f32>(f32_to_bf16_bits(t) << 16u);
}

// elementwise_main's pair layout needs value(); this kernel runs only in chunks of 8 (WIDE = 1).
fn value(i: u32) -> f32 {
    return 0.0;
}

// Elements 8c .. 8c+7 of an operand (WIDE = 1): whole vec4 words where it is read at the result's own
// index, element by element otherwise (indices past p.len read the last element).
fn load8_x(c: u32) -> array<f32, 8> {
    if (FX == 0u) {
        if (p.x_bf16 != 0u) {
            return unpack8(x[c], vec4(0u), 1u);
        }
        return unpack8(x[2u * c], x[2u * c + 1u], 0u);
    }
    var r: array<f32, 8>;
    for (var k = 0u; k < 8u; k++) {
        r[k] = load_x(min(8u * c + k, p.len - 1u));
    }
    return r;
}

fn load8_s0(c: u32) -> array<f32, 8> {
    if (FS0 == 0u) {
        if (side_bf16(0u) != 0u) {
            return unpack8(s0[c], vec4(0u), 1u);
        }
        return unpack8(s0[2u * c], s0[2u * c + 1u], 0u);
    }
    var r: array<f32, 8>;
    for (var k = 0u; k < 8u; k++) {
        r[k] = load_s0(min(8u * c + k, p.len - 1u));
    }
    return r;
}

fn load8_s1(c: u32) -> array<f32, 8> {
    if (FS1 == 0u) {
        if (side_bf16(1u) != 0u) {
            return unpack8(s1[c], vec4(0u), 1u);
        }
        return unpack8(s1[2u * c], s1[2u * c + 1u], 0u);
    }
    var r: array<f32, 8>;
    for (var k = 0u; k < 8u; k++) {
        r[k] = load_s1(min(8u * c + k, p.len - 1u));
    }
    return r;
}

fn load8_s2(c: u32) -> array<f32, 8> {
    if (FS2 == 0u) {
        if (side_bf16(2u) != 0u) {
            return unpack8(s2[c], vec4(0u), 1u);
        }
        return unpack8(s2[2u * c], s2[2u * c + 1u], 0u);
    }
    var r: array<f32, 8>;
    for (var k = 0u; k < 8u; k++) {
        r[k] = load_s2(min(8u * c + k, p.len - 1u));
    }
    return r;
}

fn load8_s3(c: u32) -> array<f32, 8> {
    if (FS3 == 0u) {
        if (side_bf16(3u) != 0u) {
            return unpack8(s3[c], vec4(0u), 1u);
        }
        return unpack8(s3[2u * c], s3[2u * c + 1u], 0u);
    }
    var r: array<f32, 8>;
    for (var k = 0u; k < 8u; k++) {
        r[k] = load_s3(min(8u * c + k, p.len - 1u));
    }
    return r;
}

// One stage over 8 elements, then its rounding r (0 for the last stage, whose rounding is the store's:
// the launcher sets R<k> only between stages).
fn stage8(k: u32, f: u32, t: array<f32, 8>, s: array<f32, 8>, r: u32) -> array<f32, 8> {
    var o: array<f32, 8>;
    for (var e = 0u; e < 8u; e++) {
        o[e] = rounded(stage(k, f, t[e], s[e]), r);
    }
    return o;
}

// Elements 8c .. 8c+7: each stage over the eight, in turn.
fn chunk8(c: u32) -> array<f32, 8> {
    var s: array<f32, 8>;
    if (K0 >= 2u) {
        s = load8_s0(c);
    }
    var t = stage8(K0, F0, load8_x(c), s, R0);
    if (K1 == 0u) {
        return t;
    }
    if (K1 >= 2u) {
        s = load8_s1(c);
    }
    t = stage8(K1, F1, t, s, R1);
    if (K2 == 0u) {
        return t;
    }
    if (K2 >= 2u) {
        s = load8_s2(c);
    }
    t = stage8(K2, F2, t, s, R2);
    if (K3 == 0u) {
        return t;
    }
    if (K3 >= 2u) {
        s = load8_s3(c);
    }
    return stage8(K3, F3, t, s, 0u);
}
