// shared/cube_sg_b.wgsl: cube_matmul_sg's operand words turned into f32 values. B: one fractal (16 k) for
// 32 columns of C, shared across the subgroup by subgroupBroadcast from its first 8 lanes; A: one row's 16 k.
// Imported by cube_matmul_sg.wgsl only, whose overrides B_T, F32 and HF32 it reads.
//
// Operand words are vec4<u32>: 8 packed bf16 (element 2i in the low half of lane i), or 4 f32 (F32).
// Each of the 8 lanes loads the words of one row of the fractal (row-major B: rows `lane` and `lane + 8`,
// for each of the 4 groups of 8 columns) or of one column (transposed B: column `lane + 8q`): `lo` holds
// the first 8 elements and `hi` the second 8 of that row or column; for F32 each half is two words, the
// second in `lo2` / `hi2`.

// A word's 8 bf16 as f32: elements 0, 2, 4, 6 (the low halves) and 1, 3, 5, 7.
fn even(w: vec4<u32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(w << vec4<u32>(16u));
}
fn odd(w: vec4<u32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(w & vec4<u32>(0xffff0000u));
}

// A word's 4 f32 as the Mmad takes them: in the HF32 mode rounded to HF32 (11 fraction bits, nearest
// even), as L0A/L0B hand them over; the lane-wise form of formats.wgsl's hf32_round_bits. Applied to each
// word once, where it is loaded (B before it is broadcast).
fn mmad_bits(w: vec4<u32>) -> vec4<u32> {
    if (!HF32) {
        return w;
    }
    let nan = (w & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
    let rounded = (w + vec4<u32>(0x7ffu) + ((w >> vec4<u32>(12u)) & vec4<u32>(1u))) & vec4<u32>(0xfffff000u);
    return select(rounded, (w | vec4<u32>(0x00400000u)) & vec4<u32>(0xfffff000u), nan);
}

fn f32s(w: vec4<u32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(w);
}

// One row of A for one fractal: k 0..3, 4..7, 8..11, 12..15.
struct Arow {
    a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>,
}

// The row's words of one fractal (2 for bf16, 4 for F32) as values in k order.
fn arow(w: array<vec4<u32>, 4>) -> Arow {
    if (F32) {
        return Arow(f32s(w[0]), f32s(w[1]), f32s(w[2]), f32s(w[3]));
    }
    let e0 = even(w[0]);
    let d0 = odd(w[0]);
    let e1 = even(w[1]);
    let d1 = odd(w[1]);
    return Arow(vec4(e0.x, d0.x, e0.y, d0.y), vec4(e0.z, d0.z, e0.w, d0.w),
                vec4(e1.x, d1.x, e1.y, d1.y), vec4(e1.z, d1.z, e1.w, d1.w));
}

// One fractal of B as words, row k (of 8 bf16 or 4 f32 columns) in word k.
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

// Row-major bf16 B: the even (or odd) 4 of a fractal's 8 columns.
fn rows_nn(f: Fractal, o: bool) -> Rows {
    return Rows(col(f.k0, o), col(f.k1, o), col(f.k2, o), col(f.k3, o),
                col(f.k4, o), col(f.k5, o), col(f.k6, o), col(f.k7, o),
                col(f.k8, o), col(f.k9, o), col(f.k10, o), col(f.k11, o),
                col(f.k12, o), col(f.k13, o), col(f.k14, o), col(f.k15, o));
}

// Row-major F32 B: a fractal's 4 columns as they are stored.
fn rows_f32(f: Fractal) -> Rows {
    return Rows(f32s(f.k0), f32s(f.k1), f32s(f.k2), f32s(f.k3), f32s(f.k4), f32s(f.k5), f32s(f.k6),
                f32s(f.k7), f32s(f.k8), f32s(f.k9), f32s(f.k10), f32s(f.k11), f32s(f.k12), f32s(f.k13),
                f32s(f.k14), f32s(f.k15));
}

// Four columns given as their k 0..3 (`c*.a0`), 4..7, 8..11 and 12..15, regrouped into rows of 4 columns.
fn rows_of_cols(c0: Arow, c1: Arow, c2: Arow, c3: Arow) -> Rows {
    return Rows(
        vec4(c0.a0.x, c1.a0.x, c2.a0.x, c3.a0.x), vec4(c0.a0.y, c1.a0.y, c2.a0.y, c3.a0.y),
        vec4(c0.a0.z, c1.a0.z, c2.a0.z, c3.a0.z), vec4(c0.a0.w, c1.a0.w, c2.a0.w, c3.a0.w),
        vec4(c0.a1.x, c1.a1.x, c2.a1.x, c3.a1.x), vec4(c0.a1.y, c1.a1.y, c2.a1.y, c3.a1.y),
        vec4(c0.a1.z, c1.a1.z, c2.a1.z, c3.a1.z), vec4(c0.a1.w, c1.a1.w, c2.a1.w, c3.a1.w),
        vec4(c0.a2.x, c1.a2.x, c2.a2.x, c3.a2.x), vec4(c0.a2.y, c1.a2.y, c2.a2.y, c3.a2.y),
        vec4(c0.a2.z, c1.a2.z, c2.a2.z, c3.a2.z), vec4(c0.a2.w, c1.a2.w, c2.a2.w, c3.a2.w),
        vec4(c0.a3.x, c1.a3.x, c2.a3.x, c3.a3.x), vec4(c0.a3.y, c1.a3.y, c2.a3.y, c3.a3.y),
        vec4(c0.a3.z, c1.a3.z, c2.a3.z, c3.a3.z), vec4(c0.a3.w, c1.a3.w, c2.a3.w, c3.a3.w));
}

// Transposed B: columns 0..3 (lanes 0..3, `first`) or 4..7 (lanes 4..7) of the group, each lane's words
// broadcast to every invocation (a broadcast's lane must be a constant, hence the spelled-out lanes).
fn quad(g: Group, first: bool) -> Rows {
    let z = vec4<u32>(0u);
    if (F32) {
        if (first) {
            return rows_of_cols(
                arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 0u), subgroupBroadcast(g.lo2, 0u),
                                         subgroupBroadcast(g.hi, 0u), subgroupBroadcast(g.hi2, 0u))),
                arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 1u), subgroupBroadcast(g.lo2, 1u),
                                         subgroupBroadcast(g.hi, 1u), subgroupBroadcast(g.hi2, 1u))),
                arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 2u), subgroupBroadcast(g.lo2, 2u),
                                         subgroupBroadcast(g.hi, 2u), subgroupBroadcast(g.hi2, 2u))),
                arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 3u), subgroupBroadcast(g.lo2, 3u),
                                         subgroupBroadcast(g.hi, 3u), subgroupBroadcast(g.hi2, 3u))));
        }
        return rows_of_cols(
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 4u), subgroupBroadcast(g.lo2, 4u),
                                     subgroupBroadcast(g.hi, 4u), subgroupBroadcast(g.hi2, 4u))),
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 5u), subgroupBroadcast(g.lo2, 5u),
                                     subgroupBroadcast(g.hi, 5u), subgroupBroadcast(g.hi2, 5u))),
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 6u), subgroupBroadcast(g.lo2, 6u),
                                     subgroupBroadcast(g.hi, 6u), subgroupBroadcast(g.hi2, 6u))),
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 7u), subgroupBroadcast(g.lo2, 7u),
                                     subgroupBroadcast(g.hi, 7u), subgroupBroadcast(g.hi2, 7u))));
    }
    if (first) {
        return rows_of_cols(
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 0u), subgroupBroadcast(g.hi, 0u), z, z)),
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 1u), subgroupBroadcast(g.hi, 1u), z, z)),
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 2u), subgroupBroadcast(g.hi, 2u), z, z)),
            arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 3u), subgroupBroadcast(g.hi, 3u), z, z)));
    }
    return rows_of_cols(
        arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 4u), subgroupBroadcast(g.hi, 4u), z, z)),
        arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 5u), subgroupBroadcast(g.hi, 5u), z, z)),
        arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 6u), subgroupBroadcast(g.hi, 6u), z, z)),
        arow(array<vec4<u32>, 4>(subgroupBroadcast(g.lo, 7u), subgroupBroadcast(g.hi, 7u), z, z)));
}

