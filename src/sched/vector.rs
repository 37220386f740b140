//! Timing of Vector-unit work (casts, elementwise ops, reductions, softmax, norms), as an Ascend C vector
//! kernel runs it: one block per vector core (SPMD), each looping over UB-sized chunks through CopyIn
//! (MTE2, GM -> UB) -> Compute (Vector) -> CopyOut (MTE3, UB -> GM), double-buffered so the three stages
//! overlap and the slowest sets the pace.
//!
//! An op is described by [`VectorWork`]: rows (the unit split across cores; an elementwise op has one
//! element per row), the bytes read and written in global memory, and the passes the Vector unit makes
//! over each element, each of a throughput class ([`VecClass`]) whose rate comes from the chip
//! (`vec_*_bytes_per_cycle`, msKPP figures). A pass's bytes per element are those of the operand stream
//! it reads (4 for f32 work), so a two-input op runs at half the element rate of a one-input op
//! (assumption: our reading of the profiled "input bytes per cycle").

use super::timeline::{CoreId, CoreKind, Lane, MAX_EVENTS_PER_OP};
use crate::chip::ChipSpec;
use crate::units::{Bytes, Nanos};

/// Throughput classes of the Vector unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum VecClass {
    /// One input: scalar add/mul, abs, relu, casts.
    OneInput,
    /// Two inputs: add, sub, mul, max, min, compare, select.
    TwoInput,
    /// f32 exp, ln, sqrt.
    Transcendental,
    /// Division.
    Div,
    /// Reduction along a row.
    Reduce,
}

impl VecClass {
    fn bytes_per_cycle(self, chip: &ChipSpec) -> f64 {
        match self {
            VecClass::OneInput => chip.vec_one_input_bytes_per_cycle.value,
            VecClass::TwoInput => chip.vec_two_input_bytes_per_cycle.value,
            VecClass::Transcendental => chip.vec_transcendental_bytes_per_cycle.value,
            VecClass::Div => chip.vec_div_bytes_per_cycle.value,
            VecClass::Reduce => chip.vec_reduce_bytes_per_cycle.value,
        }
    }
}

/// What a vector op asks of the hardware.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VectorWork {
    /// Units of work split across vector cores (rows of a row op; elements of an elementwise op).
    pub rows: usize,
    /// Elements per row (1 for elementwise ops).
    pub row_len: usize,
    /// Bytes read from global memory.
    pub bytes_in: Bytes,
    /// Bytes written to global memory.
    pub bytes_out: Bytes,
    /// Passes over every element: (class, bytes per element of the stream read).
    pub passes: Vec<(VecClass, f64)>,
}

impl VectorWork {
    pub fn elements(&self) -> f64 {
        self.rows as f64 * self.row_len as f64
    }

    /// Vector FLOPs: one per element per pass (an approximation; reductions and divisions count one).
    pub fn flops(&self) -> f64 {
        self.elements() * self.passes.len() as f64
    }
}

/// The plan and cost of one vector op.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct VectorEstimate {
    /// From the first CopyIn to the last CopyOut, launch overhead excluded.
    pub time: Nanos,
    /// Busiest vector core's time on each lane, and the busiest die's HBM time.
    pub vector: Nanos,
    pub mte2: Nanos,
    pub mte3: Nanos,
    pub hbm: Nanos,
    /// Vector-lane time summed over all cores (for utilisation).
    pub vector_total: Nanos,
    pub hbm_bytes: Bytes,
    pub cores_used: usize,
    /// Elements per UB chunk, and chunks on the busiest core.
    pub chunk_elems: usize,
    pub chunks: usize,
}

/// Bytes of f32 scratch in UB per element, for the computation's intermediate values (assumption: one
/// f32 working copy; real kernels vary).
const SCRATCH_BYTES: f64 = 4.0;

