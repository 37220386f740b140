//! `--predict` (and `--chip`) for the subcommands that run an op on this host.

use clap::Args;
use davinci::report::{fmt_time, predict::report};
use davinci::sched::predict;
use davinci::{ChipSpec, Program};
use serde_json::{Map, Value};

use crate::common::CliError;

/// `--predict` (and `--chip`) for the subcommands that run an op on this host: the prediction is added
/// to the report beside the host's time.
#[derive(Args, Debug, Clone)]
pub struct PredictFlag {
    /// Also predict the op's time on an Ascend chip (the timing model) and show it beside the host's.
    #[arg(long)]
    pub predict: bool,
    /// The chip for --predict: a preset (default 910c) or a chip .toml file.
    #[arg(long, value_name = "NAME|FILE", requires = "predict")]
    pub chip: Option<String>,
}

impl PredictFlag {
    /// With `--predict`, adds the prediction of `program` to the report (`prediction` in JSON, a line and
    /// the table in text); `host_ms` is the host's time for the same program, for the ratio.
    pub fn add(
        &self,
        program: &Program,
        obj: &mut Map<String, Value>,
        human: &mut String,
        host_ms: Option<f64>,
    ) -> Result<(), CliError> {
        if !self.predict {
            return Ok(());
        }
        let chip = ChipSpec::resolve(self.chip.as_deref().unwrap_or("910c"))
            .map_err(|e| CliError::usage(e.to_string()))?;
        let pred = predict(program, &chip)?;
        let (report_obj, text) = report(&pred, "");
        obj.insert("prediction".into(), Value::Object(report_obj));
        let ratio = host_ms
            .filter(|ms| *ms > 0.0 && pred.total.0 > 0.0)
            .map(|ms| format!(", {:.0}x faster than this host", ms * 1e6 / pred.total.0))
            .unwrap_or_default();
        human.push_str(&format!(
            "\npredicted on {}: {} ({:.1} TFLOPS, bound by {}){ratio}\n{}",
            chip.name,
            fmt_time(pred.total.0),
            pred.achieved().0 / 1e12,
            pred.bound.name(),
            text.trim_start_matches('\n')
        ));
        Ok(())
    }
}
