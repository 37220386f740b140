// cube_matmul_sg: the register-tiled fast path of cube_matmul (tree16, bf16 operands, row-major A, B row-major
// or transposed (B_T), rows and columns starting on whole vec4 words). Same contract, same CPU twin
// (src/reference/cube_matmul.rs) and same launcher (src/kernels/cube_matmul.rs, which proves the
// preconditions) as cube_matmul.wgsl.
//
// Shape of the work: every invocation owns 4 rows of C (m0 + li + WG*r) and the workgroup's 32 columns
// (n0 .. n0+32): 128 accumulators in registers. K is walked fractal by fractal, each one's 16 products summed
// by the contract's pairwise tree and added to the accumulator; no workgroup memory and no barrier.
//
// Why subgroups: every invocation of a workgroup needs the same 16 x 32 block of B per fractal. Each of the
// first 8 invocations of a subgroup loads 8 of the block's 64 vec4 words (8 packed bf16 each) and
// subgroupBroadcast hands every word to all the others. On lavapipe that turns 64 per-invocation loads
// (each a loop over the SIMD lanes there) into 8 loads and 128 cheap lane extracts. A needs no sharing: an
// invocation's rows are its own, read as vec4 words (8 k at a time). The launcher uses this kernel only where
// subgroups hold at least 8 invocations.
//
// Bits are kept as in cube_matmul.wgsl: every product and every partial sum passes through keep4(), so no
// compiler can contract a multiply into an add or reorder the additions.
// @variants WG=32,64 B_T=0,1
// @subgroups
// @bounds-proven

#import bf16

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<u32>>;  // packed bf16, 8 per word
@group(0) @binding(2) var<storage, read> b: array<vec4<u32>>;  // packed bf16, 8 per word
@group(0) @binding(3) var<storage, read_write> c: array<u32>;  // f32 bits, [batch, M, N]

// Invocations per workgroup: 32 on a software rasterizer, 64 on GPUs (the launcher's choice).
override WG: u32 = 64u;
// B is stored transposed, [N][K] (as a linear layer's weight): each column's k are contiguous. The block
// of a fractal is then 32 columns x 2 words, one column per lane, and the words' values are regrouped
// into rows of 4 columns after the broadcast.
override B_T: bool = false;

// x, opaque to the compiler (see cube_matmul.wgsl's keep()).
fn keep4(x: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(x) | vec4<u32>(p.zero));
}

// A word's 8 bf16 as f32: elements 0, 2, 4, 6 (the low halves) and 1, 3, 5, 7.
fn even(w: vec4<u32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(w << vec4<u32>(16u));
}
fn odd(w: vec4<u32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(w & vec4<u32>(0xffff0000u));
}

// One fractal of B for 8 columns: row k is word k.
struct Fractal {
    k0: vec4<u32>, k1: vec4<u32>, k2: vec4<u32>, k3: vec4<u32>,
    k4: vec4<u32>, k5: vec4<u32>, k6: vec4<u32>, k7: vec4<u32>,
    k8: vec4<u32>, k9: vec4<u32>, k10: vec4<u32>, k11: vec4<u32>,
    k12: vec4<u32>, k13: vec4<u32>, k14: vec4<u32>, k15: vec4<u32>,
}

// The fractal's rows 0..7 from lanes 0..7 of `lo`, rows 8..15 from lanes 0..7 of `hi`.
fn share(lo: vec4<u32>, hi: vec4<u32>) -> Fractal {
    return Fractal(
        subgroupBroadcast(lo, 0u), subgroupBroadcast(lo, 1u), subgroupBroadcast(lo, 2u), subgroupBroadcast(lo, 3u),
        subgroupBroadcast(lo, 4u), subgroupBroadcast(lo, 5u), subgroupBroadcast(lo, 6u), subgroupBroadcast(lo, 7u),
        subgroupBroadcast(hi, 0u), subgroupBroadcast(hi, 1u), subgroupBroadcast(hi, 2u), subgroupBroadcast(hi, 3u),
        subgroupBroadcast(hi, 4u), subgroupBroadcast(hi, 5u), subgroupBroadcast(hi, 6u), subgroupBroadcast(hi, 7u));
}

// B row k (words) as 4 columns: the even or the odd ones of the word.
fn col(w: vec4<u32>, odd_cols: bool) -> vec4<f32> {
    return select(even(w), odd(w), odd_cols);
}

