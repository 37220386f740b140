// cube_matmul: the Cube unit's C[M,N] = A[M,K] @ B[K,N], bf16 inputs, f32 accumulation (L0C).
// CPU twin: src/reference/cube_matmul.rs. Launcher: src/kernels/cube_matmul.rs.
//
// With F32_INPUTS the operands are f32 (the Cube's fp32 mode): the same tiles and additions, but each product
// is then rounded, not exact.
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
// @variants SEQUENTIAL=0,1 ROWS=1,4 F32_INPUTS=0,1

#import bf16

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
    _pad1: u32,
    // Offsets of this dispatch, when a launch needs more workgroups along y or z than one dispatch allows.
    tile_m_base: u32,
    batch_base: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<u32>;        // packed bf16 (f32 bits with F32_INPUTS)
@group(0) @binding(2) var<storage, read> b: array<u32>;        // packed bf16 (f32 bits with F32_INPUTS)
@group(0) @binding(3) var<storage, read_write> c: array<u32>;  // f32 bits, [batch, M, N]

override SEQUENTIAL: bool = false;
override F32_INPUTS: bool = false;
// Rows of C per invocation (1..4): 4 for large M, 1 when M is small so fewer rows are wasted.
override ROWS: u32 = 4u;

const COLS: u32 = 4u;
const TK: u32 = 16u;
const TN: u32 = 64u;

var<workgroup> a_tile: array<f32, 1024>;  // [16*ROWS][TK], row-major
var<workgroup> b_tile: array<f32, 1024>;  // [TK][TN], row-major

fn load_a(bi: u32, m: u32, k: u32) -> f32 {
    if (m >= p.m || k >= p.k) {
        return 0.0;
    }
    let i = bi * p.a_batch + m * p.a_m + k * p.a_k;
    if (F32_INPUTS) {
        return bitcast<f32>(a[i]);
    }
    return bf16_unpack(a[i >> 1u], i);
}

fn load_b(bi: u32, k: u32, n: u32) -> f32 {
    if (k >= p.k || n >= p.n) {
        return 0.0;
    }
    let i = bi * p.b_batch + k * p.b_k + n * p.b_n;
    if (F32_INPUTS) {
        return bitcast<f32>(b[i]);
    }
    return bf16_unpack(b[i >> 1u], i);
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
                if (SEQUENTIAL) {
                    var s = acc[idx];
                    for (var kk = 0u; kk < k_here; kk++) {
                        s = keep(s + product(r * TK, col, kk));
                    }
                    acc[idx] = s;
                } else {
                    acc[idx] = keep(acc[idx] + tree16(r, col));
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
                c[out_base + m * p.n + n] = cube_out_bits(acc[i * COLS + j]);
            }
        }
    }
}
