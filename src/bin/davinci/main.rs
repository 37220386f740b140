//! `davinci`: the command-line face of the emulator, kept thin over the library.
//!
//! - `davinci demo` runs a LLaMA-3 8B decoder layer, checks it against the CPU twin and predicts it on a 910C.
//! - `davinci info` describes the GPU adapter, its limits that matter, the start-up numerics probe and the
//!   executor that `--executor auto` will use.
//! - `davinci matmul M K N` times one `cube_matmul` on random bf16 inputs and, with `--executor both`,
//!   checks that GPU and CPU agree bit for bit.
//! - `davinci op <OP> --in FILE --out FILE` runs one op on tensors from a safetensors file.
//! - `davinci chips` lists the chip presets; `davinci predict matmul|op` predicts an op's time on one.
//! - `davinci validate` holds the timing model against published measurements.
//!
//! Output contract: with `--json`, stdout holds exactly one JSON object (the report) and nothing else;
//! without it, a short table. Notices, progress and errors go to stderr. Exit codes: 0 ok, 1 a runtime
//! failure or a GPU/CPU mismatch (the report is still printed), 2 a usage error. On an error without a
//! report, stdout stays empty.

mod bert;
mod cluster;
mod collective;
mod common;
mod compare;
mod demo;
mod formats;
mod info;
mod lists;
mod matmul;
mod op;
mod predict;
mod run;
mod train_demo;
mod validate;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::{CliError, Outcome};

/// Emulates Huawei's DaVinci AI core (Ascend 910C) on the host's GPU, with a bit-identical CPU twin.
#[derive(Parser, Debug)]
#[command(name = "davinci", version, about, propagate_version = true)]
struct Cli {
    /// Print exactly one JSON object on stdout instead of a table (notices still go to stderr).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The main job: a LLaMA-3 8B decoder layer on the best executor, checked against the CPU twin, with
    /// its 910C prediction, a table of ops and a trace file.
    Demo(demo::DemoArgs),
    /// What each number format (bf16, fp16, W8A8, fp8, stochastic rounding) does to a decoder layer's
    /// output against f32, and to its predicted 910C time, energy and weight memory.
    Formats(formats::FormatsArgs),
    /// Describe the GPU adapter, its limits, its f32 numerics and the executor `auto` will use.
    Info(info::InfoArgs),
    /// Time one cube_matmul on random bf16 inputs (and compare GPU with CPU using `--executor both`).
    Matmul(matmul::MatmulArgs),
    /// Run one op on tensors read from a safetensors file and write the result to another.
    Op(op::OpArgs),
    /// List the chip presets with their peak figures, or show one chip's fields and sources.
    Chips(lists::ListArgs),
    /// Predict how long an op takes on an Ascend chip (910C by default) or an NVIDIA GPU, and why.
    Predict(predict::PredictArgs),
    /// List the cluster presets with their totals, or show one cluster's fields and sources.
    Clusters(lists::ListArgs),
    /// List the model descriptions the cluster model knows, or show one.
    Models(lists::ListArgs),
    /// Predict a training, prefill or decode step of a model on a cluster with a parallel plan.
    Cluster(cluster::ClusterArgs),
    /// Compare one workload of a model on several systems (CloudMatrix 384, H800, GB200 NVL72, ...).
    Compare(compare::CompareArgs),
    /// Time one collective (all-reduce, all-to-all, MoE dispatch, ...) on a cluster, with nccl-tests' bandwidths.
    Collective(collective::CollectiveArgs),
    /// Run a BERT encoder (e.g. all-MiniLM-L6-v2) from token ids to the sentence embedding, stage by stage.
    Bert(bert::BertArgs),
    /// Train a 2-layer decoder (hidden 128) to copy token sequences, loss per step, predicted step time.
    TrainDemo(train_demo::TrainDemoArgs),
    /// Hold the timing model against published measurements of Ascend hardware, row by row.
    Validate(validate::ValidateArgs),
    /// Run an ONNX graph on the emulator (its dense ops for now), or list what it holds with --info.
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Formats(args) => formats::run(args),
        Command::Info(args) => info::run(args),
        Command::Matmul(args) => matmul::run(args),
        Command::Op(args) => op::run(args),
        Command::Chips(args) => lists::chips(args),
        Command::Predict(args) => predict::run(args),
        Command::Clusters(args) => lists::clusters(args),
        Command::Models(args) => lists::models(args),
        Command::Cluster(args) => cluster::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Collective(args) => collective::run(args),
        Command::Bert(args) => bert::run(args),
        Command::TrainDemo(args) => train_demo::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(outcome) => finish(outcome, cli.json),
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Prints the report on stdout (JSON or table) and, for a failed check, the reason on stderr.
fn finish(outcome: Outcome, json: bool) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let text = if json {
        // A serde_json::Value always serialises.
        serde_json::to_string_pretty(&outcome.json).unwrap_or_else(|_| "{}".to_string())
    } else {
        outcome.human.trim_end().to_string()
    };
    if let Err(e) = writeln!(stdout, "{text}").and_then(|_| stdout.flush()) {
        // A closed pipe (e.g. `| head`) is not worth a panic; say so and fail.
        let e = CliError::runtime(format!("cannot write the report to stdout: {e}"));
        eprintln!("error: {}", e.message);
        return ExitCode::from(e.code);
    }
    match outcome.failure {
        None => ExitCode::SUCCESS,
        Some(reason) => {
            eprintln!("error: {reason}");
            ExitCode::from(common::EXIT_RUNTIME)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
