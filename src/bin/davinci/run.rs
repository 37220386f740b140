//! `davinci run MODEL.onnx --info`: describes an ONNX model ([`davinci::report::onnx_info`]). Running
//! the graph itself needs the lowering into a Program, which is not built yet; without `--info` the
//! command says so.

use std::path::PathBuf;

use clap::Args;

use crate::common::{CliError, Outcome};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The ONNX model (.onnx; external data files beside it).
    pub model: PathBuf,
    /// List the model's inputs, outputs, opset, op histogram and the ops outside the importer's set.
    #[arg(long)]
    pub info: bool,
}

pub fn run(args: &RunArgs) -> Result<Outcome, CliError> {
    if !args.info {
        return Err(CliError::usage(
            "running an ONNX graph is not available yet: the importer reads and describes models, and the \
             lowering into the emulator's ops is still being built; use `davinci run MODEL.onnx --info`",
        ));
    }
    Ok(davinci::report::onnx_info::run(&args.model)?)
}
