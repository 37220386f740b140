// cube_matmul: the Cube unit's C[M,N] = A[M,K] @ B[K,N], f32 accumulation (L0C), int32 for int8.
// CPU twin: src/reference/cube_matmul.rs. Launcher: src/kernels/cube_matmul.rs.
//
// IN_FORMAT (a CUBE_* code of shared/codes.wgsl) says what the operands are; each is widened to f32 as it
// is loaded into the tile, exactly:
//   CUBE_BF16, CUBE_FP16 (two per word), CUBE_E4M3, CUBE_E5M2 (four per word): every product of two such
//     values is exact in f32 (at most 22 significand bits, exponents well inside f32's range);
//   CUBE_FP32: f32 operands, each product rounded (the fp32 mode); CUBE_HF32: f32 operands rounded to
//     HF32 (11 fraction bits, nearest even) as L0A/L0B hand them to the Mmad, products exact;
//   CUBE_INT8 (four per word): products and each fractal's tree exact in f32 (|sum| <= 16 * 2^14), added
//     into an int32 accumulator: exact for any order, so SEQUENTIAL changes nothing. On the way out
//     (FixPipe) the accumulator is stored as int32 bits, or as f32 (nearest even) times a per-column
//     scale and then a per-row scale when the flags ask for them: the dequantisation of W8A8.
//
// One workgroup computes a (16*ROWS) x 64 tile of C for one batch entry; each invocation holds ROWS x 4
// accumulators. K is walked one 16-wide fractal at a time through workgroup memory; elements past M, N or
// K are loaded as zero (the padding lives only in the tiles, never in the result).
//
// Accumulation models (DESIGN.md, numerics contract):
//   Tree16 (SEQUENTIAL = false): per fractal, the 16 products are summed by a fixed pairwise tree, then
//     added to the accumulator. Lanes past K are zero products, as the Cube pads a fractal.
//   Sequential (SEQUENTIAL = true): one product added to the accumulator at a time, k ascending over the
//     real K.
//   Narrow (an experiment; Params.narrow_every > 0): Tree16, with the accumulator rounded to bf16 or fp16
//     (nearest even) after every narrow_every fractals and after the last.
// Each product is an f32 product of its own (exact for bf16 operands unless it underflows f32) and each
// addition rounds once.
//
// What compilers may do to that, and how the bits are kept anyway:
// - Reassociate float additions. Mesa's lavapipe does: a plain tree here gave other bits than the CPU twin
//   on about 0.2% of elements.
// - Contract a*b+c into a fused operation (NVIDIA does by default), or split WGSL's fma into a multiply and
//   an add (lavapipe does; Vulkan allows it). Either changes a result whose product underflows.
// WGSL has no `precise`, so every product and every partial sum passes through keep(): an OR with a uniform
// that is zero at run time but unknown when the shader is compiled. No compiler can see through it, so
// each multiplication and addition happens exactly as written, and no fma is relied on.
// @variants SEQUENTIAL=0,1 ROWS=1,4 IN_FORMAT=0,1,2,3,4,5,6

#import bf16
#import codes
#import formats

struct Params {
    m: u32,
    n: u32,
    k: u32,
    batch: u32,
    // Element (b, m, k) of A is a[b * a_batch + m * a_m + k * a_k]; (b, k, n) of B likewise.
    a_batch: u32,
    a_m: u32,
    a_k: u32,
    zero: u32,      // always 0; see keep()
    b_batch: u32,
    b_k: u32,
    b_n: u32,
    // FixPipe's int32 output: bit 0 raw int32 bits; bit 1 times channel_scale[n]; bit 2 times
    // token_scale[batch * M + m] (bits 1 and 2 convert the accumulator to f32 first).
    flags: u32,
    // Offsets of this dispatch, when a launch needs more workgroups along y or z than one dispatch allows.
    tile_m_base: u32,
    batch_base: u32,
    // The narrow accumulator experiment (Accumulation::Narrow): when narrow_every > 0, the accumulator is
    // rounded to the FMT_* format narrow_fmt after every narrow_every fractals and after the last.
    narrow_fmt: u32,
    narrow_every: u32,
    // cube_matmul_sg's epilogue fields (this kernel's epilogue is a vector_epilogue dispatch after it).
    _epi: u32,
    _pad5: u32,
    _scale: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;        // packed as IN_FORMAT says
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> channel_scale: array<f32>;  // [N] (a dummy unless flags bit 1)
@group(0) @binding(4) var<storage, read> token_scale: array<f32>;    // [batch * M] (a dummy unless bit 2)
@group(0) @binding(5) var<storage, read_write> c: array<u32>;  // f32 (or int32) bits, [batch, M, N]

override SEQUENTIAL: bool = false;
override IN_FORMAT: u32 = 0u;
// Rows of C per invocation (1..4): 4 for large M, 1 when M is small so fewer rows are wasted.
override ROWS: u32 = 4u;

const COLS: u32 = 4u;
const TK: u32 = 16u;
const TN: u32 = 64u;

var<workgroup> a_tile: array<f32, 1024>;  // [16*ROWS][TK], row-major
var<workgroup> b_tile: array<f32, 1024>;  // [TK][TN], row-major

// Element i of an operand, given the word that holds it, widened to f32 (see the header).
fn widen(word: u32, i: u32) -> f32 {
    let half = (word >> ((i & 1u) * 16u)) & 0xffffu;
    let byte = (word >> ((i & 3u) * 8u)) & 0xffu;
    switch IN_FORMAT {
        case CUBE_BF16: { return bitcast<f32>(half << 16u); }
        case CUBE_FP32: { return bitcast<f32>(word); }
        case CUBE_HF32: { return bitcast<f32>(hf32_round_bits(word)); }
        case CUBE_FP16: { return bitcast<f32>(mf_decode(mf_of(FMT_F16), half)); }
        case CUBE_E4M3: { return bitcast<f32>(mf_decode(mf_of(FMT_E4M3), byte)); }
        case CUBE_E5M2: { return bitcast<f32>(mf_decode(mf_of(FMT_E5M2), byte)); }
        case CUBE_INT8: { return f32(bitcast<i32>(byte << 24u) >> 24u); }
        default: { return bitcast<f32>(0x7fc0deadu); }
    }
}

// Bytes per element of IN_FORMAT, as the word index of element i: i, i / 2 or i / 4.
fn word_of(i: u32) -> u32 {
    switch IN_FORMAT {
        case CUBE_FP32, CUBE_HF32: { return i; }
        case CUBE_BF16, CUBE_FP16: { return i >> 1u; }
        default: { return i >> 2u; }
    }
}

fn load_a(bi: u32, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= p.k) {
        return 0.0;
    }
    let i = bi * p.a_batch + m * p.a_m + k * p.a_k;
    return widen(a[word_of(i)], i);
}

