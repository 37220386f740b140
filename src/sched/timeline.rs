//! The per-core timeline of a prediction: busy intervals on the lanes of each core. A Cube core (AIC) has
//! the lanes MTE2, MTE1, Cube and FixPipe; a Vector core (AIV) has MTE2 (CopyIn), Vector and MTE3
//! (CopyOut). Each interval is the time a lane is busy, placed at the start of the window in which the
//! pipeline gives it that work, so intervals within one lane never overlap. Kernel spans (one per op,
//! launch overhead included) sit on a lane of their own per die.

use crate::units::Nanos;

/// The lanes of a core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Lane {
    Mte2,
    Mte1,
    Cube,
    FixPipe,
    Vector,
    Mte3,
}

impl Lane {
    pub const ALL: [Lane; 6] = [
        Lane::Mte2,
        Lane::Mte1,
        Lane::Cube,
        Lane::FixPipe,
        Lane::Vector,
        Lane::Mte3,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lane::Mte2 => "MTE2",
            Lane::Mte1 => "MTE1",
            Lane::Cube => "Cube",
            Lane::FixPipe => "FixPipe",
            Lane::Vector => "Vector",
            Lane::Mte3 => "MTE3",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which kind of core a lane belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum CoreKind {
    /// A Cube core (the AI core's AIC).
    Aic,
    /// A Vector core (AIV), two per AI core.
    Aiv,
}

impl CoreKind {
    pub fn name(self) -> &'static str {
        match self {
            CoreKind::Aic => "aic",
            CoreKind::Aiv => "aiv",
        }
    }
}

/// A core of the package: its die, its kind and its index on that die.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct CoreId {
    pub die: usize,
    pub kind: CoreKind,
    pub index: usize,
}

/// One busy interval on one lane.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Event {
    pub core: CoreId,
    pub lane: Lane,
    pub start: Nanos,
    pub dur: Nanos,
    /// Index of the op in the program.
    pub op: usize,
    /// What the lane does, e.g. "A+B tiles" or "block 3 tile (0,1)".
    pub label: &'static str,
}

/// One op's span on the package, launch overhead included.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct KernelSpan {
    pub op: usize,
    pub kernel: &'static str,
    pub start: Nanos,
    pub dur: Nanos,
    pub launch: Nanos,
    pub bound: &'static str,
}

/// Every interval of a prediction.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Timeline {
    pub dies: usize,
    pub events: Vec<Event>,
    pub kernels: Vec<KernelSpan>,
}

/// The most intervals the scheduler records per op before it coarsens to one interval per block (or per
/// core) and lane: enough for any trace viewer, small enough to stay quick.
pub const MAX_EVENTS_PER_OP: usize = 40_000;

impl Timeline {
    /// Adds an interval, skipping empty ones.
    pub fn push(
        &mut self,
        core: CoreId,
        lane: Lane,
        start: Nanos,
        dur: Nanos,
        op: usize,
        label: &'static str,
    ) {
        if dur.0 > 0.0 {
            self.events.push(Event {
                core,
                lane,
                start,
                dur,
                op,
                label,
            });
        }
    }

    /// The largest overlap between two intervals of one lane (zero when the timeline is well formed).
    pub fn max_lane_overlap(&self) -> Nanos {
        let mut by_lane: std::collections::HashMap<(CoreId, Lane), Vec<(f64, f64)>> =
            std::collections::HashMap::new();
        for e in &self.events {
            by_lane
                .entry((e.core, e.lane))
                .or_default()
                .push((e.start.0, e.start.0 + e.dur.0));
        }
        let mut worst = 0f64;
        for v in by_lane.values_mut() {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            for w in v.windows(2) {
                worst = worst.max(w[0].1 - w[1].0);
            }
        }
        Nanos(worst)
    }
}
