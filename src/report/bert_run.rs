//! `davinci bert` as a library call: a BERT encoder (all-MiniLM-L6-v2 and its kin) on the emulator, from
//! token ids to the sentence embedding. The embeddings, each encoder layer and the pooling run as separate
//! programs on the chosen executor(s), so the report gives the host time per stage and, with both
//! executors, checks GPU = CPU bits at every stage (a mismatch is the report's failure). With a prediction
//! target each stage's program also goes through the timing model (chip time and binding resource per
//! stage; per-op predictions in JSON), and its trace file gets the whole run, the stages' timelines laid
//! end to end. `out` receives `hidden_states.0..N` (`[batch, seq, hidden]`, the compute dtype) and
//! `sentence_embedding` (`[batch, hidden]` f32).

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Value, json};

pub use super::bert_input::{Batch, parse_batch};
use super::predict_run::PredictTarget;
use super::runs::Executors;
use super::table::{fmt_ms, fmt_time};
use super::{Comparison, Report, Table};
use crate::exec::{Executor, ExecutorChoice};
use crate::files::OutputGuard;
use crate::model::{BertConfig, BertModel, Graph};
use crate::progress::Progress;
use crate::sched::Prediction;
use crate::sched::trace::TraceMerger;
use crate::tensor::safetensors_io::save;
use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// One encoder run.
#[derive(Clone, Debug)]
pub struct BertRun {
    /// A folder with model.safetensors (and config.json), or the .safetensors file itself.
    pub weights: PathBuf,
    /// Token ids in `--tokens` syntax: comma-separated, `;` between the sequences of a batch.
    pub tokens: String,
    /// The attention mask in the same syntax (0 or 1 per token); all 1 when `None`.
    pub mask: Option<String>,
    /// bf16 (bf16 operands and results, f32 accumulation) or f32 (the Cube's fp32 mode).
    pub dtype: DType,
    pub executor: ExecutorChoice,
    /// Write the hidden states and the sentence embedding here.
    pub out: Option<PathBuf>,
    /// Predict each stage on a chip (and write the run's trace if the target names a file).
    pub predict: Option<PredictTarget>,
}

