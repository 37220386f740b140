//! Mechanisms the Ascend and GPU timing models share, in one place with neutral names. A *unit* is what
//! runs one output tile at a time (an AI core's Cube, a GPU's SM); a *tile* is the block of a matmul's
//! output one unit computes (a single-core block of Ascend C's `TCubeTiling`, a CUDA thread block's CTA
//! tile); a *wave* is one round of tiles over every unit. Each model keeps its own terms above this
//! module (`sched` in Ascend terms, `gpu` in GPU terms).

use crate::units::{Bytes, BytesPerSec, Flops, FlopsPerSec, Nanos};

/// `tiles` spread over `units`, each unit taking one tile at a time.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Waves {
    pub tiles: usize,
    pub units: usize,
    /// Rounds of tiles: the last one is partial unless `tiles` is a multiple of `units`.
    pub waves: usize,
    /// Units busy at once, on average over the waves (they share the chip's memory time).
    pub concurrency: f64,
    /// Units that take any tile at all.
    pub units_used: usize,
}

impl Waves {
    pub fn of(tiles: usize, units: usize) -> Waves {
        let units = units.max(1);
        let waves = tiles.div_ceil(units).max(1);
        Waves {
            tiles,
            units,
            waves,
            concurrency: tiles as f64 / waves as f64,
            units_used: tiles.min(units),
        }
    }

    /// Busy unit-time over available unit-time: what wave quantisation leaves of the units.
    pub fn occupancy(&self) -> f64 {
        self.tiles as f64 / (self.waves * self.units) as f64
    }
}

/// The share of its nominal rate each unit keeps with `busy` of `all` units at work, where with every
/// unit busy the chip sustains `sustained` of its nominal clock: linear in the share busy (assumption: the
/// power that limits the clock grows with the busy units).
pub fn power_derate(sustained: f64, busy: usize, all: usize) -> f64 {
    1.0 - (1.0 - sustained) * (busy as f64 / all.max(1) as f64).min(1.0)
}

/// The roofline's lower bound on an op: its FLOPs at the peak rate, or its bytes at the memory's
/// bandwidth, whichever is longer. No schedule can beat it.
pub fn roofline(flops: Flops, peak: FlopsPerSec, bytes: Bytes, bw: BytesPerSec) -> Nanos {
    let compute = if peak.0 > 0.0 {
        flops / peak
    } else {
        Nanos::ZERO
    };
    let memory = if bw.0 > 0.0 { bytes / bw } else { Nanos::ZERO };
    Nanos(compute.0.max(memory.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_quantise_and_count_the_busy_units() {
        let w = Waves::of(133, 132);
        assert_eq!((w.waves, w.units_used), (2, 132));
        assert!((w.occupancy() - 133.0 / 264.0).abs() < 1e-12);
        let w = Waves::of(0, 8);
        assert_eq!((w.waves, w.units_used), (1, 0));
        assert!((power_derate(0.8, 4, 8) - 0.9).abs() < 1e-12);
    }
}
