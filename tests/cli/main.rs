//! The `davinci` binary: every subcommand's output contract, and the hostile-input suites (files,
//! configs, arguments) that must end in a clear error, never a panic.
//!
//! One test binary per suite (cargo builds and links each once); each file below was its own binary.

#[path = "../cli_common/mod.rs"]
mod cli_common;
#[path = "../common/mod.rs"]
mod common;
#[path = "../hostile_common/mod.rs"]
mod hostile_common;

mod cli;
mod cli_bert;
mod cli_demo;
mod cli_formats;
mod cli_op_errors;
mod cli_run;
mod cli_train;
mod cli_vector;
mod cluster_cli;
mod collective_cli;
mod hostile_args;
mod hostile_configs;
mod hostile_files;
mod plots_cli;
mod timing_cli;