/// One stage's figures.
struct Stage {
    name: String,
    host_ms: Vec<(&'static str, f64)>,
    comparison: Option<Comparison>,
    pred: Option<Prediction>,
}

/// Runs the encoder stage by stage and reports it.
pub fn run(req: &BertRun, progress: &mut dyn Progress) -> Result<Report> {
    let batch = parse_batch(&req.tokens, req.mask.as_deref())?;
    let target = req.predict.as_ref();
    if target.is_some_and(|t| !t.plots.is_empty()) {
        return Err(Error::Usage(
            "bert predicts stage by stage and draws no --plot or --plot-timeline; davinci predict, \
             davinci run and davinci demo draw a program's ops"
                .into(),
        ));
    }
    let model = BertModel::open(&req.weights, req.dtype, Some(BertConfig::minilm_l6()))?;
    if model.weights.config.is_none() {
        progress.notice(&format!(
            "no config.json beside {}; assuming all-MiniLM-L6-v2's sizes",
            model.weights.path().display()
        ));
    }
    let (b, s) = model
        .check_tokens(&batch.tokens, &batch.mask)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let guard = req.out.as_deref().map(OutputGuard::create).transpose()?;
    let execs = Executors::select(req.executor, progress)?;
    let c = model.config;

    progress.start("bert", c.layers as u64 + 2);
    let mut stages = Vec::new();
    let mut states = Vec::new();
    let hidden_shape = Shape::new([b, s, c.hidden]);
    let mut step = |name: String, g: Result<Graph>| {
        let g = g.map_err(|e| Error::Program(format!("{name}: {e}")))?;
        let (out, stage) = run_stage(name.clone(), &g, &execs.list, target)?;
        stages.push(stage);
        progress.step(None, &name);
        Ok::<Tensor, Error>(out)
    };
    let mut run_all = || -> Result<Tensor> {
        let mut h = step("embeddings".into(), model.embeddings(&batch.tokens))?;
        let mask = model.additive_mask(&batch.mask)?;
        for i in 0..c.layers {
            states.push(Tensor::new(hidden_shape.clone(), h.data().clone())?);
            h = step(
                format!("layer {i}"),
                model.layer(i, h, mask.clone(), b, s, false),
            )?;
        }
        states.push(Tensor::new(hidden_shape.clone(), h.data().clone())?);
        step("pooling".into(), model.pooling(h, &batch.mask))
    };
    let result = run_all();
    progress.finish();
    let embedding = result?;

    let mut written = None;
    if let (Some(path), Some(guard)) = (&req.out, guard) {
        let names: Vec<String> = (0..states.len())
            .map(|i| format!("hidden_states.{i}"))
            .collect();
        let mut tensors: Vec<(&str, &Tensor)> =
            names.iter().map(String::as_str).zip(&states).collect();
        tensors.push(("sentence_embedding", &embedding));
        save(path, &tensors, None)?;
        guard.commit();
        written = Some(path.display().to_string());
    }
    let mut trace_events = None;
    if let Some(path) = req.predict.as_ref().and_then(|t| t.trace.as_ref()) {
        let mut merger = TraceMerger::new();
        let mut offset = 0.0;
        for st in &stages {
            if let Some(p) = &st.pred {
                merger.add(&st.name, p.trace_json(), offset);
                offset += p.total.micros();
            }
        }
        trace_events = Some((path.clone(), merger.events()));
        merger.write(path)?;
    }
    Ok(report(
        req,
        &model,
        (b, s),
        &stages,
        &embedding,
        written,
        trace_events,
    ))
}

/// Runs one stage on every executor (the first one's output goes on), compares bits, predicts.
fn run_stage(
    name: String,
    g: &Graph,
    execs: &[Box<dyn Executor>],
    target: Option<&PredictTarget>,
) -> Result<(Tensor, Stage)> {
    let mut outs = Vec::new();
    let mut host_ms = Vec::new();
    for exec in execs {
        let start = Instant::now();
        let out = g
            .run(exec.as_ref())
            .map_err(|e| Error::Program(format!("{name} on the {} executor: {e}", exec.name())))?;
        host_ms.push((exec.name(), start.elapsed().as_secs_f64() * 1e3));
        let t = out.into_iter().next().map(|(_, t)| t).ok_or_else(|| {
            Error::Program(format!(
                "{name}: the {} executor returned no output",
                exec.name()
            ))
        })?;
        outs.push(t);
    }
    let comparison = (outs.len() == 2).then(|| Comparison::of(&outs[0], &outs[1]));
    let pred = target.map(|t| t.predict(&g.program)).transpose()?;
    let out = outs.swap_remove(0);
    Ok((
        out,
        Stage {
            name,
            host_ms,
            comparison,
            pred,
        },
    ))
}

fn report(
    req: &BertRun,
    model: &BertModel,
    (b, s): (usize, usize),
    stages: &[Stage],
    embedding: &Tensor,
    written: Option<String>,
    trace_events: Option<(PathBuf, usize)>,
) -> Report {
    let c = &model.config;
    let execs: Vec<&str> = stages
        .first()
        .map_or(vec![], |st| st.host_ms.iter().map(|h| h.0).collect());
    let predicted = stages.iter().any(|st| st.pred.is_some());
    let mut cols: Vec<(String, bool)> = vec![("stage".into(), false)];
    cols.extend(execs.iter().map(|e| (format!("{e} host"), true)));
    if predicted {
        cols.push((format!("{} time", model_chip_name(stages)), true));
        cols.push(("bound".into(), false));
    }
    let col_refs: Vec<(&str, bool)> = cols.iter().map(|(h, r)| (h.as_str(), *r)).collect();
    let mut table = Table::new(&col_refs);
    let mut totals = vec![0.0; execs.len()];
    let mut pred_total = 0.0;
    let mut json_stages = Vec::new();
    for st in stages {
        let mut row = vec![st.name.clone()];
        for (i, (_, ms)) in st.host_ms.iter().enumerate() {
            row.push(fmt_ms(*ms));
            totals[i] += ms;
        }
        let mut js = json!({
            "stage": st.name,
            "host_ms": st.host_ms.iter().map(|(e, ms)| (e.to_string(), json!(ms))).collect::<serde_json::Map<_, _>>(),
        });
        if let Some(cmp) = &st.comparison {
            cmp.json_fields(js.as_object_mut().expect("an object"));
        }
        if let Some(p) = &st.pred {
            row.push(fmt_time(p.total.0));
            row.push(p.bound.name().to_string());
            pred_total += p.total.0;
            let ops: Vec<Value> = p.ops.iter().map(|o| json!({"kernel": o.kernel, "output": o.output, "time_us": o.time.micros(), "bound": o.bound.name()})).collect();
            js["predicted"] = json!({"time_us": p.total.micros(), "bound": p.bound.name(), "flops": p.flops.0, "ops": ops});
        }
        table.row(row);
        json_stages.push(js);
    }
    let mut row = vec!["total".to_string()];
    row.extend(totals.iter().map(|ms| fmt_ms(*ms)));
    if predicted {
        row.push(fmt_time(pred_total));
    }
    table.row(row);

    let mismatches: Vec<String> = stages
        .iter()
        .filter_map(|st| {
            st.comparison.as_ref().filter(|c| !c.bit_exact).map(|cmp| {
                format!(
                    "{} ({} of {} elements differ)",
                    st.name, cmp.differing, cmp.elements
                )
            })
        })
        .collect();
    let compared = stages.iter().any(|st| st.comparison.is_some());
    let values = embedding.to_f32_vec();
    let first: Vec<f32> = values.iter().take(c.hidden).copied().collect();
    let norm = first
        .iter()
        .map(|v| (*v as f64).powi(2))
        .sum::<f64>()
        .sqrt();

    let mut human = format!(
        "bert: {} ({} layers, hidden {}), {}, batch {b} x {s} tokens\n\n{}",
        req.weights.display(),
        c.layers,
        c.hidden,
        model.dtype,
        table.render()
    );
    if compared && mismatches.is_empty() {
        human.push_str(&format!(
            "\nGPU and CPU results are bit-identical at all {} stages.\n",
            stages.len()
        ));
    }
    let preview: Vec<String> = first.iter().take(6).map(|v| format!("{v:.6}")).collect();
    human.push_str(&format!(
        "\nsentence_embedding[0] = [{}, ...] ({} values, |e| = {norm:.6})\n",
        preview.join(", "),
        first.len()
    ));
    if let Some(path) = &written {
        human.push_str(&format!(
            "wrote {path}: hidden_states.0..{} [{b}, {s}, {}] {}, sentence_embedding [{b}, {}] f32\n",
            c.layers, c.hidden, model.dtype, c.hidden
        ));
    }
    let mut obj = json!({
        "weights": req.weights.display().to_string(),
        "config": {"vocab": c.vocab, "hidden": c.hidden, "layers": c.layers, "heads": c.heads, "intermediate": c.intermediate, "max_positions": c.max_positions},
        "dtype": model.dtype.name(),
        "batch": b,
        "seq": s,
        "executors": execs,
        "stages": json_stages,
        "host_ms_total": execs.iter().zip(&totals).map(|(e, t)| (e.to_string(), json!(t))).collect::<serde_json::Map<_, _>>(),
        "sentence_embedding": values.chunks(c.hidden).collect::<Vec<_>>(),
    });
    if compared {
        obj["bit_exact"] = json!(mismatches.is_empty());
    }
    if predicted {
        obj["chip"] = json!(model_chip_name(stages));
        obj["predicted_total_us"] = json!(pred_total / 1e3);
    }
    if let Some(path) = &written {
        obj["out"] = json!(path);
    }
    if let Some((path, n)) = trace_events {
        obj["trace"] = json!(path.display().to_string());
        human.push_str(&format!(
            "trace: {} ({n} events; open in ui.perfetto.dev or chrome://tracing)\n",
            path.display()
        ));
    }
    let failure = (!mismatches.is_empty()).then(|| {
        format!(
            "GPU and CPU results differ at stage {}; the numerics contract promises equal bits, so this is \
             a bug: please report it with the output of `davinci info`",
            mismatches.join(", ")
        )
    });
    Report {
        json: obj,
        human,
        failure,
    }
}

fn model_chip_name(stages: &[Stage]) -> String {
    stages
        .iter()
        .find_map(|st| st.pred.as_ref())
        .map_or_else(String::new, |p| p.chip.name.to_string())
}
