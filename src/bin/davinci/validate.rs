//! `davinci validate [--filter WORD] [--table FILE]`: the timing model against the published measurements
//! ([`davinci::report::validate_run`]); exits 1 when a covered row is outside its tolerance.

use std::path::PathBuf;

use clap::Args;
use davinci::files::{MAX_TEXT_FILE, read_text_bounded};
use davinci::report::validate_run;
use davinci::validate::Table;

use crate::common::{CliError, Outcome};

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Only the rows whose id, figure or conditions contain WORD (case-insensitive), e.g. matmul, 16384.
    #[arg(long, value_name = "WORD")]
    pub filter: Option<String>,
    /// Check another measurement table (TOML, the shipped table's format) instead of the shipped one.
    #[arg(long, value_name = "FILE")]
    pub table: Option<PathBuf>,
    /// Also draw predicted against measured on log axes, with the 15% band, as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

pub fn run(args: &ValidateArgs) -> Result<Outcome, CliError> {
    let table = match &args.table {
        Some(path) => {
            let text = read_text_bounded(path, "measurement table", MAX_TEXT_FILE)?;
            Some(Table::parse(&text, &path.display().to_string())?)
        }
        None => None,
    };
    Ok(match &args.plot {
        Some(path) => validate_run::run_with_plot(table.as_ref(), args.filter.as_deref(), path)?,
        None => validate_run::run(table.as_ref(), args.filter.as_deref())?,
    })
}