/// Predicts `w`; with a recorder, lays its intervals on the timeline.
pub fn estimate(
    chip: &ChipSpec,
    w: &VectorWork,
    mut rec: Option<super::matmul::Recorder<'_>>,
) -> VectorEstimate {
    let dies = chip.dies();
    let per_die = chip.vector_cores_per_die();
    let elements = w.elements().max(1.0);
    let (in_pe, out_pe) = (w.bytes_in.0 / elements, w.bytes_out.0 / elements);
    // UB holds two chunks of input and output (double buffering) and the scratch.
    let ub = ChipSpec::kib(&chip.ub_kib).0;
    let fit = ((ub / (2.0 * (in_pe + out_pe) + SCRATCH_BYTES)).floor() as usize).max(1);
    // A row op takes whole rows per chunk when one fits (a longer row goes through UB in pieces;
    // assumption: its statistics are kept across the pieces, so it is still read once).
    let chunk_elems = if w.row_len > 1 && w.row_len <= fit {
        fit / w.row_len * w.row_len
    } else {
        fit
    };
    let cycles_pe: f64 = w
        .passes
        .iter()
        .map(|(c, bytes)| bytes / c.bytes_per_cycle(chip))
        .sum();
    let clock = chip.clock();
    let port_in = chip.per_cycle(chip.mte2_ub_bytes_per_cycle.value);
    let port_out = chip.per_cycle(chip.mte3_bytes_per_cycle.value);
    let hbm_bw = chip.hbm_achievable_per_die();
    // Each line written is also read first where the L2 allocates on a write miss.
    let write_cost = chip.hbm_write_cost.value;
    let fine = (w.rows * w.row_len).div_ceil(chunk_elems) * 3 <= MAX_EVENTS_PER_OP;

    let mut out = VectorEstimate {
        time: Nanos::ZERO,
        vector: Nanos::ZERO,
        mte2: Nanos::ZERO,
        mte3: Nanos::ZERO,
        hbm: Nanos::ZERO,
        vector_total: Nanos::ZERO,
        hbm_bytes: w.bytes_in + w.bytes_out * write_cost,
        cores_used: 0,
        chunk_elems,
        chunks: 0,
    };
    for d in 0..dies {
        // Each die takes a contiguous share of the rows, whose data it holds (assumption, as for matmul).
        let rows_d = (d + 1) * w.rows / dies - d * w.rows / dies;
        if rows_d == 0 {
            continue;
        }
        let active = rows_d.min(per_die);
        out.cores_used += active;
        let die_bytes = (in_pe + out_pe * write_cost) * (rows_d * w.row_len) as f64;
        let die_mem = Bytes(die_bytes) / hbm_bw;
        out.hbm = out.hbm.max(die_mem);
        // The busiest core's elements; the die's memory time is shared by its cores in that proportion
        // (the average number busy at once is the die's elements over the busiest core's).
        let max_elems = rows_d.div_ceil(active) * w.row_len;
        let mem_pe = die_mem / max_elems as f64;
        let in_share = if in_pe + out_pe > 0.0 {
            in_pe / (in_pe + out_pe * write_cost)
        } else {
            0.0
        };
        // Per-element stage times; a core's time is its elements at the pace of the slowest stage, plus
        // the other stages of one chunk to fill and drain the pipeline.
        let ci_e = (Bytes(in_pe) / port_in).max(mem_pe * in_share);
        let co_e = (Bytes(out_pe) / port_out).max(mem_pe * (1.0 - in_share));
        let v_e = clock.cycles(cycles_pe);
        let pace_e = ci_e.max(v_e).max(co_e);
        let fill_e = ci_e + v_e + co_e - pace_e;
        for core in 0..active {
            let rows_c = (core + 1) * rows_d / active - core * rows_d / active;
            let elems = rows_c * w.row_len;
            if elems == 0 {
                continue;
            }
            let chunks = elems.div_ceil(chunk_elems);
            let n = elems as f64;
            let time = pace_e * n + fill_e * elems.min(chunk_elems) as f64;
            out.time = out.time.max(time.max(die_mem));
            out.vector = out.vector.max(v_e * n);
            out.mte2 = out.mte2.max(ci_e * n);
            out.mte3 = out.mte3.max(co_e * n);
            out.vector_total += v_e * n;
            out.chunks = out.chunks.max(chunks);
            if let Some(r) = rec.as_mut() {
                let id = CoreId {
                    die: d,
                    kind: CoreKind::Aiv,
                    index: core,
                };
                // Chunk i starts one full chunk's pace after chunk i-1; the last may be partial.
                let full = chunk_elems.min(elems) as f64;
                let (count, step) = if fine {
                    (chunks, pace_e * full)
                } else {
                    (1, Nanos::ZERO)
                };
                for i in 0..count {
                    let ce = if fine {
                        (elems - i * chunk_elems).min(chunk_elems) as f64
                    } else {
                        n
                    };
                    let s = r.start + step * i as f64;
                    let tl = &mut *r.timeline;
                    tl.push(id, Lane::Mte2, s, ci_e * ce, r.op, "CopyIn");
                    tl.push(id, Lane::Vector, s + ci_e * full, v_e * ce, r.op, "compute");
                    tl.push(
                        id,
                        Lane::Mte3,
                        s + (ci_e + v_e) * full,
                        co_e * ce,
                        r.op,
                        "CopyOut",
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast_work(n: usize) -> VectorWork {
        VectorWork {
            rows: n,
            row_len: 1,
            bytes_in: Bytes(4.0 * n as f64),
            bytes_out: Bytes(2.0 * n as f64),
            passes: vec![(VecClass::OneInput, 4.0)],
        }
    }

    #[test]
    fn a_large_cast_is_memory_bound_and_above_the_roofline() {
        let chip = ChipSpec::default_chip();
        let n = 1 << 28;
        let e = estimate(&chip, &cast_work(n), None);
        // 4 bytes in, 2 out (and read first by the write-allocate L2), at the achievable HBM rate.
        let floor = Bytes((4.0 + 2.0 * chip.hbm_write_cost.value) * n as f64)
            / chip.hbm_achievable_per_die()
            / 2.0;
        assert!(e.time.0 >= floor.0, "{:?} < {:?}", e.time, floor);
        assert!(e.time.0 < 1.2 * floor.0, "{:?} vs {:?}", e.time, floor);
        assert!(
            e.time.0 >= (Bytes(6.0 * n as f64) / chip.hbm_bw()).0,
            "above the nominal roofline"
        );
        assert!(e.vector.0 < e.time.0);
    }

    #[test]
    fn the_timeline_has_no_overlap_within_a_lane() {
        use super::super::timeline::Timeline;
        let chip = ChipSpec::default_chip();
        let mut tl = Timeline::default();
        let rec = super::super::matmul::Recorder {
            timeline: &mut tl,
            start: Nanos(0.0),
            op: 0,
        };
        estimate(&chip, &cast_work(1 << 22), Some(rec));
        assert!(!tl.events.is_empty());
        assert!(tl.max_lane_overlap().0 <= 1e-6);
    }
}
