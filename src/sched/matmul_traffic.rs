//! The memory traffic of one `cube_matmul` tiling, die by die: which dies read each part of A and B
//! (first touches from HBM, or over the die-to-die link for a part that another die also reads), and
//! how many re-reads hit L2 (by reuse distance between blocks, and between a block's own base tiles).
//! [`super::matmul`] turns the traffic into time.

use super::tiling::{BlockOrder, MatmulTiling};
use crate::chip::ChipSpec;

/// A block: its batch entry, M-block and N-block, and its size.
#[derive(Clone, Copy)]
pub(super) struct Block {
    pub(super) a_key: usize,
    pub(super) b_key: usize,
    pub(super) rows: usize,
    pub(super) cols: usize,
}

pub(super) fn block(t: &MatmulTiling, j: usize) -> Block {
    let p = &t.problem;
    let per = t.blocks_m * t.blocks_n;
    let (b, r) = (j / per, j % per);
    let (mi, ni) = match t.order {
        BlockOrder::MFirst => (r / t.blocks_n, r % t.blocks_n),
        BlockOrder::NFirst => (r % t.blocks_m, r / t.blocks_m),
        BlockOrder::Swizzle(c) => swizzle_nz(r, t.blocks_m, t.blocks_n, c),
    };
    let rows = t.single_core_m.min(p.m - (mi * t.single_core_m).min(p.m));
    let cols = t.single_core_n.min(p.n - (ni * t.single_core_n).min(p.n));
    Block {
        a_key: if p.a_shared { mi } else { b * t.blocks_m + mi },
        b_key: if p.b_shared { ni } else { b * t.blocks_n + ni },
        rows,
        cols,
    }
}

/// Block `li` of an `m_loop x n_loop` grid in the swizzled order: groups of `c` N-blocks (the last one
/// narrower), each walked row by row down M, odd groups from the bottom up (pto-dsl
/// `examples/aot/matmul_optimization_guide/step3_swizzle_numpy_sim.py`, `swizzle_nz_py`).
pub(super) fn swizzle_nz(li: usize, m_loop: usize, n_loop: usize, c: usize) -> (usize, usize) {
    let c = c.clamp(1, n_loop.max(1));
    let groups = n_loop.div_ceil(c);
    let span = c * m_loop;
    let (group, inner) = (li / span, li % span);
    let cols = if group + 1 == groups {
        n_loop - c * group
    } else {
        c
    };
    let m = inner / cols;
    let n = group * c + inner % cols;
    if group % 2 == 1 {
        (m_loop - m - 1, n)
    } else {
        (m, n)
    }
}

/// Per-die memory traffic.
#[derive(Clone, Copy, Default)]
pub(super) struct DieTraffic {
    pub(super) hbm: f64,
    pub(super) l2: f64,
    pub(super) link: f64,
    pub(super) reads: f64,
    /// Reads that miss L2 (served by HBM or over the link).
    pub(super) mem_reads: f64,
    pub(super) blocks: usize,
    pub(super) hit: f64,
    pub(super) m_inner: bool,
}

/// The bytes block `b` reads of A and of B: each base tile brings its panel of A and of B.
pub(super) fn read_bytes(t: &MatmulTiling, b: &Block) -> (f64, f64) {
    let (kb, inb) = (t.problem.k as f64, t.problem.in_bytes);
    let (tm, tn) = (b.rows.div_ceil(t.base_m), b.cols.div_ceil(t.base_n));
    (
        (tn * b.rows) as f64 * kb * inb,
        (tm * b.cols) as f64 * kb * inb,
    )
}

