// cube_matmul_sg: the register-tiled fast path of cube_matmul: bf16 operands, or f32 ones in the fp32 and
// HF32 modes (IN_FORMAT, a CUBE_* code); Tree16 or Sequential accumulation (SEQ); A row-major, B row-major
// or transposed (B_T); K a multiple of 8 and rows and columns starting on whole vec4 words. Same contract,
// same CPU twin (src/reference/cube_matmul.rs) and same launcher (src/kernels/cube_matmul.rs, which proves
// the preconditions, and repacks on the device the operands that do not meet them: a transposed A, K not
// a multiple of 8, odd strides) as cube_matmul.wgsl.
//
// Shape of the work: every invocation owns 4 rows of C (m0 + li + WG*r) and the workgroup's 32 columns
// (n0 .. n0+32): 128 accumulators in registers. K is walked fractal by fractal, each one's 16 products summed
// by the contract's pairwise tree and added to the accumulator (or, Sequential, added to it one by one); no
// workgroup memory and no barrier. The way out (epilogue, rounding to bf16) is shared/cube_sg_out.wgsl.
//
// Why subgroups: every invocation of a workgroup needs the same 16 x 32 block of B per fractal. Each of the
// first 8 invocations of a subgroup loads 8 of the block's 64 vec4 words (8 packed bf16 each; 16 of 128
// words of 4 f32 for F32) and
// subgroupBroadcast hands every word to all the others. On lavapipe that turns 64 per-invocation loads
// (each a loop over the SIMD lanes there) into 8 loads and 128 cheap lane extracts. A needs no sharing: an
// invocation's rows are its own, read as vec4 words (8 k at a time). The launcher uses this kernel only where
// subgroups hold at least 8 invocations.
//
// Bits are kept as in cube_matmul.wgsl: every product and every partial sum passes through keep4(), so no
// compiler can contract a multiply into an add or reorder the additions.
//
// Padding: K is walked in whole fractals of 16. The operands' k extent is K rounded up to a multiple of 8
// (kp), so the last fractal may be half: its second half is taken as zeros, never loaded. Elements between
// K and kp exist only in a repacked operand, where both A and B hold +0 there. A zero product there
// is what the Cube's padded fractal adds in Tree16 (the general kernel does the same); in Sequential it
// changes nothing (see seq()).
// @variants WG=32,64 B_T=0,1 IN_FORMAT=0,1,6 SEQ=0,1 ACT=0,1,2,3,4
// @subgroups
// @bounds-proven

#import bf16
#import codes
#import cube_sg_b
#import cube_sg_out
#import vector_erf

struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    a_batch: u32,
    a_m: u32,
    a_k: u32,
    zero: u32,      // always 0; see keep4()
    b_batch: u32,
    b_k: u32,
    b_n: u32,
    _pad1: u32,
    tile_m_base: u32,
    batch_base: u32,
    _pad2: u32,
    _pad3: u32,
    // The way out (shared/cube_sg_out.wgsl): EPI_* flags and the scale.
    epi: u32,
    _pad5: u32,
    scale: f32,
    _pad4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<u32>>;  // packed bf16, 8 per word (F32: 4 f32)
@group(0) @binding(2) var<storage, read> b: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> bias: array<u32>;      // [N], f32 or bf16 (a dummy when absent)
@group(0) @binding(4) var<storage, read> residual: array<u32>;  // C's shape (a dummy when absent)
@group(0) @binding(5) var<storage, read_write> c: array<u32>;  // [batch, M, N], f32 bits or packed bf16

// Invocations per workgroup: 32 on a software rasterizer, 64 on GPUs (the launcher's choice).
override WG: u32 = 64u;
// B is stored transposed, [N][K] (as a linear layer's weight): each column's k are contiguous. The block
// of a fractal is then 32 columns x 2 words, one column per lane, and the words' values are regrouped
// into rows of 4 columns after the broadcast.
override B_T: bool = false;
// The operands' format: CUBE_BF16, CUBE_FP32 (f32 operands, each product rounded) or CUBE_HF32 (f32
// operands rounded to HF32 as they are loaded, products exact).
override IN_FORMAT: u32 = 0u;
override F32: bool = IN_FORMAT != CUBE_BF16;
override HF32: bool = IN_FORMAT == CUBE_HF32;
// Sequential accumulation: each product added to the accumulator on its own, k ascending.
override SEQ: bool = false;
// The epilogue's activation, an ACT_* code of shared/codes.wgsl (see shared/cube_sg_out.wgsl).
override ACT: u32 = 0u;

