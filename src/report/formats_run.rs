//! `davinci formats`: what each number format does to a model's outputs, and to its time. A pre-norm
//! LLaMA-style decoder layer with seeded f32 weights runs once in f32 (the Cube's fp32 mode throughout:
//! the reference) and once per format configuration of its linear layers, the rest of the layer in f32 (`model::formats`: bf16, fp16, W8A8,
//! fp8 e4m3, with and without stochastic rounding); each run reports the error of its output against the
//! reference (max abs, relative Frobenius, cosine), the layer's predicted time and energy on the chip, and
//! the memory of the weights. With `--executor both` every configuration is also checked GPU = CPU.
//!
//! Not here yet: the MiniLM encoder and ONNX models (whose layers would take the same `linear_format`),
//! and the LM-head argmax agreement (a single layer has no head).

use serde_json::{Value, json};

use super::runs::Executors;
use super::{Comparison, Report, Table};
use crate::chip::ChipSpec;
use crate::exec::ExecutorChoice;
use crate::model::decoder::uniform_f32;
use crate::model::formats::LinearFormat;
use crate::model::{DecoderConfig, DecoderLayer, Graph};
use crate::progress::Progress;
use crate::{DType, Error, Result, Tensor};

/// What `davinci formats` runs.
#[derive(Clone, Debug)]
pub struct FormatsRequest {
    pub config: DecoderConfig,
    pub seq: usize,
    pub seed: u64,
    pub formats: Vec<LinearFormat>,
    pub executor: ExecutorChoice,
    /// The chip of the predictions: a preset or a chip .toml file.
    pub chip: String,
}

/// The layer over `x`, f32 weights and activations with full significands, the linear layers in `format`
/// (`None`: f32, the Cube's fp32 mode).
fn layer(r: &FormatsRequest, format: Option<LinearFormat>) -> Result<Graph> {
    let layer = DecoderLayer::random_f32(r.config, r.seed)?;
    let x = uniform_f32(r.seed.wrapping_add(100), &[r.seq, r.config.hidden], 1.0)?;
    let mut g = layer.into_graph_with(x, 1, r.seq, DType::F32, format)?;
    g.keep_taps = false;
    Ok(g)
}

/// Max abs error, relative Frobenius error and cosine of `got` against `want`.
fn errors(got: &[f32], want: &[f32]) -> (f64, f64, f64) {
    let (mut max, mut diff2, mut ref2, mut dot, mut got2) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for (&g, &w) in got.iter().zip(want) {
        let (g, w) = (g as f64, w as f64);
        max = max.max((g - w).abs());
        diff2 += (g - w) * (g - w);
        ref2 += w * w;
        dot += g * w;
        got2 += g * g;
    }
    let rel = if ref2 > 0.0 {
        (diff2 / ref2).sqrt()
    } else {
        diff2.sqrt()
    };
    let cos = if ref2 > 0.0 && got2 > 0.0 {
        dot / (ref2 * got2).sqrt()
    } else {
        0.0
    };
    (max, rel, cos)
}

/// Runs every configuration and reports them side by side.
pub fn run(r: &FormatsRequest, progress: &mut dyn Progress) -> Result<Report> {
    if r.formats.is_empty() {
        return Err(Error::Usage("--formats: give at least one format".into()));
    }
    if r.seq == 0 {
        return Err(Error::Usage("--seq must be at least 1".into()));
    }
    let chip = ChipSpec::resolve(&r.chip).map_err(|e| Error::Usage(e.to_string()))?;
    let executors = Executors::select(r.executor, progress)?;
    let exec = executors
        .list
        .first()
        .ok_or_else(|| Error::Program("no executor".into()))?;
    progress.start("formats", r.formats.len() as u64 + 1);
    let reference = layer(r, None)?;
    let want = reference.run(exec.as_ref())?.remove(0).1.to_f32_vec();
    progress.step(None, "f32 reference");
    let params = r.config.params() as f64;
    let mut table = Table::new(&[
        ("format", false),
        ("max abs err", true),
        ("rel frobenius", true),
        ("cosine", true),
        ("910C time", true),
        ("energy", true),
        ("weights", true),
    ]);
    let mut rows: Vec<Value> = Vec::new();
    let mut failure = None;
    for f in &r.formats {
        let g = layer(r, Some(*f))?;
        let outs: Vec<Tensor> = executors
            .list
            .iter()
            .map(|e| g.run(e.as_ref()).map(|mut o| o.remove(0).1))
            .collect::<Result<_>>()?;
        let identical = (outs.len() == 2).then(|| Comparison::of(&outs[0], &outs[1]));
        if let Some(c) = &identical
            && !c.bit_exact
        {
            failure = Some(format!("{f}: the GPU and CPU results differ"));
        }
        let (max, rel, cos) = errors(&outs[0].to_f32_vec(), &want);
        let pred = crate::predict(&g.program, &chip)?;
        let weight_bytes = params * f.weight_bytes() as f64;
        table.row(vec![
            f.name(),
            format!("{max:.3e}"),
            format!("{rel:.3e}"),
            format!("{cos:.6}"),
            format!("{:.1} us", pred.total.0 / 1e3),
            format!("{:.3} mJ", pred.energy.0 * 1e3),
            format!("{:.1} MB", weight_bytes / 1e6),
        ]);
        rows.push(json!({
            "format": f.name(),
            "max_abs_error": max,
            "rel_frobenius_error": rel,
            "cosine": cos,
            "predicted_us": pred.total.0 / 1e3,
            "energy_j": pred.energy.0,
            "weight_bytes": weight_bytes,
            "bit_exact_gpu_cpu": identical.as_ref().map(|c| c.bit_exact),
        }));
        progress.step(None, &f.name());
    }
    progress.finish();
    let c = r.config;
    let json = json!({
        "model": "decoder layer (seeded weights)",
        "hidden": c.hidden, "heads": c.heads, "kv_heads": c.kv_heads, "ffn": c.ffn, "seq": r.seq,
        "seed": r.seed, "reference": "f32 (the Cube's fp32 mode throughout)",
        "executors": executors.list.iter().map(|e| e.name()).collect::<Vec<_>>(),
        "chip": chip.name, "configs": rows,
    });
    let human = format!(
        "decoder layer: hidden {}, {} heads ({} kv), ffn {}, seq {}, seeded weights (seed {}); the linear \
         layers in each format, the rest in f32;\nerrors against the f32 run, time and energy predicted on \
         {}, run on {}\n\n{}",
        c.hidden,
        c.heads,
        c.kv_heads,
        c.ffn,
        r.seq,
        r.seed,
        chip.name,
        exec.name(),
        table.render()
    );
    Ok(Report {
        json,
        human,
        failure,
    })
}