// One fractal of B for 4 columns, as f32: row k is k0 .. k15.
struct Rows {
    k0: vec4<f32>, k1: vec4<f32>, k2: vec4<f32>, k3: vec4<f32>,
    k4: vec4<f32>, k5: vec4<f32>, k6: vec4<f32>, k7: vec4<f32>,
    k8: vec4<f32>, k9: vec4<f32>, k10: vec4<f32>, k11: vec4<f32>,
    k12: vec4<f32>, k13: vec4<f32>, k14: vec4<f32>, k15: vec4<f32>,
}

// Row-major B: the even (or odd) 4 of a fractal's 8 columns.
fn rows_nn(f: Fractal, o: bool) -> Rows {
    return Rows(col(f.k0, o), col(f.k1, o), col(f.k2, o), col(f.k3, o),
                col(f.k4, o), col(f.k5, o), col(f.k6, o), col(f.k7, o),
                col(f.k8, o), col(f.k9, o), col(f.k10, o), col(f.k11, o),
                col(f.k12, o), col(f.k13, o), col(f.k14, o), col(f.k15, o));
}

// Transposed B (stored [N][K]): 4 columns given as their k 0..7 (`l`) and 8..15 (`h`) words.
fn rows_nt(l0: vec4<u32>, h0: vec4<u32>, l1: vec4<u32>, h1: vec4<u32>,
           l2: vec4<u32>, h2: vec4<u32>, l3: vec4<u32>, h3: vec4<u32>) -> Rows {
    let e0 = even(l0); let d0 = odd(l0); let f0 = even(h0); let g0 = odd(h0);
    let e1 = even(l1); let d1 = odd(l1); let f1 = even(h1); let g1 = odd(h1);
    let e2 = even(l2); let d2 = odd(l2); let f2 = even(h2); let g2 = odd(h2);
    let e3 = even(l3); let d3 = odd(l3); let f3 = even(h3); let g3 = odd(h3);
    return Rows(
        vec4(e0.x, e1.x, e2.x, e3.x), vec4(d0.x, d1.x, d2.x, d3.x),
        vec4(e0.y, e1.y, e2.y, e3.y), vec4(d0.y, d1.y, d2.y, d3.y),
        vec4(e0.z, e1.z, e2.z, e3.z), vec4(d0.z, d1.z, d2.z, d3.z),
        vec4(e0.w, e1.w, e2.w, e3.w), vec4(d0.w, d1.w, d2.w, d3.w),
        vec4(f0.x, f1.x, f2.x, f3.x), vec4(g0.x, g1.x, g2.x, g3.x),
        vec4(f0.y, f1.y, f2.y, f3.y), vec4(g0.y, g1.y, g2.y, g3.y),
        vec4(f0.z, f1.z, f2.z, f3.z), vec4(g0.z, g1.z, g2.z, g3.z),
        vec4(f0.w, f1.w, f2.w, f3.w), vec4(g0.w, g1.w, g2.w, g3.w));
}

// Columns 0..3 (lanes 0..3) and 4..7 (lanes 4..7) of the 8 that `l` (k 0..7) and `h` (k 8..15) hold, one
// column per lane.
fn quad_lo(l: vec4<u32>, h: vec4<u32>) -> Rows {
    return rows_nt(subgroupBroadcast(l, 0u), subgroupBroadcast(h, 0u), subgroupBroadcast(l, 1u),
                   subgroupBroadcast(h, 1u), subgroupBroadcast(l, 2u), subgroupBroadcast(h, 2u),
                   subgroupBroadcast(l, 3u), subgroupBroadcast(h, 3u));
}
fn quad_hi(l: vec4<u32>, h: vec4<u32>) -> Rows {
    return rows_nt(subgroupBroadcast(l, 4u), subgroupBroadcast(h, 4u), subgroupBroadcast(l, 5u),
                   subgroupBroadcast(h, 5u), subgroupBroadcast(l, 6u), subgroupBroadcast(h, 6u),
                   subgroupBroadcast(l, 7u), subgroupBroadcast(h, 7u));
}

// Level 1 of the tree: a0 * b0 + a1 * b1, each product rounded on its own.
fn pair(a0: f32, b0: vec4<f32>, a1: f32, b1: vec4<f32>) -> vec4<f32> {
    return keep4(keep4(a0 * b0) + keep4(a1 * b1));
}