// Elements per vec4 word: 8 bf16 or 4 f32.
fn per_word() -> u32 {
    return select(8u, 4u, F32);
}

// x, opaque to the compiler (see cube_matmul.wgsl's keep()).
fn keep4(x: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(x) | vec4<u32>(p.zero));
}

// Level 1 of the tree: a0 * b0 + a1 * b1, each product rounded on its own.
fn pair(a0: f32, b0: vec4<f32>, a1: f32, b1: vec4<f32>) -> vec4<f32> {
    return keep4(keep4(a0 * b0) + keep4(a1 * b1));
}

// The pairwise tree (numerics::accumulate::tree16) of one row against 4 columns.
fn tree(a: Arow, r: Rows) -> vec4<f32> {
    let s0 = pair(a.a0.x, r.k0, a.a0.y, r.k1);
    let s1 = pair(a.a0.z, r.k2, a.a0.w, r.k3);
    let s2 = pair(a.a1.x, r.k4, a.a1.y, r.k5);
    let s3 = pair(a.a1.z, r.k6, a.a1.w, r.k7);
    let s4 = pair(a.a2.x, r.k8, a.a2.y, r.k9);
    let s5 = pair(a.a2.z, r.k10, a.a2.w, r.k11);
    let s6 = pair(a.a3.x, r.k12, a.a3.y, r.k13);
    let s7 = pair(a.a3.z, r.k14, a.a3.w, r.k15);
    let u0 = keep4(keep4(s0 + s1) + keep4(s2 + s3));
    let u1 = keep4(keep4(s4 + s5) + keep4(s6 + s7));
    return keep4(u0 + u1);
}

// Sequential: the fractal's 16 products added to the accumulator one at a time, k ascending. A padded k
// (between K and kp) adds +0 * +0 = +0, which leaves the accumulator as it is: it starts at +0, and a
// round-to-nearest sum is -0 only when both addends are, so it is never -0, and x + +0 is x for every
// other x (a NaN stays a NaN, canonicalised on the way out). So the sum is that of the real K's products.
fn seq(acc: vec4<f32>, a: Arow, r: Rows) -> vec4<f32> {
    var s = keep4(acc + keep4(a.a0.x * r.k0));
    s = keep4(s + keep4(a.a0.y * r.k1));
    s = keep4(s + keep4(a.a0.z * r.k2));
    s = keep4(s + keep4(a.a0.w * r.k3));
    s = keep4(s + keep4(a.a1.x * r.k4));
    s = keep4(s + keep4(a.a1.y * r.k5));
    s = keep4(s + keep4(a.a1.z * r.k6));
    s = keep4(s + keep4(a.a1.w * r.k7));
    s = keep4(s + keep4(a.a2.x * r.k8));
    s = keep4(s + keep4(a.a2.y * r.k9));
    s = keep4(s + keep4(a.a2.z * r.k10));
    s = keep4(s + keep4(a.a2.w * r.k11));
    s = keep4(s + keep4(a.a3.x * r.k12));
    s = keep4(s + keep4(a.a3.y * r.k13));
    s = keep4(s + keep4(a.a3.z * r.k14));
    return keep4(s + keep4(a.a3.w * r.k15));
}

// One fractal into one accumulator quad, in the contract's order: the tree and one add, or Sequential.
fn acc1(acc: vec4<f32>, a: Arow, r: Rows) -> vec4<f32> {
    if (SEQ) {
        return seq(acc, a, r);
    }
    return keep4(acc + tree(a, r));
}

// Accumulators of one row's 32 columns, 8 vectors of 4. Row-major bf16 B: 4 groups of 8 columns, each split
// into its even and odd columns (e0 o0 e1 o1 ...). Transposed B or F32: 8 quads of consecutive columns.
struct Acc {
    e0: vec4<f32>, o0: vec4<f32>, e1: vec4<f32>, o1: vec4<f32>,
    e2: vec4<f32>, o2: vec4<f32>, e3: vec4<f32>, o3: vec4<f32>,
}

// Adds one fractal to a row's accumulators.
fn step(acc: Acc, a: Arow, b: Block) -> Acc {
    return Acc(acc1(acc.e0, a, b.r0), acc1(acc.o0, a, b.r1), acc1(acc.e1, a, b.r2), acc1(acc.o1, a, b.r3),
               acc1(acc.e2, a, b.r4), acc1(acc.o2, a, b.r5), acc1(acc.e3, a, b.r6), acc1(acc.o3, a, b.r7));
}

