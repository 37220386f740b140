//! Timing of one `cube_matmul` under one tiling, and the choice of the fastest tiling.
//!
//! Blocks are numbered in the tiling's order and each die takes a contiguous range of them; on a die, block
//! `j` goes to core `j mod cores`, and a core runs its blocks one after another. Within a block the core
//! walks its base output tiles; for each it streams K in L1 chunks through the pipeline
//! MTE2 (GM -> L1) -> MTE1 (L1 -> L0A/L0B) -> Cube, then FixPipe drains L0C to GM. Double buffering lets the
//! stages overlap, so a chunk costs the slowest stage; with L0C double-buffered FixPipe overlaps the next
//! tile's Cube work, otherwise the Cube waits for it.
//!
//! Memory ([`super::matmul_traffic`]): each die's first touch of a tile row or column comes from HBM;
//! re-reads hit the die's L2 by reuse distance. Operand parts that one die alone reads live on that die;
//! parts read by several dies live on die 0, and the others fetch them over the die-to-die link
//! (assumption: a framework places data where it is used; a shared operand has one home). The cores busy
//! on a die share its achievable HBM, L2 and link time, and a die never finishes before its memory system
//! has moved its bytes.
//!
//! Per core, the chip's mechanisms apply: the Cube's sustained share falls with the share of cores busy
//! (power), each mmad pays its issue cost and each tile one mmad latency, each L1 chunk its
//! synchronisation, and MTE2 moves an ND operand's bytes from HBM at the ND -> NZ rate (an NZ-stored B at
//! the port's).

use super::matmul_traffic::{Block, block, die_traffic, read_bytes};
use super::tiling::MatmulTiling;
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
    /// Share of all operand reads (first touches included) served by L2, on the die where it is lowest:
    /// what a profiler's L2 hit rate counts.
    pub l2_read_hit: f64,
    /// The base-tile loop of a block walks M innermost (`iterateOrder` M) rather than N.
    pub m_inner: bool,
}

/// Where one op's intervals go, and when the op's work starts.
pub struct Recorder<'a> {
    pub timeline: &'a mut Timeline,
    pub start: Nanos,
    pub op: usize,
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

    let (traffic, remote_total) = die_traffic(chip, t);
    let read_bytes = |b: &Block| read_bytes(t, b);

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
    // With every Cube core busy the chip sustains only part of its nominal rate (its power limit).
    let busy_cores: usize = (0..dies)
        .map(|d| {
            let (lo, hi) = range(d);
            (hi - lo).min(cores)
        })
        .sum();
    let derate = chip.cube_derate(busy_cores);
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
        // The blocks in waves over the die's cores; the cores busy at once share the die's memory time.
        let waves = crate::perf::Waves::of(tr.blocks, cores);
        let concurrency = waves.concurrency;
        cores_used += waves.units_used;
        // The share of the die's reads that miss L2 (served by HBM or over the link).
        let miss = if tr.reads > 0.0 {
            (tr.mem_reads / tr.reads).min(1.0)
        } else {
            0.0
        };
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
        l2_read_hit: traffic
            .iter()
            .filter(|tr| tr.blocks > 0 && tr.reads > 0.0)
            .map(|tr| tr.l2 / (tr.l2 + tr.mem_reads).max(1.0))
            .fold(1.0, f64::min),
        m_inner: traffic[0].m_inner,
    }
}

/// Base output tiles over all blocks (what a fine-grained timeline records).
fn total_tiles(t: &MatmulTiling) -> usize {
    let p = &t.problem;
    p.batch * p.m.div_ceil(t.base_m) * p.n.div_ceil(t.base_n)
}
