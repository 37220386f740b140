//! `davinci chips [NAME|FILE]`: the chip presets with their peak figures, or every field of one chip
//! (a preset or a chip TOML file) with its unit and source.

use clap::Args;
use davinci::ChipSpec;
use davinci::report::chips::{detail, list};

use crate::common::{CliError, Outcome};

#[derive(Args, Debug)]
pub struct ChipsArgs {
    /// Show every field of one chip, with its source: a preset name or a chip .toml file.
    #[arg(value_name = "NAME|FILE")]
    pub chip: Option<String>,
}

pub fn run(args: &ChipsArgs) -> Result<Outcome, CliError> {
    match &args.chip {
        None => Ok(list()),
        Some(name) => {
            let chip = ChipSpec::resolve(name).map_err(|e| CliError::usage(e.to_string()))?;
            Ok(detail(&chip))
        }
    }
}
