//! Timing of one `cube_matmul` under one tiling, and the choice of the fastest tiling.
//!
//! Blocks are numbered in the tiling's order and each die takes a contiguous range of them; on a die, block
//! `j` goes to core `j mod cores`, and a core runs its blocks one after another. Within a block the core
//! walks its base output tiles; for each it streams K in L1 chunks through the pipeline
//! MTE2 (GM -> L1) -> MTE1 (L1 -> L0A/L0B) -> Cube, then FixPipe drains L0C to GM. Double buffering lets the
//! stages overlap, so a chunk costs the slowest stage; with L0C double-buffered FixPipe overlaps the next
//! tile's Cube work, otherwise the Cube waits for it.
//!
//! Memory: each die's first touch of a tile row or column comes from HBM; re-reads come from the die's L2
//! in proportion to how much of the die's working set fits it (assumption: the L2 policy is not
//! published; this is the simplest share that is exact at both ends). Operand parts that one die alone
//! reads live on that die; parts read by several dies live on die 0, and the others fetch them over the
//! die-to-die link (assumption: a framework places data where it is used; a shared operand has one home).
//! The cores busy on a die share its HBM, L2 and link time, and a die never finishes before its memory
//! system has moved its bytes.

use super::tiling::{BlockOrder, MatmulTiling};
use super::timeline::{CoreId, CoreKind, Lane, MAX_EVENTS_PER_OP, Timeline};
use crate::chip::ChipSpec;
use crate::units::{Bytes, Nanos};

/// The busiest core's or die's time on each resource (not counting launch overhead).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Busy {
    pub cube: Nanos,
    pub mte2: Nanos,
    pub mte1: Nanos,
    pub fixpipe: Nanos,
    pub hbm: Nanos,
    pub l2: Nanos,
    pub die_link: Nanos,
}

/// One tiling's predicted cost.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MatmulEstimate {
    pub tiling: MatmulTiling,
    /// From the first MTE2 copy to the last FixPipe write (with the die link's latency when data crosses
    /// it), launch overhead excluded.
    pub time: Nanos,
    pub busy: Busy,
    pub hbm_bytes: Bytes,
    pub l2_bytes: Bytes,
    pub link_bytes: Bytes,
    pub cores_used: usize,
    /// Share of re-reads served by L2, on the die where it is lowest.
    pub l2_hit: f64,
    /// The base-tile loop of a block walks M innermost (`iterateOrder` M) rather than N.
    pub m_inner: bool,
}

/// Where one op's intervals go, and when the op's work starts.
pub struct Recorder<'a> {
    pub timeline: &'a mut Timeline,
    pub start: Nanos,
    pub op: usize,
}

/// A block: its batch entry, M-block and N-block, and its size.
#[derive(Clone, Copy)]
struct Block {
    a_key: usize,
    b_key: usize,
    rows: usize,
    cols: usize,
}

