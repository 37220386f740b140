//! Predictions of a recorded program for Python: on an Ascend chip (a preset or a chip file) through
//! the same report the CLI prints as JSON, or on an NVIDIA GPU preset through the GPU model's report.

use std::path::Path;

use davinci::gpu::GpuSpec;
use davinci::sched::{LaunchMode, predict_launched};
use davinci::{ChipSpec, Error, Program, Result};

fn launch(mode: &str) -> Result<LaunchMode> {
    mode.parse()
}

/// The prediction of `p` on `chip` as the CLI's `--json` object, serialised, and its table.
pub fn json(p: &Program, chip: &str, mode: &str, title: &str) -> Result<(String, String)> {
    let mode = launch(mode)?;
    let value = match GpuSpec::preset(chip) {
        Some(gpu) => {
            if mode != LaunchMode::Device {
                return Err(Error::Usage(format!(
                    "launch='{}' is the Ascend model's framework dispatch; {chip} is an NVIDIA GPU, \
                     predicted with device launches only",
                    mode.name()
                )));
            }
            let pred = davinci::gpu::predict::predict(p, &gpu, None)?;
            let r = davinci::report::gpu_predict::report(&pred, title);
            (r.json, r.human)
        }
        None => {
            let chip = ChipSpec::resolve(chip)?;
            let pred = predict_launched(p, &chip, mode)?;
            let (obj, human) = davinci::report::predict::report(&pred, title);
            (serde_json::Value::Object(obj), human)
        }
    };
    let (value, human) = value;
    let text = serde_json::to_string(&value)
        .map_err(|e| Error::Invalid(format!("prediction JSON: {e}")))?;
    Ok((text, human))
}

/// Writes the timeline of `p` on the Ascend chip `chip` as a Chrome trace; returns the events written.
pub fn trace(p: &Program, chip: &str, mode: &str, path: &Path) -> Result<usize> {
    if GpuSpec::preset(chip).is_some() {
        return Err(Error::Usage(format!(
            "traces follow the Ascend model's cores and lanes; {chip} is an NVIDIA GPU (give an Ascend chip)"
        )));
    }
    let chip = ChipSpec::resolve(chip)?;
    predict_launched(p, &chip, launch(mode)?)?.write_trace(path)
}

/// Draws the prediction of `p` on the Ascend chip `chip` as SVG at `path`: its `roofline`, or the
/// per-core `timeline` of op `op` (the longest by default).
pub fn plot(
    p: &Program,
    kind: &str,
    chip: &str,
    mode: &str,
    op: Option<usize>,
    path: &Path,
) -> Result<()> {
    use davinci::report::plots;
    if GpuSpec::preset(chip).is_some() {
        return Err(Error::Usage(format!(
            "plots follow the Ascend model's cores and roofs; {chip} is an NVIDIA GPU (give an Ascend chip)"
        )));
    }
    let chip = ChipSpec::resolve(chip)?;
    let pred = predict_launched(p, &chip, launch(mode)?)?;
    let svg = match kind {
        "roofline" => plots::roofline::render(&pred, "program")?,
        "timeline" => {
            let op = op.unwrap_or_else(|| plots::timeline::longest_op(&pred));
            plots::timeline::render(&pred, op, "program")?
        }
        other => {
            return Err(Error::Usage(format!(
                "unknown plot '{other}': expected roofline or timeline"
            )));
        }
    };
    plots::write_svg(path, &svg)
}
