//! `davinci info`: the adapter, its limits, the numerics probe and the executor `auto` will use
//! ([`davinci::report::info`]).

use clap::Args;

use crate::common::{CliError, Outcome};

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Also measure the f32 FMA rate of the adapter (a microbenchmark shader) and of the CPU (a SIMD loop
    /// on all cores): the limits that speed figures are fractions of. Takes a second or so.
    #[arg(long)]
    peak: bool,
}

pub fn run(args: &InfoArgs) -> Result<Outcome, CliError> {
    Ok(davinci::report::info::run(args.peak)?)
}
