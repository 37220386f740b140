//! `davinci formats`: what each number format does to a model's outputs, and to its time. The model
//! (`formats_models`: a decoder layer with seeded weights and an LM head, or a BERT encoder from its
//! weights) runs once in f32 (the Cube's fp32 mode throughout: the reference) and once per format
//! configuration of its linear layers, the rest in f32 (`model::formats`: bf16, fp16, W8A8, fp8 e4m3 and
//! e5m2, with and without stochastic rounding). Each run reports the error of its output against the
//! reference (max abs, relative Frobenius, cosine), the agreement of the LM head's argmax where there is
//! one, the predicted time and energy on the chip, and the memory of the linear layers' weights. With
//! `--executor both` every stage is also checked GPU = CPU; with an SVG path, a plot of error against
//! time (`formats_plot`).
//!
//! Not here yet: ONNX models (whose layers would take the same `linear_format` once they are imported).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::error_stats::ErrorStats;
use super::formats_models::{FormatsModel, argmax_agreement};
use super::formats_plot::{PlotPoint, write_svg};
use super::runs::Executors;
use super::{Report, Table};
use crate::chip::ChipSpec;
use crate::exec::ExecutorChoice;
use crate::files::OutputGuard;
use crate::model::formats::LinearFormat;
use crate::progress::Progress;
use crate::{Error, Result};

/// What `davinci formats` runs.
#[derive(Clone, Debug)]
pub struct FormatsRequest {
    pub model: FormatsModel,
    pub formats: Vec<LinearFormat>,
    pub executor: ExecutorChoice,
    /// The chip of the predictions: a preset or a chip .toml file.
    pub chip: String,
    /// Write the error-vs-time plot here (SVG), atomically.
    pub svg: Option<PathBuf>,
}

/// Max abs error, relative Frobenius error and cosine of `got` against `want`; any non-finite value
/// makes the errors infinite (reported as null in JSON) and the cosine 0, never NaN.
fn errors(got: &[f32], want: &[f32]) -> (f64, f64, f64) {
    let s = ErrorStats::of(got, want);
    if s.non_finite > 0 {
        return (f64::INFINITY, f64::INFINITY, 0.0);
    }
    (s.max_abs(), s.rel_frobenius(), s.cosine())
}

/// `x` for JSON: null when not finite.
fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// Runs every configuration and reports them side by side.
pub fn run(r: &FormatsRequest, progress: &mut dyn Progress) -> Result<Report> {
    if r.formats.is_empty() {
        return Err(Error::Usage("--formats: give at least one format".into()));
    }
    if let FormatsModel::Decoder { seq: 0, .. } = r.model {
        return Err(Error::Usage("--seq must be at least 1".into()));
    }
    let chip = ChipSpec::resolve(&r.chip).map_err(|e| Error::Usage(e.to_string()))?;
    let guard = r.svg.as_deref().map(OutputGuard::create).transpose()?;
    let executors = Executors::select(r.executor, progress)?;
    let list = &executors.list;
    let first = list
        .first()
        .ok_or_else(|| Error::Program("no executor".into()))?;
    progress.start("formats", r.formats.len() as u64 + 1);
    let reference = r.model.run(None, list, &chip)?;
    let want = reference.output.to_f32_vec();
    progress.step(None, "f32 reference");
    let has_head = reference.logits.is_some();
    let mut columns = vec![
        ("format", false),
        ("max abs err", true),
        ("rel frobenius", true),
        ("cosine", true),
    ];
    if has_head {
        columns.push(("argmax", true));
    }
    columns.extend([("time", true), ("energy", true), ("weights", true)]);
    let mut table = Table::new(&columns);
    let (mut rows, mut points) = (Vec::new(), Vec::new());
    let mut failure = None;
    for f in &r.formats {
        let run = r.model.run(Some(*f), list, &chip)?;
        if run.bit_exact == Some(false) {
            failure = Some(format!("{f}: the GPU and CPU results differ"));
        }
        let (max, rel, cos) = errors(&run.output.to_f32_vec(), &want);
        let agree = match (&run.logits, &reference.logits) {
            (Some(g), Some(w)) => Some(argmax_agreement(g, w)),
            _ => None,
        };
        let weight_bytes = run.linear_params * f.weight_bytes() as f64;
        let mut cells = vec![
            f.name(),
            format!("{max:.3e}"),
            format!("{rel:.3e}"),
            format!("{cos:.6}"),
        ];
        if let Some(a) = agree {
            cells.push(format!("{:.1}%", a * 100.0));
        }
        cells.extend([
            format!("{:.1} us", run.time_ns / 1e3),
            format!("{:.3} mJ", run.energy_j * 1e3),
            format!("{:.1} MB", weight_bytes / 1e6),
        ]);
        table.row(cells);
        rows.push(json!({
            "format": f.name(),
            "max_abs_error": finite(max),
            "rel_frobenius_error": finite(rel),
            "cosine": cos,
            "argmax_agreement": agree,
            "predicted_us": run.time_ns / 1e3,
            "energy_j": run.energy_j,
            "weight_bytes": weight_bytes,
            "bit_exact_gpu_cpu": run.bit_exact,
        }));
        points.push(PlotPoint {
            label: f.name(),
            time_us: run.time_ns / 1e3,
            error: rel,
        });
        progress.step(None, &f.name());
    }
    progress.finish();
    if let (Some(path), Some(guard)) = (&r.svg, guard) {
        let title = format!("{} on {}", r.model.describe(), chip.name);
        write_svg(path, &title, &points)?;
        guard.commit();
    }
    let json = json!({
        "model": r.model.describe(),
        "reference": "f32 (the Cube's fp32 mode throughout)",
        "reference_predicted_us": reference.time_ns / 1e3,
        "executors": list.iter().map(|e| e.name()).collect::<Vec<_>>(),
        "chip": chip.name, "configs": rows,
        "svg": r.svg.as_ref().map(|p| p.display().to_string()),
    });
    let mut human = format!(
        "{}; the linear layers in each format, the rest in f32;\nerrors against the f32 run (predicted \
         {:.1} us), time and energy predicted on {}, run on {}\n\n{}",
        r.model.describe(),
        reference.time_ns / 1e3,
        chip.name,
        first.name(),
        table.render()
    );
    if let Some(p) = &r.svg {
        human.push_str(&format!("\nplot of error against time: {}\n", p.display()));
    }
    Ok(Report {
        json,
        human,
        failure,
    })
}
