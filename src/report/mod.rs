//! Reports as library functions, so that a Rust or Python user gets what the CLI prints: one module per
//! command that computes (`op_run`, `matmul_run`, `predict_run`, `bert_run`, `cluster_run`, `collective_run`, `demo`,
//! `train_demo`, `info`, `validate_run`) and per listing (`chips`, `listing`), each returning a [`Report`]; and what they
//! share: text tables with units and JSON for predictions (`predict`) and cluster steps (`cluster`), timed
//! runs on the host (`runs`), the comparison of a GPU result with its CPU twin (`table::Comparison`), and
//! the ops by name (`ops`, `op_spec`). Long work reports through [`crate::progress::Progress`]. The CLI
//! only parses arguments, calls these and prints.

mod bert_input;
pub mod bert_run;
pub mod chips;
pub mod cluster;
pub mod cluster_run;
pub mod collective_run;
pub mod compare;
pub mod demo;
mod demo_report;
pub mod error_stats;
pub mod formats_models;
pub mod formats_plot;
pub mod formats_run;
pub mod gpu_predict;
pub mod headline;
pub mod info;
pub mod listing;
pub mod matmul_run;
pub mod onnx_info;
pub mod onnx_run;
pub mod op_run;
pub mod op_spec;
pub mod ops;
pub mod plots;
pub mod predict;
pub mod predict_run;
pub mod runs;
pub mod table;
pub mod train_demo;
pub mod validate_run;

pub use table::{Comparison, Table, fmt_bytes, fmt_gflops, fmt_ms, fmt_time};

/// A finished report: the JSON object and the table, and, when a promised check failed (GPU and CPU
/// disagree), the reason; the CLI prints the report either way and then fails.
pub struct Report {
    pub json: serde_json::Value,
    pub human: String,
    pub failure: Option<String>,
}
