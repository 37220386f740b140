//! `davinci train-demo` as a report: a 2-layer decoder (hidden 128) learns to copy token sequences on the
//! emulated 910C (AdamW, bf16 Cube operands, f32 master weights), the loss per step through the progress
//! callback, then the predicted time of one training step on a chip and, data parallel, on a cluster.
//! With both executors the two loss curves must agree bit for bit.

use std::path::Path;

use serde_json::json;

use super::Report;
use super::runs::Executors;
use crate::exec::ExecutorChoice;
use crate::progress::Progress;
use crate::train::demo::{DemoConfig, DemoRun, predict_step, train};
use crate::{Error, Result};

/// Trains `cfg` on every executor of `executor`, predicts one step on `chip` and, data parallel, on
/// `cluster` (presets or files), and reports it; `trace` receives the chip step's per-core timeline.
pub fn run(
    cfg: &DemoConfig,
    executor: ExecutorChoice,
    chip: &str,
    cluster: &str,
    trace: Option<&Path>,
    progress: &mut dyn Progress,
) -> Result<Report> {
    let usage = |e: Error| Error::Usage(e.to_string());
    if cfg.steps == 0 {
        return Err(Error::Usage("--steps must be at least 1".into()));
    }
    cfg.optimizer().map_err(usage)?;
    let timing = predict_step(cfg, chip, Some(cluster)).map_err(usage)?;
    let executors = Executors::select(executor, progress)?;
    let mut runs: Vec<DemoRun> = Vec::new();
    for exec in &executors.list {
        runs.push(train(cfg, exec.as_ref(), progress)?);
    }
    let bits = |r: &DemoRun| r.losses.iter().map(|l| l.to_bits()).collect::<Vec<_>>();
    let identical = runs.windows(2).all(|w| bits(&w[0]) == bits(&w[1]));
    let run = &runs[0];
    let (first, last) = (run.losses[0], run.losses[run.losses.len() - 1]);
    let m = &cfg.model;

    let mut human = format!(
        "train-demo: {}-layer decoder, hidden {}, {} heads ({} key/value), FFN {}, vocabulary {}; copy task, \
         {} sequences of {} tokens per step; AdamW lr {}, bf16 compute, f32 master weights and state\n",
        m.layers,
        m.hidden,
        m.heads,
        m.kv_heads,
        m.ffn,
        m.vocab,
        m.batch,
        m.seq(),
        cfg.lr
    );
    human += &format!("loss per step ({}):\n", run.executor);
    for (i, chunk) in run.losses.chunks(10).enumerate() {
        let line: Vec<String> = chunk.iter().map(|l| format!("{l:.4}")).collect();
        human += &format!("  {:>4}: {}\n", i * 10 + 1, line.join(" "));
    }
    for r in &runs {
        human += &format!(
            "{}: {} steps in {:.1} s\n",
            r.executor, cfg.steps, r.seconds
        );
    }
    human += &format!(
        "loss {first:.4} -> {last:.4} ({:.1}% of the start; chance is ln {} = {:.4})\n",
        100.0 * last / first,
        m.vocab - 1,
        ((m.vocab - 1) as f64).ln()
    );
    if runs.len() > 1 {
        human += &format!(
            "executors {}: loss curves {}\n",
            runs.iter()
                .map(|r| r.executor)
                .collect::<Vec<_>>()
                .join(" and "),
            if identical { "bit-identical" } else { "DIFFER" }
        );
    }
    human += &format!(
        "one training step on {}: {:.1} us predicted ({} ops, bound by {})\n",
        timing.chip.chip.name,
        timing.chip.total.0 / 1e3,
        timing.chip.ops.len(),
        timing.chip.bound.name()
    );
    let cluster = timing.cluster.as_ref().map(|c| {
        human += &format!(
            "data parallel on {} ({} chips, one replica each): {:.1} us per step, of which {:.1} us the {} \
             all-reduce of {:.2} MB of f32 gradients; {:.3e} tokens/s\n",
            c.name,
            c.chips,
            c.step_ns / 1e3,
            c.all_reduce_ns / 1e3,
            c.algorithm,
            c.grad_bytes / 1e6,
            c.tokens_per_s
        );
        json!({
            "name": c.name, "chips": c.chips, "step_us": c.step_ns / 1e3,
            "all_reduce_us": c.all_reduce_ns / 1e3, "all_reduce_algorithm": c.algorithm,
            "grad_bytes": c.grad_bytes, "tokens_per_s": c.tokens_per_s,
        })
    });
    let mut json = json!({
        "steps": cfg.steps,
        "seed": cfg.seed,
        "lr": cfg.lr,
        "runs": runs.iter().map(|r| json!({
            "executor": r.executor, "seconds": r.seconds, "losses": r.losses,
        })).collect::<Vec<_>>(),
        "first_loss": first,
        "last_loss": last,
        "identical": identical,
        "chip": { "name": timing.chip.chip.name, "step_us": timing.chip.total.0 / 1e3,
                  "ops": timing.chip.ops.len(), "bound": timing.chip.bound.name() },
        "cluster": cluster,
    });
    if let Some(path) = trace {
        timing.chip.write_trace(path)?;
        json["trace"] = json!(path.display().to_string());
        human += &format!(
            "trace: {} ({} events; open in ui.perfetto.dev or chrome://tracing)\n",
            path.display(),
            timing.chip.timeline.events.len()
        );
    }
    Ok(Report {
        json,
        human,
        failure: (!identical).then(|| "the executors' loss curves differ".to_string()),
    })
}