// The B operand of one fractal for all 32 columns, in the accumulators' order (see Acc).
struct Block {
    r0: Rows, r1: Rows, r2: Rows, r3: Rows, r4: Rows, r5: Rows, r6: Rows, r7: Rows,
}

// This lane's words of one column group q: the first and second 8 elements of its row or column.
struct Group {
    lo: vec4<u32>, lo2: vec4<u32>, hi: vec4<u32>, hi2: vec4<u32>,
}

// Group q's accumulator quads 0..3 and 4..7 (`second`) of its 8 columns: transposed B, or row-major F32 B
// (two words per row).
fn quad_rows(g: Group, second: bool) -> Rows {
    if (B_T) {
        return quad(g, !second);
    }
    return rows_f32(share(select(g.lo, g.lo2, second), select(g.hi, g.hi2, second)));
}

fn block(g0: Group, g1: Group, g2: Group, g3: Group) -> Block {
    if (B_T || F32) {
        return Block(quad_rows(g0, false), quad_rows(g0, true), quad_rows(g1, false), quad_rows(g1, true),
                     quad_rows(g2, false), quad_rows(g2, true), quad_rows(g3, false), quad_rows(g3, true));
    }
    // Row-major bf16 B: one broadcast fractal per group, split into its even and its odd columns.
    let f0 = share(g0.lo, g0.hi);
    let f1 = share(g1.lo, g1.hi);
    let f2 = share(g2.lo, g2.hi);
    let f3 = share(g3.lo, g3.hi);
    return Block(rows_nn(f0, false), rows_nn(f0, true), rows_nn(f1, false), rows_nn(f1, true),
                 rows_nn(f2, false), rows_nn(f2, true), rows_nn(f3, false), rows_nn(f3, true));
}
