//! `davinci bert --weights DIR|FILE --tokens 101,2023,...`: a BERT encoder (all-MiniLM-L6-v2 and its
//! kin) on the emulator, from token ids to the sentence embedding. The embeddings, each encoder layer and
//! the pooling run as separate programs on the chosen executor(s), so the report gives the host time per
//! stage and, with `--executor both`, checks GPU = CPU bits at every stage (a mismatch exits 1). With
//! `--predict` each stage's program also goes through the timing model (910C time and binding resource per
//! stage; per-op predictions in `--json`), and `--trace FILE` writes the whole run's Chrome trace, the
//! stages' timelines laid end to end. `--out` writes `hidden_states.0..N` (`[batch, seq, hidden]`, the
//! compute dtype) and `sentence_embedding` (`[batch, hidden]` f32).

mod input;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use davinci::model::{BertConfig, BertModel, Graph};
use davinci::sched::{Prediction, predict};
use davinci::tensor::safetensors_io::save;
use davinci::{ChipSpec, DType, Executor, Shape, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::common::{CliError, ExecutorArg, Outcome, select_executors};
use davinci::report::{Comparison, Table, fmt_ms, fmt_time};

#[derive(Args, Debug)]
pub struct BertArgs {
    /// The model: a folder with model.safetensors (and config.json), or the .safetensors file itself.
    #[arg(long, value_name = "DIR|FILE")]
    pub weights: PathBuf,
    /// Token ids, comma-separated; ';' between the sequences of a batch (shorter ones are padded with id 0).
    #[arg(long, allow_hyphen_values = true, value_name = "IDS")]
    pub tokens: String,
    /// Attention mask (0 or 1 per token, same syntax as --tokens); all 1 by default.
    #[arg(long, allow_hyphen_values = true, value_name = "BITS")]
    pub mask: Option<String>,
    /// Compute dtype: bf16 (bf16 operands and results, f32 accumulation) or f32 (the Cube's fp32 mode).
    #[arg(long, value_enum, default_value_t = ComputeDType::Bf16)]
    pub dtype: ComputeDType,
    /// Which executor runs the stages; `both` runs GPU and CPU and compares their bits at every stage.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// Write hidden_states.0..N and sentence_embedding to this safetensors file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also predict each stage's time on the chip (the timing model).
    #[arg(long)]
    pub predict: bool,
    /// The chip for --predict and --trace: a preset (see `davinci chips`) or a chip .toml file.
    #[arg(long, default_value = "910c", value_name = "NAME|FILE")]
    pub chip: String,
    /// Write the predicted timeline of the whole run as Chrome trace JSON (implies --predict).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// `--dtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ComputeDType {
    Bf16,
    F32,
}

/// One stage's figures.
struct Stage {
    name: String,
    host_ms: Vec<(&'static str, f64)>,
    comparison: Option<Comparison>,
    pred: Option<Prediction>,
}

pub fn run(args: &BertArgs) -> Result<Outcome, CliError> {
    let batch = input::parse_batch(&args.tokens, args.mask.as_deref())?;
    let chip = if args.predict || args.trace.is_some() {
        Some(ChipSpec::resolve(&args.chip).map_err(|e| CliError::usage(e.to_string()))?)
    } else {
        None
    };
    let dtype = match args.dtype {
        ComputeDType::Bf16 => DType::Bf16,
        ComputeDType::F32 => DType::F32,
    };
    let model = BertModel::open(&args.weights, dtype, Some(BertConfig::minilm_l6()))?;
    if model.weights.config.is_none() {
        eprintln!(
            "notice: no config.json beside {}; assuming all-MiniLM-L6-v2's sizes",
            model.weights.path().display()
        );
    }
    let (b, s) = model
        .check_tokens(&batch.tokens, &batch.mask)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let guard = args
        .out
        .as_deref()
        .map(input::OutputGuard::create)
        .transpose()?;
    let execs = select_executors(args.executor)?;
    let c = model.config;

    let bar = ProgressBar::new(c.layers as u64 + 2);
    if let Ok(style) = ProgressStyle::with_template("bert [{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let mut stages = Vec::new();
    let mut states = Vec::new();
    let hidden_shape = Shape::new([b, s, c.hidden]);
    let mut step = |name: String, g: Result<Graph, davinci::Error>| {
        bar.set_message(name.clone());
        let g = g.map_err(|e| CliError::runtime(format!("{name}: {e}")))?;
        let (out, stage) = run_stage(name, &g, &execs.list, chip.as_ref())?;
        stages.push(stage);
        bar.inc(1);
        Ok::<Tensor, CliError>(out)
    };
    let mut run_all = || -> Result<Tensor, CliError> {
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
    match &result {
        Ok(_) => bar.finish_and_clear(),
        Err(_) => bar.abandon(),
    }
    let embedding = result?;

    let mut written = None;
    if let (Some(path), Some(guard)) = (&args.out, guard) {
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
    if let Some(path) = &args.trace {
        let mut merger = davinci::sched::trace::TraceMerger::new();
        let mut offset = 0.0;
        for st in &stages {
            if let Some(p) = &st.pred {
                merger.add(&st.name, p.trace_json(), offset);
                offset += p.total.micros();
            }
        }
        trace_events = Some(merger.events());
        merger.write(path)?;
    }
    Ok(report(
        args,
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
    chip: Option<&ChipSpec>,
) -> Result<(Tensor, Stage), CliError> {
    let mut outs = Vec::new();
    let mut host_ms = Vec::new();
    for exec in execs {
        let start = Instant::now();
        let out = g.run(exec.as_ref()).map_err(|e| {
            CliError::runtime(format!("{name} on the {} executor: {e}", exec.name()))
        })?;
        host_ms.push((exec.name(), start.elapsed().as_secs_f64() * 1e3));
        let t = out.into_iter().next().map(|(_, t)| t).ok_or_else(|| {
            CliError::runtime(format!(
                "{name}: the {} executor returned no output",
                exec.name()
            ))
        })?;
        outs.push(t);
    }
    let comparison = (outs.len() == 2).then(|| Comparison::of(&outs[0], &outs[1]));
    let pred = chip.map(|c| predict(&g.program, c)).transpose()?;
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
    args: &BertArgs,
    model: &BertModel,
    (b, s): (usize, usize),
    stages: &[Stage],
    embedding: &Tensor,
    written: Option<String>,
    trace_events: Option<usize>,
) -> Outcome {
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
        args.weights.display(),
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
        "weights": args.weights.display().to_string(),
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
    if let (Some(path), Some(n)) = (&args.trace, trace_events) {
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
    Outcome {
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