/// Each die's traffic, and the bytes dies other than 0 read over the link (served by die 0's HBM, which
/// the traffic already counts).
pub(super) fn die_traffic(chip: &ChipSpec, t: &MatmulTiling) -> (Vec<DieTraffic>, f64) {
    let p = &t.problem;
    let dies = chip.dies();
    let cores = chip.cube_cores_per_die();
    let total = t.blocks();
    let range = |d: usize| (d * total / dies, (d + 1) * total / dies);
    let (kb, inb) = (p.k as f64, p.in_bytes);
    let read_bytes = |b: &Block| read_bytes(t, b);
    // Which dies read each part of A and B (a bit per die).
    let a_keys = if p.a_shared { 1 } else { p.batch } * t.blocks_m;
    let b_keys = if p.b_shared { 1 } else { p.batch } * t.blocks_n;
    let (mut a_mask, mut b_mask) = (vec![0u64; a_keys], vec![0u64; b_keys]);
    let (mut a_rows, mut b_cols) = (vec![0usize; a_keys], vec![0usize; b_keys]);
    for d in 0..dies {
        let (lo, hi) = range(d);
        for j in lo..hi {
            let b = block(t, j);
            a_mask[b.a_key] |= 1 << d;
            b_mask[b.b_key] |= 1 << d;
            a_rows[b.a_key] = b.rows;
            b_cols[b.b_key] = b.cols;
        }
    }

    // Per-die traffic. A die's first touch of each part of A and B comes from HBM (or over the link). A
    // re-read hits L2 when the bytes the die's cores read between the two uses fit it (LRU reuse
    // distance), and misses beyond: the walk over the tiles is cyclic, and LRU keeps none of a cycle
    // larger than itself. A smooth fall-off (capacity / distance) gave 49% for pto-dsl's row-order
    // kernel at 16384^3, where msprof measures 30.9%; the cliff gives 33% (validate: pto-l2-*).
    // Re-reads are of two kinds: blocks of other cores reading the same panel (at the same time within
    // a round of blocks; else the die's reads between the two blocks' starts apart, so that a walk over
    // the tiles in row order re-reads all of B for every row of tiles, and B larger than L2 misses: the
    // 16384 rows of the measurement table), and a block re-reading its own panels for each base tile,
    // one sweep of every busy core apart for the panel of the inner loop, a row of tiles apart for the
    // other.
    let l2_cap = chip.l2_capacity_per_die().0;
    let hit = |distance: f64| if distance <= l2_cap { 1.0 } else { 0.0 };
    let mut traffic = vec![DieTraffic::default(); dies];
    for (d, tr) in traffic.iter_mut().enumerate() {
        let (lo, hi) = range(d);
        let bit = 1u64 << d;
        let rounds = (hi - lo).div_ceil(cores).max(1);
        let concurrency = (hi - lo) as f64 / rounds as f64;
        let sweep = concurrency * (t.base_m + t.base_n) as f64 * kb * inb;
        let (mut panels_a, mut panels_b, mut writes, mut reads) = (0.0, 0.0, 0.0, 0.0);
        // Own re-reads of A and B: (bytes, bytes that hit L2).
        let (mut own_a, mut own_b) = ((0.0, 0.0), (0.0, 0.0));
        // Other blocks' re-reads of a panel that hit L2, and where (block, bytes read before it) each
        // panel was last used on this die.
        let (mut cross_hit_a, mut cross_hit_b) = (0.0, 0.0);
        let mut last_a = vec![(usize::MAX, 0.0); a_keys];
        let mut last_b = vec![(usize::MAX, 0.0); b_keys];
        let mut m_inner = false;
        for j in lo..hi {
            let b = block(t, j);
            let (a, bb) = read_bytes(&b);
            let (pa, pb) = (b.rows as f64 * kb * inb, b.cols as f64 * kb * inb);
            for (last, key, panel, acc) in [
                (&mut last_a, b.a_key, pa, &mut cross_hit_a),
                (&mut last_b, b.b_key, pb, &mut cross_hit_b),
            ] {
                let (j0, before) = last[key];
                if j0 != usize::MAX {
                    let same_round = ((j - j0) as f64) < concurrency;
                    *acc += panel * if same_round { 1.0 } else { hit(reads - before) };
                }
                last[key] = (j, reads);
            }
            reads += a + bb;
            panels_a += pa;
            panels_b += pb;
            writes += (b.rows * b.cols) as f64 * (p.out_bytes + p.residual_bytes);
            let (tm, tn) = (
                b.rows.div_ceil(t.base_m) as f64,
                b.cols.div_ceil(t.base_n) as f64,
            );
            let (ra, rb) = (a - pa, bb - pb);
            // N inner: A's panel is reused one sweep later, B's a row of tiles later; M inner: the reverse.
            let n_inner = (ra * hit(sweep), rb * hit(tn * sweep));
            let m_in = (ra * hit(tm * sweep), rb * hit(sweep));
            m_inner = m_in.0 + m_in.1 > n_inner.0 + n_inner.1;
            let (ha, hb) = if m_inner { m_in } else { n_inner };
            own_a = (own_a.0 + ra, own_a.1 + ha);
            own_b = (own_b.0 + rb, own_b.1 + hb);
        }
        let unique = |mask: &[u64], size: &[usize], per: f64| {
            let (mut local, mut remote) = (0.0, 0.0);
            for (m, s) in mask.iter().zip(size) {
                if m & bit != 0 {
                    let bytes = *s as f64 * per;
                    if *m != bit && d != 0 {
                        remote += bytes;
                    } else {
                        local += bytes;
                    }
                }
            }
            (local, remote)
        };
        let (ua_l, ua_r) = unique(&a_mask, &a_rows, kb * inb);
        let (ub_l, ub_r) = unique(&b_mask, &b_cols, kb * inb);
        tr.reads = reads;
        tr.blocks = hi - lo;
        tr.m_inner = m_inner;
        // Each line written is also read first where the L2 allocates on a write miss.
        tr.hbm += writes * chip.hbm_write_cost.value;
        let mut rereads = 0.0;
        for (panels, ul, ur, own, cross_hit) in [
            (panels_a, ua_l, ua_r, own_a, cross_hit_a),
            (panels_b, ub_l, ub_r, own_b, cross_hit_b),
        ] {
            let first = ul + ur;
            let cross = (panels - first).max(0.0);
            let l2 = cross_hit.min(cross) + own.1;
            rereads += cross + own.0;
            let from_mem = first + cross + own.0 - l2;
            tr.l2 += l2;
            tr.mem_reads += from_mem;
            let remote = if first > 0.0 {
                from_mem * ur / first
            } else {
                0.0
            };
            tr.hbm += from_mem - remote;
            tr.link += remote;
        }
        tr.hit = if rereads > 0.0 { tr.l2 / rereads } else { 1.0 };
    }
    // Remote reads are served by die 0's HBM.
    let remote_total: f64 = traffic.iter().map(|tr| tr.link).sum();
    traffic[0].hbm += remote_total;
    (traffic, remote_total)
}