fn load_b(bi: u32, k: u32, n: u32) -> f32 {
    if (k >= p.k || n >= p.n) {
        return 0.0;
    }
    let i = bi * p.b_batch + k * p.b_k + n * p.b_n;
    return widen(b[word_of(i)], i);
}

// The stored bits of an int32 accumulator of row m, column n (FixPipe; see the header).
fn int_out_bits(v: i32, row: u32, n: u32) -> u32 {
    if ((p.flags & 1u) != 0u) {
        return bitcast<u32>(v);
    }
    var x = bitcast<f32>(i32_to_f32_bits(v));
    if ((p.flags & 2u) != 0u) {
        x = keep(x * channel_scale[n]);
    }
    if ((p.flags & 4u) != 0u) {
        x = keep(x * token_scale[row]);
    }
    return cube_out_bits(x);
}

// x, with the compiler unable to know it: the additions before and after it cannot be merged or reordered.
fn keep(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) | p.zero);
}

// Product kk of row `ar` (its offset in a_tile) and column `col`, rounded to f32 on its own.
fn product(ar: u32, col: u32, kk: u32) -> f32 {
    return keep(a_tile[ar + kk] * b_tile[kk * TN + col]);
}

// Products kk and kk+1: level 1 of the tree.
fn pair(ar: u32, col: u32, kk: u32) -> f32 {
    return keep(product(ar, col, kk) + product(ar, col, kk + 1u));
}

// The fixed pairwise tree over one fractal (numerics::accumulate::tree16).
fn tree16(r: u32, col: u32) -> f32 {
    let ar = r * TK;
    let t0 = keep(pair(ar, col, 0u) + pair(ar, col, 2u));
    let t1 = keep(pair(ar, col, 4u) + pair(ar, col, 6u));
    let t2 = keep(pair(ar, col, 8u) + pair(ar, col, 10u));
    let t3 = keep(pair(ar, col, 12u) + pair(ar, col, 14u));
    return keep(keep(t0 + t1) + keep(t2 + t3));
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let tm = 16u * ROWS;
    let m0 = (p.tile_m_base + wg.y) * tm;
    let n0 = wg.x * TN;
    let bi = p.batch_base + wg.z;
    var acc: array<f32, 16>;  // [ROWS][COLS], starts at +0 as L0C is cleared
    var iacc: array<i32, 16>; // the same, for int8

    let fractals = (p.k + TK - 1u) / TK;
    for (var f = 0u; f < fractals; f++) {
        let k0 = f * TK;
        for (var e = li; e < tm * TK; e += 256u) {
            a_tile[e] = load_a(bi, m0 + e / TK, k0 + e % TK);
        }
        for (var e = li; e < TK * TN; e += 256u) {
            b_tile[e] = load_b(bi, k0 + e / TN, n0 + e % TN);
        }
        workgroupBarrier();

        let k_here = min(TK, p.k - k0);
        for (var i = 0u; i < ROWS; i++) {
            let r = lid.y + 16u * i;
            for (var j = 0u; j < COLS; j++) {
                let col = lid.x + 16u * j;
                let idx = i * COLS + j;
                if (IN_FORMAT == CUBE_INT8) {
                    iacc[idx] += i32(tree16(r, col));
                } else if (SEQUENTIAL) {
                    var s = acc[idx];
                    for (var kk = 0u; kk < k_here; kk++) {
                        s = keep(s + product(r * TK, col, kk));
                    }
                    acc[idx] = s;
                } else {
                    acc[idx] = keep(acc[idx] + tree16(r, col));
                }
                if (p.narrow_every > 0u && ((f + 1u) % p.narrow_every == 0u || f + 1u == fractals)) {
                    let nf = mf_of(p.narrow_fmt);
                    acc[idx] = bitcast<f32>(mf_decode(nf, mf_encode(nf, bitcast<u32>(acc[idx]))));
                }
            }
        }
        workgroupBarrier();
    }

    let out_base = bi * p.m * p.n;
    for (var i = 0u; i < ROWS; i++) {
        let m = m0 + lid.y + 16u * i;
        for (var j = 0u; j < COLS; j++) {
            let n = n0 + lid.x + 16u * j;
            if (m < p.m && n < p.n) {
                var bits = cube_out_bits(acc[i * COLS + j]);
                if (IN_FORMAT == CUBE_INT8) {
                    bits = int_out_bits(iacc[i * COLS + j], bi * p.m + m, n);
                }
                c[out_base + m * p.n + n] = bits;
            }
        }
    }
}
