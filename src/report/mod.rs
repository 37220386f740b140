//! Reports as library functions, so that a Rust or Python user gets what the CLI prints: text tables
//! with units and JSON objects for predictions (`predict`) and cluster steps (`cluster`), the comparison of
//! a GPU result with its CPU twin (`table::Comparison`), and the Vector ops by name (`ops`). The CLI
//! only parses arguments, calls these and prints.

mod bert_input;
pub mod bert_run;
pub mod chips;
pub mod cluster;
pub mod cluster_run;
pub mod demo;
mod demo_report;
pub mod info;
pub mod listing;
pub mod matmul_run;
pub mod op_run;
pub mod op_spec;
pub mod ops;
pub mod predict;
pub mod predict_run;
pub mod runs;
pub mod table;
pub mod train_demo;

pub use table::{Comparison, Table, fmt_bytes, fmt_gflops, fmt_ms, fmt_time};

/// A finished report: the JSON object and the table, and, when a promised check failed (GPU and CPU
/// disagree), the reason; the CLI prints the report either way and then fails.
pub struct Report {
    pub json: serde_json::Value,
    pub human: String,
    pub failure: Option<String>,
}