// Word index of A's row `m` (clamped into the matrix: rows past M compute values nobody stores).
fn a_row(bi: u32, m: u32) -> u32 {
    return (bi * p.a_batch + min(m, p.m - 1u) * p.a_m) / per_word();
}

// One row of fractal f: its first 8 k always, the second 8 unless the fractal is the last, half one.
fn a_values(row: u32, f: u32, full: bool) -> Arow {
    let z = vec4<u32>(0u);
    if (F32) {
        let i = row + 4u * f;
        var w = array<vec4<u32>, 4>(mmad_bits(a[i]), mmad_bits(a[i + 1u]), z, z);
        if (full) {
            w[2] = mmad_bits(a[i + 2u]);
            w[3] = mmad_bits(a[i + 3u]);
        }
        return arow(w);
    }
    var w = array<vec4<u32>, 4>(a[row + 2u * f], z, z, z);
    if (full) {
        w[1] = a[row + 2u * f + 1u];
    }
    return arow(w);
}

// Word index of this lane's share of B for fractal 0: row-major B, rows k0 + lane (+8 for `hi`) of the
// column group q; transposed B, column n0 + lane + 8q (k 0..7). Rows and columns are clamped into B.
fn b_word(bi: u32, n0: u32, lane: u32, q: u32) -> u32 {
    if (B_T) {
        return (bi * p.b_batch + min(n0 + lane + 8u * q, p.n - 1u) * p.b_n) / per_word();
    }
    return (bi * p.b_batch + min(n0 + 8u * q, p.n - 8u)) / per_word() + lane * (p.b_k / per_word());
}

// This lane's words of one column group of a fractal, from word `i` (its first 8 elements) and `i + h`
// (the second 8, zero in a half fractal); F32's second word of each follows it.
fn b_group(i: u32, h: u32, full: bool) -> Group {
    let z = vec4<u32>(0u);
    var g = Group(mmad_bits(b[i]), z, z, z);
    if (F32) {
        g.lo2 = mmad_bits(b[i + 1u]);
    }
    if (full) {
        g.hi = mmad_bits(b[i + h]);
        if (F32) {
            g.hi2 = mmad_bits(b[i + h + 1u]);
        }
    }
    return g;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane_id: u32) {
    let bi = p.batch_base + wg.z;
    let m0 = (p.tile_m_base + wg.y) * (4u * WG) + li;
    let n0 = wg.x * 32u;
    let ar0 = a_row(bi, m0);
    let ar1 = a_row(bi, m0 + WG);
    let ar2 = a_row(bi, m0 + 2u * WG);
    let ar3 = a_row(bi, m0 + 3u * WG);
    let lane = min(lane_id, 7u);
    let bw = array<u32, 4>(b_word(bi, n0, lane, 0u), b_word(bi, n0, lane, 1u), b_word(bi, n0, lane, 2u),
                           b_word(bi, n0, lane, 3u));
    // Words from one fractal to the next, and from its first half to its second: row-major B, 16 and 8
    // rows; transposed B, the words of 16 and 8 k.
    let row_words = p.b_k / per_word();
    let f_step = select(16u * row_words, 16u / per_word(), B_T);
    let h_step = select(8u * row_words, 8u / per_word(), B_T);
    var acc0: Acc;
    var acc1: Acc;
    var acc2: Acc;
    var acc3: Acc;
    let kp = (p.k + 7u) & ~7u;
    let fractals = (kp + 15u) / 16u;
    for (var f = 0u; f < fractals; f++) {
        // Only the last fractal may be half (kp is a multiple of 8), its second half zero.
        let full = kp - 16u * f >= 16u;
        let r0 = f * f_step;
        let blk = block(b_group(bw[0] + r0, h_step, full), b_group(bw[1] + r0, h_step, full),
                        b_group(bw[2] + r0, h_step, full), b_group(bw[3] + r0, h_step, full));
        acc0 = step(acc0, a_values(ar0, f, full), blk);
        acc1 = step(acc1, a_values(ar1, f, full), blk);
        acc2 = step(acc2, a_values(ar2, f, full), blk);
        acc3 = step(acc3, a_values(ar3, f, full), blk);
    }
    store_rows(array<Acc, 4>(acc0, acc1, acc2, acc3), m0, n0, bi);
}
