//! `davinci chips|clusters|models [NAME|FILE]`: the presets with their headline figures, or every field of
//! one (a preset or a file) with its unit and source ([`davinci::report::chips`],
//! [`davinci::report::listing`]).

use clap::Args;
use davinci::report::{chips, listing};

use crate::common::{CliError, Outcome};

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Show one preset or file in full, with sources.
    #[arg(value_name = "NAME|FILE")]
    pub name: Option<String>,
}

pub fn chips(args: &ListArgs) -> Result<Outcome, CliError> {
    Ok(chips::named(args.name.as_deref())?)
}

pub fn clusters(args: &ListArgs) -> Result<Outcome, CliError> {
    Ok(listing::clusters(args.name.as_deref())?)
}

pub fn models(args: &ListArgs) -> Result<Outcome, CliError> {
    Ok(listing::models(args.name.as_deref())?)
}