// The pairwise tree (numerics::accumulate::tree16) of one row against 4 columns. `w0`, `w1`: the row's
// k 0..7 and 8..15 as words.
fn tree(w0: vec4<u32>, w1: vec4<u32>, r: Rows) -> vec4<f32> {
    let e0 = even(w0);
    let d0 = odd(w0);
    let e1 = even(w1);
    let d1 = odd(w1);
    let s0 = pair(e0.x, r.k0, d0.x, r.k1);
    let s1 = pair(e0.y, r.k2, d0.y, r.k3);
    let s2 = pair(e0.z, r.k4, d0.z, r.k5);
    let s3 = pair(e0.w, r.k6, d0.w, r.k7);
    let s4 = pair(e1.x, r.k8, d1.x, r.k9);
    let s5 = pair(e1.y, r.k10, d1.y, r.k11);
    let s6 = pair(e1.z, r.k12, d1.z, r.k13);
    let s7 = pair(e1.w, r.k14, d1.w, r.k15);
    let u0 = keep4(keep4(s0 + s1) + keep4(s2 + s3));
    let u1 = keep4(keep4(s4 + s5) + keep4(s6 + s7));
    return keep4(u0 + u1);
}

// Accumulators of one row's 32 columns, 8 vectors of 4. Row-major B: 4 groups of 8 columns, each split
// into its even and odd columns (e0 o0 e1 o1 ...). Transposed B: 8 quads of consecutive columns.
struct Acc {
    e0: vec4<f32>, o0: vec4<f32>, e1: vec4<f32>, o1: vec4<f32>,
    e2: vec4<f32>, o2: vec4<f32>, e3: vec4<f32>, o3: vec4<f32>,
}

// The B operand of one fractal for all 32 columns, in the accumulators' order.
struct Block {
    r0: Rows, r1: Rows, r2: Rows, r3: Rows, r4: Rows, r5: Rows, r6: Rows, r7: Rows,
}

// Adds one fractal to a row's accumulators, in the contract's order (the tree, then one add).
fn step(acc: Acc, w0: vec4<u32>, w1: vec4<u32>, b: Block) -> Acc {
    return Acc(
        keep4(acc.e0 + tree(w0, w1, b.r0)), keep4(acc.o0 + tree(w0, w1, b.r1)),
        keep4(acc.e1 + tree(w0, w1, b.r2)), keep4(acc.o1 + tree(w0, w1, b.r3)),
        keep4(acc.e2 + tree(w0, w1, b.r4)), keep4(acc.o2 + tree(w0, w1, b.r5)),
        keep4(acc.e3 + tree(w0, w1, b.r6)), keep4(acc.o3 + tree(w0, w1, b.r7)));
}

// Word index of A's row `m` (clamped into the matrix: rows past M compute values nobody stores).
fn a_row(bi: u32, m: u32) -> u32 {
    return (bi * p.a_batch + min(m, p.m - 1u) * p.a_m) / 8u;
}

// One row's words of fractal f: k 0..7 and 8..15; past K (the last fractal of K % 16 == 8) zero.
fn a_words(row: u32, f: u32, full: bool) -> array<vec4<u32>, 2> {
    var w = array<vec4<u32>, 2>(a[row + 2u * f], vec4<u32>(0u));
    if (full) {
        w[1] = a[row + 2u * f + 1u];
    }
    return w;
}

fn store(i: u32, e: vec4<f32>, o: vec4<f32>) {
    c[i] = cube_out_bits(e.x);
    c[i + 1u] = cube_out_bits(o.x);
    c[i + 2u] = cube_out_bits(e.y);
    c[i + 3u] = cube_out_bits(o.y);
    c[i + 4u] = cube_out_bits(e.z);
    c[i + 5u] = cube_out_bits(o.z);
    c[i + 6u] = cube_out_bits(e.w);
    c[i + 7u] = cube_out_bits(o.w);
}

fn store_row(acc: Acc, m: u32, n0: u32, bi: u32) {
    if (m >= p.m) {
        return;
    }
    let row = (bi * p.m + m) * p.n + n0;
    if (B_T) {
        // Quads of consecutive columns; N may end anywhere.
        store_quad(row, n0, acc.e0);
        store_quad(row + 4u, n0 + 4u, acc.o0);
        store_quad(row + 8u, n0 + 8u, acc.e1);
        store_quad(row + 12u, n0 + 12u, acc.o1);
        store_quad(row + 16u, n0 + 16u, acc.e2);
        store_quad(row + 20u, n0 + 20u, acc.o2);
        store_quad(row + 24u, n0 + 24u, acc.e3);
        store_quad(row + 28u, n0 + 28u, acc.o3);
        return;
    }
    // N is a multiple of 8 (launcher): a group of 8 columns is in C entirely or not at all.
    if (n0 < p.n) { store(row, acc.e0, acc.o0); }
    if (n0 + 8u < p.n) { store(row + 8u, acc.e1, acc.o1); }
    if (n0 + 16u < p.n) { store(row + 16u, acc.e2, acc.o2); }
    if (n0 + 24u < p.n) { store(row + 24u, acc.e3, acc.o3); }
}

