//! Timing of a fused attention kernel: FlashAttention as Ascend's `FlashAttentionScore` and the
//! hand-written kernels of pto-isa run it on a 910B/910C, where the Cube and the Vector unit sit in
//! separate cores and hand tiles to each other through global memory (L2).
//!
//! The work is split into tasks of `Bq` query rows of one head; each die takes a contiguous share of the
//! tasks and its AI cores take them in turn. A task walks the key/value blocks of `Bk` columns (only
//! those at or left of the diagonal when causal); for each block:
//!
//! - the AI core (Cube) brings K and V of the block and the probabilities P of the previous block into L1
//!   (MTE2), computes `S = Q K^T` and `O += P V` (two matmuls), and FixPipe writes S (f32) and the
//!   partial O (f32) to global memory;
//! - its two vector cores each take half the rows: read S and the partial O (MTE2, GM -> UB), scale, keep a
//!   running row maximum and sum, subtract, exponentiate, cast P to 16 bits and write it (MTE3), and
//!   rescale the output accumulator.
//!
//! Each hand-off between the sides costs the chip's cross-core synchronisation; the pipeline hides it
//! except at a task's start and end (three per task).
//! The two sides work on neighbouring blocks at once (the kernel's software pipeline), so a block costs
//! the slower side, plus one block of each side per task to fill and drain the pipeline. Within a vector
//! core a block's copy in, compute and copy out follow each other: the scores of a block exist only once
//! the Cube has made them, so there is nothing to fetch ahead. The die's L2 serves
//! every tile that crosses between the cores; HBM serves Q, K, V once (assumption: a head's K and V stay in
//! L2 while its tasks run, as tasks are ordered head by head) and the output. Rates are the chip's: the
//! Cube's (with its sustained share and mmad costs), MTE2/MTE3/FixPipe ports, the vector classes.
//!
//! Assumptions, each named: `Bq = 128` (one L0C tile of rows) and `Bk = 256` (a 64 x 256 f32 score tile
//! per vector core, double-buffered, fits its 192 KiB UB); the running maximum and sum are taken with
//! elementwise max/add over the block (two-input rate) and a negligible final reduction per row.

use super::Resource;
use crate::chip::ChipSpec;
use crate::program::CubeFormat;
use crate::units::{Bytes, Flops, Nanos};
use crate::{Error, Result};

/// Query rows per task (assumption: one L0C tile of rows).
pub const BLOCK_Q: usize = 128;
/// Key/value columns per block (assumption: what two vector cores' UBs hold double-buffered).
pub const BLOCK_KV: usize = 256;

/// One fused attention: `heads` independent (batch x head) problems of `sq` queries over `skv` keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FlashProblem {
    pub heads: usize,
    pub sq: usize,
    pub skv: usize,
    /// Head dimension of Q and K.
    pub d: usize,
    /// Head dimension of V (and of the output).
    pub dv: usize,
    /// Queries see only keys at or before their position (the last `sq` of `skv`).
    pub causal: bool,
}

impl FlashProblem {
    /// FLOPs of the two matmuls over the blocks computed (causal: the lower triangle only).
    pub fn flops(&self) -> Flops {
        let pairs = self.pairs();
        Flops(2.0 * pairs * (self.d + self.dv) as f64 * self.heads as f64)
    }

    /// Query-key pairs scored per head.
    fn pairs(&self) -> f64 {
        (0..self.sq.div_ceil(BLOCK_Q))
            .map(|i| {
                let rows = BLOCK_Q.min(self.sq - i * BLOCK_Q);
                (rows * self.visible(i)) as f64
            })
            .sum()
    }

    /// Keys a task of query block `i` visits.
    fn visible(&self, i: usize) -> usize {
        if self.causal {
            let last_q = (i * BLOCK_Q + BLOCK_Q).min(self.sq);
            (self.skv - self.sq + last_q).min(self.skv)
        } else {
            self.skv
        }
    }

