//! SVG plots of what the chip and the cluster do, drawn with plotters' SVG backend (no browser needed)
//! and written atomically: the roofline of a program's ops on a chip ([`roofline`]), the per-core
//! timeline of one op ([`timeline`]), a cluster step's breakdown by role and a sweep's plans
//! ([`cluster`]), and `davinci validate`'s predicted against measured ([`validation`]). Each returns the
//! SVG text, so the CLI (`--plot FILE.svg`) and the Python module write the same picture; every plot
//! names its axes and series in the SVG's text.

pub mod cluster;
pub mod roofline;
pub mod timeline;
pub mod validation;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::files::write_atomic;
use crate::sched::Prediction;
use crate::{Error, Result};

/// The plots a prediction's report draws when asked (`--plot`, `--plot-timeline`, `--plot-op`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PredictionPlots {
    /// The roofline of the ops.
    pub roofline: Option<PathBuf>,
    /// One op's per-core timeline: op `op`, else the longest.
    pub timeline: Option<PathBuf>,
    pub op: Option<usize>,
}

impl PredictionPlots {
    pub fn is_empty(&self) -> bool {
        self.roofline.is_none() && self.timeline.is_none()
    }

    /// Draws the plots asked for and says so in the report (`plot`, `timeline_plot` in JSON).
    pub fn write(
        &self,
        pred: &Prediction,
        title: &str,
        obj: &mut Map<String, Value>,
        human: &mut String,
    ) -> Result<()> {
        if let Some(path) = &self.roofline {
            write_svg(path, &roofline::render(pred, title)?)?;
            obj.insert("plot".into(), json!(path.display().to_string()));
            human.push_str(&format!("\nroofline: {}\n", path.display()));
        }
        if let Some(path) = &self.timeline {
            let op = self.op.unwrap_or_else(|| timeline::longest_op(pred));
            write_svg(path, &timeline::render(pred, op, title)?)?;
            obj.insert("timeline_plot".into(), json!(path.display().to_string()));
            human.push_str(&format!("timeline of op {op}: {}\n", path.display()));
        }
        Ok(())
    }
}

/// The plot's size in pixels.
pub const SIZE: (u32, u32) = (900, 560);

/// `[lo, hi]` of positive values, widened by a factor on both sides so that points sit inside a log axis;
/// `fallback` when there is none.
pub fn log_range(values: impl Iterator<Item = f64>, fallback: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 {
        return fallback;
    }
    (lo / 1.6, hi * 1.6)
}

/// `[lo, hi]` of positive values widened to whole decades, at least two of them, so that a log axis has
/// labelled ticks; `fallback` when there is none.
pub fn decades(values: impl Iterator<Item = f64>, fallback: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = log_range(values, fallback);
    let (a, mut b) = (lo.log10().floor(), hi.log10().ceil());
    if b - a < 2.0 {
        b = a + 2.0;
    }
    (10f64.powf(a), 10f64.powf(b))
}

/// A tick label of a log axis: plain digits, no exponent, as few as the value needs.
pub fn fmt_log(v: &f64) -> String {
    let v = *v;
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let digits = (-v.log10()).ceil().max(1.0) as usize;
        format!("{v:.digits$}")
    }
}

/// The error for a failed drawing of the `what` plot.
pub fn plot_error(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> Error {
    move |e| Error::Invalid(format!("{what}: drawing the plot failed: {e}"))
}

/// Draws the chart's legend (every series' label) at `pos`, boxed on a light background.
pub fn legend<'a, DB, CT>(
    chart: &mut plotters::chart::ChartContext<'a, DB, CT>,
    pos: plotters::chart::SeriesLabelPosition,
    err: &dyn Fn(&dyn std::fmt::Display) -> Error,
) -> Result<()>
where
    DB: plotters::prelude::DrawingBackend + 'a,
    CT: plotters::coord::CoordTranslate,
{
    use plotters::style::{BLACK, Color, WHITE};
    chart
        .configure_series_labels()
        .position(pos)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))
}

/// Writes an SVG atomically; the path must end in `.svg`, so that a table's path is not overwritten by
/// mistake.
pub fn write_svg(path: &Path, svg: &str) -> Result<()> {
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        return Err(Error::Usage(format!(
            "--plot writes SVG: give a file name ending in .svg, not {}",
            path.display()
        )));
    }
    write_atomic(path, svg.as_bytes(), "plot")
}