fn block(t: &MatmulTiling, j: usize) -> Block {
    let p = &t.problem;
    let per = t.blocks_m * t.blocks_n;
    let (b, r) = (j / per, j % per);
    let (mi, ni) = match t.order {
        BlockOrder::MFirst => (r / t.blocks_n, r % t.blocks_n),
        BlockOrder::NFirst => (r % t.blocks_m, r / t.blocks_m),
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

/// Per-die memory traffic.
#[derive(Clone, Copy, Default)]
struct DieTraffic {
    hbm: f64,
    l2: f64,
    link: f64,
    reads: f64,
    /// Reads that miss L2 (served by HBM or over the link).
    mem_reads: f64,
    blocks: usize,
    hit: f64,
    m_inner: bool,
}

/// Predicts one tiling; with a recorder, also lays its intervals on the timeline.
pub fn evaluate(
    chip: &ChipSpec,
    t: &MatmulTiling,
    mut rec: Option<Recorder<'_>>,
) -> MatmulEstimate {
    let p = &t.problem;
    let dies = chip.dies();
    let cores = chip.cube_cores_per_die();
    let total = t.blocks();
    let range = |d: usize| (d * total / dies, (d + 1) * total / dies);
    let (kb, inb) = (p.k as f64, p.in_bytes);

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
    let read_bytes = |b: &Block| {
        let (tm, tn) = (b.rows.div_ceil(t.base_m), b.cols.div_ceil(t.base_n));
        (
            (tn * b.rows) as f64 * kb * inb,
            (tm * b.cols) as f64 * kb * inb,
        )
    };

    // Per-die traffic. A die's first touch of each part of A and B comes from HBM (or over the link). A
    // re-read hits L2 when the bytes the die's cores read between the two uses fit it (LRU reuse
    // distance); beyond that the hit share falls as capacity / distance (assumption: a smooth fall-off
    // rather than a cliff, as the real access order is not strictly cyclic). Re-reads are of two kinds:
    // blocks of other cores reading the same panel (at the same time within a round of blocks; else the
    // die's reads between the two blocks' starts apart, so that a walk over the tiles in row order
    // re-reads all of B for every row of tiles, and B larger than L2 misses: the 16384 rows of the
    // measurement table), and a block re-reading its own panels for each base tile, one sweep of every
    // busy core apart for the panel of the inner loop, a row of tiles apart for the other.
    let l2_cap = chip.l2_capacity_per_die().0;
    let hit = |distance: f64| {
        if distance <= l2_cap {
            1.0
        } else {
            l2_cap / distance
        }
    };
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

    let hbm_bw = chip.hbm_achievable_per_die();
    let l2_bw = chip.l2_bw_per_die();
    let link_bw = chip.die_link_bw();
    let mem_time: Vec<Nanos> = traffic
        .iter()
        .map(|tr| {
            (Bytes(tr.hbm) / hbm_bw)
                .max(Bytes(tr.l2) / l2_bw)
                .max(Bytes(tr.link) / link_bw)
        })
        .collect();

    let clock = chip.clock();
    let port = chip.per_cycle(chip.mte2_bytes_per_cycle.value);
    // A core's MTE2 moves bytes that hit L2 at the port's rate, and bytes of an ND operand that come from
    // HBM at the slower rate of the ND -> NZ conversion (see the chip field).
    let (port_cycle, hbm_cycle) = (
        chip.mte2_bytes_per_cycle.value,
        chip.mte2_hbm_bytes_per_cycle.value,
    );
    // With every Cube core busy the chip sustains only part of its nominal rate (its power limit): the
    // share falls linearly with the share of cores busy (assumption: power grows with busy cores).
    let busy_cores: usize = (0..dies)
        .map(|d| {
            let (lo, hi) = range(d);
            (hi - lo).min(cores)
        })
        .sum();
    let derate = 1.0
        - (1.0 - chip.cube_sustained_fraction.value) * busy_cores as f64 / (dies * cores) as f64;
    let issue = chip.mmad_issue_cycles.value;
    let latency = clock.cycles(chip.mmad_latency_cycles.value);
    let sync = clock.cycles(chip.tile_sync_cycles.value);
    // One fractal (16 x C0 x 16: C0 = 16 for bf16 and fp16, 32 for int8, 8 for fp32 and hf32) per cycle
    // where the chip's MAC rate allows it.
    let (k_frac, macs) = (p.format.c0(), chip.cube_macs(p.format));
    let fractal_cycles = (16 * 16 * k_frac) as f64 / macs;
    let fine = (total_tiles(t) * 4) <= MAX_EVENTS_PER_OP;
    let mut busy = Busy::default();
    let mut op_time = Nanos::ZERO;
    let mut cores_used = 0;
    for d in 0..dies {
        let (lo, hi) = range(d);
        let tr = traffic[d];
        let rounds = tr.blocks.div_ceil(cores).max(1);
        // The cores busy at once, on average over the rounds: they share the die's memory time.
        let concurrency = tr.blocks as f64 / rounds as f64;
        cores_used += tr.blocks.min(cores);
        let mut core_time = vec![Nanos::ZERO; cores];
        let mut core_busy = vec![[Nanos::ZERO; 4]; cores];
        for j in lo..hi {
            let core = (j - lo) % cores;
            let b = block(t, j);
            let (ra, rb) = read_bytes(&b);
            let (tm, tn) = (b.rows.div_ceil(t.base_m), b.cols.div_ceil(t.base_n));
            let tiles = (tm * tn) as f64;
            let kchunks = p.k.div_ceil(t.chunk_k()) as f64;
            let steps = tiles * kchunks;
            let share = if tr.reads > 0.0 {
                mem_time[d] * ((ra + rb) / tr.reads * concurrency)
            } else {
                Nanos::ZERO
            };
            let miss = if tr.reads > 0.0 {
                (tr.mem_reads / tr.reads).min(1.0)
            } else {
                0.0
            };
            // ND operands go through MTE2's ND -> NZ conversion, which takes the slower rate for bytes
            // from HBM; an operand already stored NZ streams at the port's rate.
            let nd = miss / hbm_cycle + (1.0 - miss) / port_cycle;
            let b_rate = if p.hint.b_nz { 1.0 / port_cycle } else { nd };
            let from_source = clock.cycles(ra * nd + rb * b_rate);
            let mte2 = (Bytes(ra + rb) / port).max(share).max(from_source);
            let mte1 = clock.cycles(
                ra / chip.mte1_l0a_bytes_per_cycle.value + rb / chip.mte1_l0b_bytes_per_cycle.value,
            );
            let fractals =
                (b.rows.div_ceil(16) * b.cols.div_ceil(16) * p.k.div_ceil(k_frac)) as f64;
            // One mmad per base tile and base-K slice, each with its issue cost.
            let mmads = tiles * p.k.div_ceil(t.base_k) as f64;
            let cube = clock.cycles(fractals * fractal_cycles / derate + mmads * issue);
            let fix_bytes = (b.rows * b.cols) as f64 * (p.out_bytes + p.residual_bytes);
            let fix = clock.cycles(fix_bytes / chip.fixpipe_bytes_per_cycle.value);
            let (m2, m1, cu, fx) = (mte2 / steps, mte1 / steps, cube / steps, fix / tiles);
            // Each L1 chunk pays its synchronisation; each tile waits out one mmad's latency before FixPipe
            // may read L0C.
            let pace = m2.max(m1).max(cu) + sync;
            let k_time = pace * kchunks + latency;
            let period = if t.db_l0c {
                k_time.max(fx)
            } else {
                k_time + fx
            };
            let fill = m2 + m1;
            let block_time = period * (tiles - 1.0) + fill + k_time + fx;
            let start = core_time[core];
            if let Some(r) = rec.as_mut() {
                let id = CoreId {
                    die: d,
                    kind: CoreKind::Aic,
                    index: core,
                };
                let s0 = r.start + start;
                let tl = &mut *r.timeline;
                let (n, step, scale) = if fine {
                    (tm * tn, period, 1.0)
                } else {
                    (1, Nanos::ZERO, tiles)
                };
                for i in 0..n {
                    let s = s0 + step * i as f64;
                    tl.push(
                        id,
                        Lane::Mte2,
                        s,
                        m2 * kchunks * scale,
                        r.op,
                        "A+B chunks into L1",
                    );
                    tl.push(
                        id,
                        Lane::Mte1,
                        s + m2,
                        m1 * kchunks * scale,
                        r.op,
                        "tiles into L0A/L0B",
                    );
                    tl.push(id, Lane::Cube, s + fill, cu * kchunks * scale, r.op, "mmad");
                    tl.push(
                        id,
                        Lane::FixPipe,
                        s + fill + k_time,
                        fx * scale,
                        r.op,
                        "L0C to GM",
                    );
                }
            }
            core_time[core] = start + block_time;
            for (acc, v) in core_busy[core].iter_mut().zip([cube, mte2, mte1, fix]) {
                *acc += v;
            }
        }
        let slowest = core_time.iter().fold(Nanos::ZERO, |a, &b| a.max(b));
        op_time = op_time.max(slowest.max(mem_time[d]));
        for cb in &core_busy {
            busy.cube = busy.cube.max(cb[0]);
            busy.mte2 = busy.mte2.max(cb[1]);
            busy.mte1 = busy.mte1.max(cb[2]);
            busy.fixpipe = busy.fixpipe.max(cb[3]);
        }
        busy.hbm = busy.hbm.max(Bytes(tr.hbm) / hbm_bw);
        busy.l2 = busy.l2.max(Bytes(tr.l2) / l2_bw);
        busy.die_link = busy.die_link.max(Bytes(tr.link) / link_bw);
    }
    // Data that crosses the link arrives a link latency late; the op cannot finish before it.
    if remote_total > 0.0 {
        op_time += chip.die_link_latency();
        busy.die_link += chip.die_link_latency();
    }
    MatmulEstimate {
        tiling: *t,
        time: op_time,
        busy,
        hbm_bytes: Bytes(traffic.iter().map(|tr| tr.hbm).sum()),
        l2_bytes: Bytes(traffic.iter().map(|tr| tr.l2).sum()),
        link_bytes: Bytes(remote_total),
        cores_used,
        l2_hit: traffic
            .iter()
            .filter(|tr| tr.blocks > 0)
            .map(|tr| tr.hit)
            .fold(1.0, f64::min),
        m_inner: traffic[0].m_inner,
    }
}

/// Base output tiles over all blocks (what a fine-grained timeline records).
fn total_tiles(t: &MatmulTiling) -> usize {
    let p = &t.problem;
    p.batch * p.m.div_ceil(t.base_m) * p.n.div_ceil(t.base_n)
}
