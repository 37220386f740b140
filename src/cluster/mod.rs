//! Scale-out by counting devices: how long one training step, prefill or decode step of a transformer takes
//! on N Ascend chips wired as a cluster (CloudMatrix 384 by default), with a given parallel plan, and where
//! the time goes.
//!
//! - [`topology`]: [`ClusterSpec`] (presets `cloudmatrix384`, `atlas800-a2`, TOML files), tiers of links.
//! - [`collectives`]: cost models of all-reduce (ring, direct, halving-doubling, hierarchical), all-gather,
//!   reduce-scatter, all-to-all, MoE dispatch and combine.
//! - [`models`]: [`ModelSpec`] (LLaMA-3 8B/70B, BERT-base, MiniLM, DeepSeek-V3; TOML/JSON files).
//! - [`plan`]: [`Plan`] (dp, tp, pp, ep, micro-batches, recompute, ZeRO) and [`Workload`].
//! - [`work`]: the per-rank kernels and collectives of each layer, timed with [`crate::sched::predict`].
//! - [`memory`]: HBM per rank, and whether a plan fits.
//! - [`step`]: roles, the pipeline, the step time and its breakdown, MFU, tokens/s, energy.
//! - [`sweep`]: every plan that fits, ranked.
//! - [`trace`]: a Chrome trace with one track per role and the collectives on it.
//! - [`execute`]: tensor-parallel shards of an encoder layer really run on the host and checked against the
//!   unsharded layer.

pub mod collectives;
pub mod execute;
pub mod memory;
pub mod models;
pub mod plan;
pub mod step;
pub mod sweep;
pub mod topology;
pub mod trace;
pub mod work;

pub use models::ModelSpec;
pub use plan::{Plan, Workload};
pub use step::{StepPrediction, Timers, predict_step, predict_step_with};
pub use topology::{ClusterSpec, RankUnit};