fn store_quad(i: u32, n: u32, v: vec4<f32>) {
    if (n < p.n) { c[i] = cube_out_bits(v.x); }
    if (n + 1u < p.n) { c[i + 1u] = cube_out_bits(v.y); }
    if (n + 2u < p.n) { c[i + 2u] = cube_out_bits(v.z); }
    if (n + 3u < p.n) { c[i + 3u] = cube_out_bits(v.w); }
}

// Word index of this lane's share of B for fractal 0: row-major B, rows k0 + lane (+8 for `hi`) of the
// column group q; transposed B, column n0 + lane + 8q (k 0..7). Rows and columns are clamped into B.
fn b_word(bi: u32, n0: u32, lane: u32, q: u32) -> u32 {
    if (B_T) {
        return (bi * p.b_batch + min(n0 + lane + 8u * q, p.n - 1u) * p.b_n) / 8u;
    }
    return (bi * p.b_batch + min(n0 + 8u * q, p.n - 8u)) / 8u + lane * (p.b_k / 8u);
}

// The B block of fractal f from this lane's words `lo` (fractal rows 0..7, or k 0..7) and `hi` (8..15).
fn block(lo: array<vec4<u32>, 4>, hi: array<vec4<u32>, 4>) -> Block {
    if (B_T) {
        return Block(quad_lo(lo[0], hi[0]), quad_hi(lo[0], hi[0]), quad_lo(lo[1], hi[1]),
                     quad_hi(lo[1], hi[1]), quad_lo(lo[2], hi[2]), quad_hi(lo[2], hi[2]),
                     quad_lo(lo[3], hi[3]), quad_hi(lo[3], hi[3]));
    }
    let f0 = share(lo[0], hi[0]);
    let f1 = share(lo[1], hi[1]);
    let f2 = share(lo[2], hi[2]);
    let f3 = share(lo[3], hi[3]);
    return Block(rows_nn(f0, false), rows_nn(f0, true), rows_nn(f1, false), rows_nn(f1, true),
                 rows_nn(f2, false), rows_nn(f2, true), rows_nn(f3, false), rows_nn(f3, true));
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
    // Words from one fractal to the next, and from its first half to its second.
    let f_step = select(16u * (p.b_k / 8u), 2u, B_T);
    let h_step = select(8u * (p.b_k / 8u), 1u, B_T);
    var acc0: Acc;
    var acc1: Acc;
    var acc2: Acc;
    var acc3: Acc;
    let fractals = (p.k + 15u) / 16u;
    for (var f = 0u; f < fractals; f++) {
        // K is a multiple of 8 (launcher); only the last fractal may be half, its second half zero.
        let full = 16u * f + 16u <= p.k;
        let r0 = f * f_step;
        let r8 = r0 + h_step;
        var hi = array<vec4<u32>, 4>(vec4<u32>(0u), vec4<u32>(0u), vec4<u32>(0u), vec4<u32>(0u));
        if (full) {
            hi = array<vec4<u32>, 4>(b[bw[0] + r8], b[bw[1] + r8], b[bw[2] + r8], b[bw[3] + r8]);
        }
        let lo = array<vec4<u32>, 4>(b[bw[0] + r0], b[bw[1] + r0], b[bw[2] + r0], b[bw[3] + r0]);
        let blk = block(lo, hi);
        let w0 = a_words(ar0, f, full);
        acc0 = step(acc0, w0[0], w0[1], blk);
        let w1 = a_words(ar1, f, full);
        acc1 = step(acc1, w1[0], w1[1], blk);
        let w2 = a_words(ar2, f, full);
        acc2 = step(acc2, w2[0], w2[1], blk);
        let w3 = a_words(ar3, f, full);
        acc3 = step(acc3, w3[0], w3[1], blk);
    }
    store_row(acc0, m0, n0, bi);
    store_row(acc1, m0 + WG, n0, bi);
    store_row(acc2, m0 + 2u * WG, n0, bi);
    store_row(acc3, m0 + 3u * WG, n0, bi);
}
