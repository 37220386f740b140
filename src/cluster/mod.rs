//! Scale-out by counting devices: how long one training step, prefill or decode step of a transformer takes
//! on N Ascend chips wired as a cluster (CloudMatrix 384 by default), with a given parallel plan, and where
//! the time goes.
//!
//! - [`topology`]: [`ClusterSpec`], tiers of links, ranks per chip or per die; [`presets`]
//!   (`cloudmatrix384`, `atlas800-a2`) and [`file`] (custom clusters from TOML).
//! - [`collectives`]: cost models of all-reduce (ring, direct, halving-doubling, hierarchical), all-gather,
//!   reduce-scatter, all-to-all, MoE dispatch and combine.
//! - [`moe_kernel`]: MoE dispatch and combine as DeepEP-Ascend's kernels (messages per routed pair, INT8
//!   quantisation on the Vector unit, flags, the receive copy or the weighted sum).
//! - [`models`]: [`ModelSpec`] (LLaMA-3 8B/70B, BERT-base, MiniLM, DeepSeek-V3); [`model_file`] (TOML/JSON).
//! - [`routing`]: how a MoE router spreads tokens over the experts (balanced, Zipf, a histogram).
//! - [`plan`]: [`Plan`] (dp, tp, pp, ep, micro-batches, recompute, ZeRO, sequence parallelism, gradient
//!   accumulation) and [`Workload`]; [`zero`]: ZeRO-3's per-micro-batch gathers and the accumulation pass.
//! - [`work`]: the per-rank kernels and collectives of each layer; [`kernel`] times each distinct kernel
//!   with [`crate::sched::predict`]; [`timing`] times a layer's steps.
//! - [`memory`]: HBM per rank, and whether a plan fits.
//! - [`step`]: roles, the pipeline, the step time and its breakdown, MFU, tokens/s, energy
//!   ([`prediction`] holds the result types).
//! - [`sweep`]: every plan that fits, ranked.
//! - [`trace`]: a Chrome trace with one track per role and the collectives on it.
//! - [`execute`]: tensor-parallel shards of an encoder layer really run on the host and checked against the
//!   unsharded layer.

pub mod collectives;
pub mod execute;
pub mod file;
pub mod kernel;
mod layer_ops;
pub mod memory;
pub mod model_file;
pub mod model_presets;
pub mod models;
pub mod moe_kernel;
pub mod plan;
pub mod prediction;
pub mod presets;
pub mod presets_gpu;
pub mod quant;
pub mod routing;
pub mod step;
pub mod sweep;
pub mod timing;
pub mod topology;
pub mod trace;
pub mod work;
mod work_attn;
pub mod zero;

pub use models::ModelSpec;
pub use plan::{Plan, Workload};
pub use step::{StepPrediction, Timers, predict_step, predict_step_with};
pub use topology::{ClusterSpec, RankUnit};