#[cfg(test)]
mod tests {
    use super::swizzle_nz;

    #[test]
    fn swizzle_follows_pto_dsls_reference() {
        // pto-dsl's `swizzle_nz_py(li, 4, 7, 3)` for li in 0..28 (step3_swizzle_numpy_sim.py, run with
        // CPython 3.11): groups of 3 columns, the second one walked upward, the last one 1 wide.
        let want = [
            (0, 0),
            (0, 1),
            (0, 2),
            (1, 0),
            (1, 1),
            (1, 2),
            (2, 0),
            (2, 1),
            (2, 2),
            (3, 0),
            (3, 1),
            (3, 2),
            (3, 3),
            (3, 4),
            (3, 5),
            (2, 3),
            (2, 4),
            (2, 5),
            (1, 3),
            (1, 4),
            (1, 5),
            (0, 3),
            (0, 4),
            (0, 5),
            (0, 6),
            (1, 6),
            (2, 6),
            (3, 6),
        ];
        let got: Vec<_> = (0..28).map(|li| swizzle_nz(li, 4, 7, 3)).collect();
        assert_eq!(got, want);
        // Every grid and group width is walked once per block.
        for (m, n, c) in [(1, 1, 1), (5, 3, 5), (7, 11, 4), (16, 64, 5)] {
            let mut seen = vec![false; m * n];
            for li in 0..m * n {
                let (i, j) = swizzle_nz(li, m, n, c);
                assert!(i < m && j < n && !seen[i * n + j], "{m}x{n} c={c} li={li}");
                seen[i * n + j] = true;
            }
        }
    }
}
