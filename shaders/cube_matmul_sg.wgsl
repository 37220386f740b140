// cube_matmul_sg: the register-tiled fast path of cube_matmul (tree16, bf16 operands, row-major A and B whose
// rows start on whole vec4 words). Same contract, same CPU twin (src/reference/cube_matmul.rs) and same
// launcher (src/kernels/cube_matmul.rs, which proves the preconditions) as cube_matmul.wgsl.
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

// Level 1 of the tree: a0 * b0 + a1 * b1, each product rounded on its own.
fn pair(a0: f32, b0: vec4<f32>, a1: f32, b1: vec4<f32>) -> vec4<f32> {
    return keep4(keep4(a0 * b0) + keep4(a1 * b1));
}

// The pairwise tree (numerics::accumulate::tree16) of one row against 4 columns. `w0`, `w1`: the row's
// k 0..7 and 8..15 as words.
fn tree(w0: vec4<u32>, w1: vec4<u32>, f: Fractal, o: bool) -> vec4<f32> {
    let e0 = even(w0);
    let d0 = odd(w0);
    let e1 = even(w1);
    let d1 = odd(w1);
    let s0 = pair(e0.x, col(f.k0, o), d0.x, col(f.k1, o));
    let s1 = pair(e0.y, col(f.k2, o), d0.y, col(f.k3, o));
    let s2 = pair(e0.z, col(f.k4, o), d0.z, col(f.k5, o));
    let s3 = pair(e0.w, col(f.k6, o), d0.w, col(f.k7, o));
    let s4 = pair(e1.x, col(f.k8, o), d1.x, col(f.k9, o));
    let s5 = pair(e1.y, col(f.k10, o), d1.y, col(f.k11, o));
    let s6 = pair(e1.z, col(f.k12, o), d1.z, col(f.k13, o));
    let s7 = pair(e1.w, col(f.k14, o), d1.w, col(f.k15, o));
    let u0 = keep4(keep4(s0 + s1) + keep4(s2 + s3));
    let u1 = keep4(keep4(s4 + s5) + keep4(s6 + s7));
    return keep4(u0 + u1);
}

// Accumulators of one row: 32 columns as 4 groups of 8, each split into its even and odd columns.
struct Acc {
    e0: vec4<f32>, o0: vec4<f32>, e1: vec4<f32>, o1: vec4<f32>,
    e2: vec4<f32>, o2: vec4<f32>, e3: vec4<f32>, o3: vec4<f32>,
}

// Adds one fractal to a row's accumulators, in the contract's order (the tree, then one add).
fn step(acc: Acc, w0: vec4<u32>, w1: vec4<u32>, f0: Fractal, f1: Fractal, f2: Fractal, f3: Fractal) -> Acc {
    return Acc(
        keep4(acc.e0 + tree(w0, w1, f0, false)), keep4(acc.o0 + tree(w0, w1, f0, true)),
        keep4(acc.e1 + tree(w0, w1, f1, false)), keep4(acc.o1 + tree(w0, w1, f1, true)),
        keep4(acc.e2 + tree(w0, w1, f2, false)), keep4(acc.o2 + tree(w0, w1, f2, true)),
        keep4(acc.e3 + tree(w0, w1, f3, false)), keep4(acc.o3 + tree(w0, w1, f3, true)));
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
    c[i] = bitcast<u32>(e.x);
    c[i + 1u] = bitcast<u32>(o.x);
    c[i + 2u] = bitcast<u32>(e.y);
    c[i + 3u] = bitcast<u32>(o.y);
    c[i + 4u] = bitcast<u32>(e.z);
    c[i + 5u] = bitcast<u32>(o.z);
    c[i + 6u] = bitcast<u32>(e.w);
    c[i + 7u] = bitcast<u32>(o.w);
}

fn store_row(acc: Acc, m: u32, n0: u32, bi: u32) {
    if (m >= p.m) {
        return;
    }
    let row = (bi * p.m + m) * p.n + n0;
    // N is a multiple of 8 (launcher): a group of 8 columns is in C entirely or not at all.
    if (n0 < p.n) { store(row, acc.e0, acc.o0); }
    if (n0 + 8u < p.n) { store(row + 8u, acc.e1, acc.o1); }
    if (n0 + 16u < p.n) { store(row + 16u, acc.e2, acc.o2); }
    if (n0 + 24u < p.n) { store(row + 24u, acc.e3, acc.o3); }
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
    // This lane's share of a B block: row k0 + lane (and k0 + 8 + lane), columns n0 + 8q (clamped into B).
    let lane = min(lane_id, 7u);
    let bs = p.b_k / 8u;
    var bw: array<u32, 4>;
    for (var q = 0u; q < 4u; q++) {
        bw[q] = (bi * p.b_batch + min(n0 + 8u * q, p.n - 8u)) / 8u + lane * bs;
    }
    var acc0: Acc;
    var acc1: Acc;
    var acc2: Acc;
    var acc3: Acc;
    let fractals = (p.k + 15u) / 16u;
    for (var f = 0u; f < fractals; f++) {
        // K is a multiple of 8 (launcher); only the last fractal may be half.
        let full = 16u * f + 16u <= p.k;
        let r0 = 16u * f * bs;
        let r8 = r0 + 8u * bs;
        var hi = array<vec4<u32>, 4>(vec4<u32>(0u), vec4<u32>(0u), vec4<u32>(0u), vec4<u32>(0u));
        if (full) {
            hi = array<vec4<u32>, 4>(b[bw[0] + r8], b[bw[1] + r8], b[bw[2] + r8], b[bw[3] + r8]);
        }
        let f0 = share(b[bw[0] + r0], hi[0]);
        let f1 = share(b[bw[1] + r0], hi[1]);
        let f2 = share(b[bw[2] + r0], hi[2]);
        let f3 = share(b[bw[3] + r0], hi[3]);
        let w0 = a_words(ar0, f, full);
        acc0 = step(acc0, w0[0], w0[1], f0, f1, f2, f3);
        let w1 = a_words(ar1, f, full);
        acc1 = step(acc1, w1[0], w1[1], f0, f1, f2, f3);
        let w2 = a_words(ar2, f, full);
        acc2 = step(acc2, w2[0], w2[1], f0, f1, f2, f3);
        let w3 = a_words(ar3, f, full);
        acc3 = step(acc3, w3[0], w3[1], f0, f1, f2, f3);
    }
    store_row(acc0, m0, n0, bi);
    store_row(acc1, m0 + WG, n0, bi);
    store_row(acc2, m0 + 2u * WG, n0, bi);
    store_row(acc3, m0 + 3u * WG, n0, bi);
}
