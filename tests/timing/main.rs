//! The timing model: per-op predictions, its invariants, and the cluster model (specs, steps,
//! collectives, the tensor-parallel execution).
//!
//! One test binary per suite (cargo builds and links each once); each file below was its own binary.

#[path = "../common/mod.rs"]
mod common;

mod cluster_collectives;
mod cluster_execute;
mod cluster_spec;
mod cluster_step;
mod cube_formats;
mod gpu_systems;
mod gpu_timing;
mod launch_mode;
mod mechanisms;
mod moe_kernel;
mod serde_out;
mod timing_invariants;
mod timing_ops;
mod train_mechanisms;
mod validation;
