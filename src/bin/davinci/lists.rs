//! `davinci chips|clusters|models [NAME|FILE]`: the presets with their headline figures, or every field of
//! one (a preset or a file) with its unit and source ([`davinci::report::chips`],
//! [`davinci::report::listing`]).

use clap::Args;
use davinci::ChipSpec;
use davinci::report::{chips, listing};

use crate::common::{CliError, Outcome};

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Show one preset or file in full, with sources.
    #[arg(value_name = "NAME|FILE")]
    pub name: Option<String>,
}

pub fn chips(args: &ListArgs) -> Result<Outcome, CliError> {
    match &args.name {
        None => Ok(chips::list()),
        Some(name) => {
            if let Some(g) = davinci::gpu::GpuSpec::preset(name) {
                return Ok(chips::gpu_detail(&g));
            }
            let chip = ChipSpec::resolve(name).map_err(|e| CliError::usage(e.to_string()))?;
            Ok(chips::detail(&chip))
        }
    }
}

pub fn clusters(args: &ListArgs) -> Result<Outcome, CliError> {
    Ok(listing::clusters(args.name.as_deref())?)
}

pub fn models(args: &ListArgs) -> Result<Outcome, CliError> {
    Ok(listing::models(args.name.as_deref())?)
}