    fn check(&self) -> Result<()> {
        let dims = [self.heads, self.sq, self.skv, self.d, self.dv];
        if dims.contains(&0) || self.sq > self.skv && self.causal {
            return Err(Error::shape(
                "flash_attention",
                format!(
                    "heads {} x queries {} x keys {} with head dims {}/{} (causal {}): every size must be at \
                     least 1, and a causal attention has at least as many keys as queries",
                    self.heads, self.sq, self.skv, self.d, self.dv, self.causal
                ),
            ));
        }
        let work = self.heads as f64 * self.sq as f64 * self.skv as f64;
        if work > 1e18 {
            return Err(Error::shape(
                "flash_attention",
                format!("{work:e} query-key pairs is beyond what the model times"),
            ));
        }
        Ok(())
    }
}

/// The prediction for one fused attention.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FlashEstimate {
    /// Launch overhead included.
    pub time: Nanos,
    pub flops: Flops,
    pub hbm_bytes: Bytes,
    pub l2_bytes: Bytes,
    /// Busy time of each side on the busiest core, and of the die's L2 and HBM.
    pub resources: Vec<(Resource, Nanos)>,
    pub bound: Resource,
    pub tasks: usize,
    pub cores_used: usize,
}

/// Predicts `p` on `chip`.
pub fn predict_flash(chip: &ChipSpec, p: &FlashProblem) -> Result<FlashEstimate> {
    chip.validate()?;
    p.check()?;
    let clock = chip.clock();
    let (dies, cores) = (chip.dies(), chip.cube_cores_per_die());
    let blocks_q = p.sq.div_ceil(BLOCK_Q);
    let tasks = p.heads * blocks_q;
    let busy_cores: usize = (0..dies)
        .map(|d| ((d + 1) * tasks / dies - d * tasks / dies).min(cores))
        .sum();
    let derate = chip.cube_derate(busy_cores);
    let fmt = CubeFormat::Fp16;
    let fractal = (16 * 16 * fmt.c0()) as f64 / chip.cube_macs(fmt);
    let vec = |bytes: f64, rate: &crate::chip::Sourced| bytes / rate.value;
    let combined = chip.combined_cores();
    let per_core = (chip.vector_cores_per_die() as f64 / cores as f64).max(1.0);
    // One block of `r` rows and `c` columns: (AI core cycles, one vector core's cycles, L2 bytes).
    let block = |r: usize, c: usize| {
        let f16 = |x: usize| x.div_ceil(16) as f64;
        let fr = f16(r) * f16(c) * (f16(p.d) + f16(p.dv));
        let mmads = (p.d.div_ceil(64) + c.div_ceil(64)) as f64;
        let cube = fr * fractal / derate
            + mmads * chip.mmad_issue_cycles.value
            + 2.0 * chip.mmad_latency_cycles.value;
        let (rf, cf) = (r as f64, c as f64);
        let l1_in = cf * (p.d + p.dv) as f64 * 2.0 + rf * cf * 2.0;
        let mte2 = l1_in / chip.mte2_bytes_per_cycle.value;
        let fix = (rf * cf + rf * p.dv as f64) * 4.0 / chip.fixpipe_bytes_per_cycle.value;
        let aic = cube.max(mte2).max(fix);
        // The task's rows are split over the AI core's vector cores (two on 910B/910C, one on the 910).
        let share = rf / per_core;
        let e = share * cf;
        let o = share * p.dv as f64;
        let ub_in = (e + o) * 4.0 / chip.mte2_ub_bytes_per_cycle.value;
        let compute = vec(4.0 * e, &chip.vec_one_input_bytes_per_cycle) * 2.0
            + vec(4.0 * e, &chip.vec_two_input_bytes_per_cycle) * 3.0
            + vec(4.0 * e, &chip.vec_transcendental_bytes_per_cycle)
            + vec(4.0 * o, &chip.vec_two_input_bytes_per_cycle) * 2.0;
        let ub_out = 2.0 * e / chip.mte3_bytes_per_cycle.value;
        // A block's scores arrive only once the Cube has made them, so the vector core cannot fetch ahead:
        // its copy in, compute and copy out follow each other within a block.
        let aiv = ub_in + compute + ub_out;
        let l2 = l1_in + (rf * cf + rf * p.dv as f64) * 4.0;
        (aic, aiv, l2, cube, compute)
    };
    let sync = Nanos(chip.cross_core_sync_us.value * 1e3);
    let l2_bw = chip.l2_bw_per_die();
    let hbm_bw = chip.hbm_achievable_per_die();
    let mut worst = Nanos::ZERO;
    let (mut busy_cube, mut busy_vec, mut busy_l2, mut busy_hbm) =
        (Nanos::ZERO, Nanos::ZERO, Nanos::ZERO, Nanos::ZERO);
    let (mut hbm_total, mut l2_total) = (0.0, 0.0);
    for d in 0..dies {
        let (lo, hi) = (d * tasks / dies, (d + 1) * tasks / dies);
        let mut core_time = vec![Nanos::ZERO; cores];
        let mut core_cube = vec![Nanos::ZERO; cores];
        let mut core_vec = vec![Nanos::ZERO; cores];
        let mut l2 = 0.0;
        let mut heads_seen = std::collections::HashSet::new();
        for task in lo..hi {
            let (head, i) = (task / blocks_q, task % blocks_q);
            heads_seen.insert(head);
            let rows = BLOCK_Q.min(p.sq - i * BLOCK_Q);
            let keys = p.visible(i);
            let (full, rest) = (keys / BLOCK_KV, keys % BLOCK_KV);
            let (mut t, mut cube, mut vector) = (0.0, 0.0, 0.0);
            let mut fill = 0.0f64;
            for (n, c) in [(full, BLOCK_KV), (usize::from(rest > 0), rest)] {
                if n == 0 || c == 0 {
                    continue;
                }
                let (aic, aiv, bytes, cu, ve) = block(rows, c);
                // Combined cores (the 910) cannot overlap the Cube's and the Vector unit's blocks.
                t += n as f64 * if combined { aic + aiv } else { aic.max(aiv) };
                // The first block's scores come before any vector work, the last block's P V after it.
                fill = fill.max(aic + aiv);
                cube += n as f64 * cu;
                vector += n as f64 * ve;
                l2 += n as f64 * bytes;
            }
            let core = (task - lo) % cores;
            // Three hand-offs through global memory lie on the task's critical path outside the pipeline's
            // steady state: the first scores to the vector cores, the first P back, the output at the end.
            core_time[core] += clock.cycles(t + fill) + sync * 3.0;
            core_cube[core] += clock.cycles(cube);
            core_vec[core] += clock.cycles(vector);
        }
        // Q and the output once per task's rows; K and V once per head.
        let per_head = (p.skv * (p.d + p.dv)) as f64 * 2.0;
        let rows = ((hi - lo) as f64 / blocks_q as f64) * p.sq as f64;
        let hbm = heads_seen.len() as f64 * per_head
            + rows * p.d as f64 * 2.0
            + rows * p.dv as f64 * 2.0 * chip.hbm_write_cost.value;
        let die_l2 = Bytes(l2) / l2_bw;
        let die_hbm = Bytes(hbm) / hbm_bw;
        let slowest = core_time.iter().fold(Nanos::ZERO, |a, &b| a.max(b));
        worst = worst.max(slowest).max(die_l2).max(die_hbm);
        busy_cube = busy_cube.max(core_cube.iter().fold(Nanos::ZERO, |a, &b| a.max(b)));
        busy_vec = busy_vec.max(core_vec.iter().fold(Nanos::ZERO, |a, &b| a.max(b)));
        busy_l2 = busy_l2.max(die_l2);
        busy_hbm = busy_hbm.max(die_hbm);
        hbm_total += hbm;
        l2_total += l2;
    }
    let launch = chip.launch_overhead();
    let resources = vec![
        (Resource::Launch, launch),
        (Resource::Cube, busy_cube),
        (Resource::Vector, busy_vec),
        (Resource::L2, busy_l2),
        (Resource::Hbm, busy_hbm),
    ];
    Ok(FlashEstimate {
        time: worst + launch,
        flops: p.flops(),
        hbm_bytes: Bytes(hbm_total),
        l2_bytes: Bytes(l2_total),
        bound: super::binding(&resources),
        resources,
        tasks,
        cores_used: busy_cores,
    })
}
