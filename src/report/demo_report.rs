//! The report of `davinci demo`: what ran, the host's times, the check against the CPU twin, the 910C
//! prediction at the full sequence (total, achieved TFLOPS and share of peak, binding resource, energy), a
//! short table of the slowest ops (every op in JSON), and the Chrome trace written to a file.

use std::path::Path;

use serde_json::{Value, json};

use super::Report as Outcome;
use super::headline::chip as headline;
use super::{Comparison, Table, fmt_bytes, fmt_gflops, fmt_time};
use crate::device::AdapterDescription;
use crate::exec::HostProfile;
use crate::model::DecoderConfig;
use crate::program::{Activation, CubeFormat, Op, TensorId};
use crate::sched::OpPrediction;
use crate::{DType, Error, Prediction, Program};

/// The sequence length of the demo and of its 910C prediction.
pub const FULL_SEQ: usize = 512;

/// An executor's measured rate: FLOP/s on a matmul of `rows` rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub executor: &'static str,
    pub rows: usize,
    pub flops_per_s: f64,
}

/// Ops shown in the text table; the rest are summed in one row.
const TOP_OPS: usize = 8;

/// One executor's run of the layer on this host.
pub struct HostRun {
    pub executor: &'static str,
    pub ms: f64,
    pub gflops: f64,
}

/// Everything the demo found out.
pub struct DemoReport<'a> {
    pub config: DecoderConfig,
    pub dtype: DType,
    pub seed: u64,
    /// The host run's sequence length.
    pub seq: usize,
    /// Why the default seq was scaled down, if it was.
    pub scaled: Option<String>,
    /// Each executor's measured rate behind the default seq; empty when `--seq` was given.
    pub calibration: Vec<Rate>,
    pub adapter: Option<AdapterDescription>,
    pub primary: &'static str,
    /// `--executor auto` chose the CPU twin: no GPU adapter opened, or (where `select` measures) the only one
    /// is a software rasterizer slower than the twin.
    pub fallback: bool,
    pub weights_ms: f64,
    pub runs: Vec<HostRun>,
    /// The CPU twin's run, op by op (when the twin ran).
    pub host_profile: Option<HostProfile>,
    pub comparison: Option<Comparison>,
    /// FLOPs of the host run.
    pub flops: f64,
    /// The program at the full seq (or the host's, when they are the same), and its prediction.
    pub program: &'a Program,
    pub pred: &'a Prediction,
    /// The prediction at the host's seq, when it differs from the full one.
    pub pred_run: Option<&'a Prediction>,
    pub trace: &'a Path,
    pub plots: &'a super::plots::PredictionPlots,
}

impl DemoReport<'_> {
    pub fn render(&self) -> Result<Outcome, Error> {
        let events = self.pred.write_trace(self.trace)?;
        let trace = std::fs::canonicalize(self.trace).unwrap_or_else(|_| self.trace.to_path_buf());
        let c = &self.config;
        let pred = self.pred;
        let pred_seq = if self.pred_run.is_some() {
            FULL_SEQ
        } else {
            self.seq
        };
        let chip = &pred.chip;
        let peak = chip.peak(CubeFormat::of_dtype(self.dtype)).0;
        let of_peak = pred.achieved().0 / peak;
        let weight_bytes = (c.params() * self.dtype.size()) as u128;

        let ops: Vec<Value> = pred
            .ops
            .iter()
            .map(|o| {
                json!({
                    "index": o.index, "kernel": o.kernel, "output": o.output,
                    "what": describe(self.program, o), "shape": shape(self.program, o),
                    "start_us": o.start.0 / 1e3, "time_us": o.time.0 / 1e3,
                    "share": share(o, pred), "flops": o.flops.0,
                    "tflops": o.achieved().0 / 1e12, "hbm_bytes": o.hbm_bytes.0,
                    "cube_util": o.cube_util, "vector_util": o.vector_util, "hbm_util": o.hbm_util,
                    "bound": o.bound.name(), "energy_j": o.energy.0, "cores_used": o.cores_used,
                })
            })
            .collect();
        let calibration: Vec<Value> = (self.calibration.iter())
            .map(|r| json!({"executor": r.executor, "rows": r.rows, "gflops": r.flops_per_s / 1e9}))
            .collect();
        let runs: Vec<Value> = (self.runs.iter())
            .map(|r| json!({"executor": r.executor, "ms": r.ms, "gflops": r.gflops}))
            .collect();
        let mut obj = json!({
            "command": "demo",
            "model": {
                "name": "LLaMA-3 8B decoder layer",
                "hidden": c.hidden, "heads": c.heads, "kv_heads": c.kv_heads, "head_dim": c.head_dim(),
                "ffn": c.ffn, "params": c.params(), "weight_bytes": weight_bytes,
            },
            "dtype": self.dtype.name(), "seed": self.seed, "batch": 1, "seq": self.seq,
            "seq_scaled_reason": self.scaled, "calibration": calibration,
            "executor": self.primary, "fallback_to_cpu": self.fallback,
            "adapter": self.adapter.as_ref().map(|a| json!({"name": a.name, "software": a.software})),
            "weights_ms": self.weights_ms, "flops": self.flops, "runs": runs,
            "cpu_host_ms_by_unit": self.host_profile.as_ref().map(|p| json!({
                "cube": p.unit_s("cube") * 1e3, "vector": p.unit_s("vector") * 1e3,
                "mte": p.unit_s("mte") * 1e3, "vector_share": p.share("vector"),
            })),
            "checked": self.comparison.is_some(), "bit_exact": Value::Null,
            "prediction": {
                "chip": headline(chip), "seq": pred_seq, "time_us": pred.total.0 / 1e3,
                "flops": pred.flops.0, "tflops": pred.achieved().0 / 1e12,
                "peak_tflops": peak / 1e12, "fraction_of_peak": of_peak,
                "hbm_bytes": pred.hbm_bytes.0, "cube_util": pred.cube_util,
                "vector_util": pred.vector_util, "hbm_util": pred.hbm_util,
                "bound": pred.bound.name(), "energy_j": pred.energy.0, "ops": ops,
            },
            "prediction_host_seq": self.pred_run.map(|r| json!({
                "seq": self.seq, "time_us": r.total.0 / 1e3, "tflops": r.achieved().0 / 1e12,
                "bound": r.bound.name(), "energy_j": r.energy.0,
            })),
            "trace": trace.display().to_string(), "trace_events": events,
        });
        if let (Some(cmp), Value::Object(o)) = (&self.comparison, &mut obj) {
            cmp.json_fields(o);
        }

        let mut h = format!(
            "davinci demo: one LLaMA-3 8B decoder layer (RMSNorm, rotary GQA attention with a causal mask, \
             SwiGLU), seeded random weights\n\
             model     hidden {}, {} heads ({} key/value heads, head dim {}), FFN {}: {:.1} M parameters \
             ({} {}), seed {}\n",
            c.hidden,
            c.heads,
            c.kv_heads,
            c.head_dim(),
            c.ffn,
            c.params() as f64 / 1e6,
            fmt_bytes(weight_bytes),
            self.dtype.name(),
            self.seed
        );
        let exec = match &self.adapter {
            Some(a) if self.primary == "gpu" => format!(
                "gpu: {}{}",
                a.name,
                if a.software { " (software)" } else { "" }
            ),
            Some(a) if self.fallback => format!(
                "cpu (the CPU twin: `auto` chose it over {}, see the notice)",
                a.name
            ),
            _ if self.fallback => {
                "cpu (the CPU twin: no GPU adapter opened, see the notice)".into()
            }
            _ => "cpu (the CPU twin)".to_string(),
        };
        h.push_str(&format!("executor  {exec}\n"));
        h.push_str(&format!("host run  batch 1, seq {}", self.seq));
        match &self.scaled {
            Some(why) => h.push_str(&format!("\n          ({why})\n")),
            None => h.push('\n'),
        }
        h.push_str(&format!(
            "\nthis host: weights generated in {:.2} s; the layer is {:.1} GFLOP at seq {}\n",
            self.weights_ms / 1e3,
            self.flops / 1e9,
            self.seq
        ));
        for r in &self.runs {
            let what = if r.executor == "cpu" && self.primary == "gpu" {
                "cpu twin (check)"
            } else {
                r.executor
            };
            h.push_str(&format!(
                "  {what:<17} {:>8.2} s  {:>8} GFLOP/s\n",
                r.ms / 1e3,
                fmt_gflops(r.gflops)
            ));
        }
        if let Some(p) = &self.host_profile {
            let part = |u: &str| format!("{} {:.2} s ({:.0}%)", u, p.unit_s(u), 100.0 * p.share(u));
            h.push_str(&format!(
                "  cpu twin by unit: {}, {}, {}\n",
                part("cube"),
                part("vector"),
                part("mte")
            ));
        }
        match &self.comparison {
            Some(cmp) => h.push_str(&format!("check: {}\n", cmp.human_line())),
            None if self.primary == "cpu" && self.adapter.is_some() => h.push_str(
                "check: none needed (the CPU twin is the reference); --executor gpu runs the \
                 adapter too and checks its bits\n",
            ),
            None if self.primary == "cpu" => {
                h.push_str("check: none needed (the CPU twin is the reference)\n")
            }
            None => h.push_str("check: skipped (--no-check)\n"),
        }

        h.push_str(&format!(
            "\n{} prediction at seq {pred_seq}{}: {}, {:.1} TFLOPS ({:.0}% of the {:.0} TFLOPS {} peak), \
             bound by {}, {:.2} J\n",
            chip.name,
            if self.pred_run.is_some() {
                format!(" (the host ran seq {})", self.seq)
            } else {
                String::new()
            },
            fmt_time(pred.total.0),
            pred.achieved().0 / 1e12,
            100.0 * of_peak,
            peak / 1e12,
            self.dtype.name(),
            pred.bound.name(),
            pred.energy.0
        ));
        if let Some(r) = self.pred_run {
            h.push_str(&format!(
                "{} prediction at seq {}: {}, {:.1} TFLOPS, bound by {}\n",
                chip.name,
                self.seq,
                fmt_time(r.total.0),
                r.achieved().0 / 1e12,
                r.bound.name()
            ));
        }
        h.push('\n');
        h.push_str(&self.ops_table());
        h.push_str(&format!(
            "\ntrace: {} ({} events; open in ui.perfetto.dev or chrome://tracing)\n",
            trace.display(),
            events
        ));
        if let Value::Object(map) = &mut obj {
            self.plots.write(pred, "demo", map, &mut h)?;
        }
        Ok(Outcome {
            json: obj,
            human: h,
            failure: self.comparison.as_ref().and_then(|c| c.failure()),
        })
    }

    /// The slowest ops by predicted time, the rest in one row, and the total.
    fn ops_table(&self) -> String {
        let pred = self.pred;
        let mut t = Table::new(&[
            ("#", true),
            ("kernel", false),
            ("what", false),
            ("output", false),
            ("time", true),
            ("TFLOPS", true),
            ("bound", false),
            ("share", true),
        ]);
        let mut order: Vec<&OpPrediction> = pred.ops.iter().collect();
        order.sort_by(|a, b| b.time.0.total_cmp(&a.time.0));
        for o in order.iter().take(TOP_OPS) {
            t.row(vec![
                o.index.to_string(),
                o.kernel.to_string(),
                describe(self.program, o),
                shape(self.program, o),
                fmt_time(o.time.0),
                format!("{:.1}", o.achieved().0 / 1e12),
                o.bound.name().to_string(),
                format!("{:.1}%", 100.0 * share(o, pred)),
            ]);
        }
        if order.len() > TOP_OPS {
            let rest = &order[TOP_OPS..];
            let time: f64 = rest.iter().map(|o| o.time.0).sum();
            t.row(vec![
                String::new(),
                format!("{} other ops", rest.len()),
                String::new(),
                String::new(),
                fmt_time(time),
                String::new(),
                String::new(),
                format!("{:.1}%", 100.0 * frac(time, pred.total.0)),
            ]);
        }
        t.row(vec![
            String::new(),
            format!("total ({} ops)", pred.ops.len()),
            String::new(),
            String::new(),
            fmt_time(pred.total.0),
            format!("{:.1}", pred.achieved().0 / 1e12),
            pred.bound.name().to_string(),
            "100%".into(),
        ]);
        format!(
            "ops by predicted time on {} (the {} slowest of {}; every op in --json):\n{}",
            pred.chip.name,
            TOP_OPS.min(pred.ops.len()),
            pred.ops.len(),
            t.render()
        )
    }
}

fn frac(x: f64, total: f64) -> f64 {
    if total > 0.0 { x / total } else { 0.0 }
}

fn share(o: &OpPrediction, pred: &Prediction) -> f64 {
    frac(o.time.0, pred.total.0)
}

/// The shape of an op's output, e.g. `[512, 14336]`.
fn shape(program: &Program, o: &OpPrediction) -> String {
    let out = program.ops().get(o.index).map(|op| match op {
        Op::CubeMatmul(m) => m.out,
        Op::Cast(c) => c.out,
        Op::Vector(v) => v.out,
        Op::Move(m) => m.out,
        Op::Rope(r) => r.out,
    });
    out.and_then(|id| program.desc(id).ok())
        .map_or_else(String::new, |d| d.shape.to_string())
}

/// What an op does in the layer, from the inputs it reads: `q_proj`, `down_proj + residual`,
/// `input_layernorm`; the output's name when it reads no named input.
fn describe(program: &Program, o: &OpPrediction) -> String {
    let input = |id: TensorId| {
        program
            .inputs()
            .contains(&id)
            .then(|| program.desc(id).ok())
            .flatten()
            .map(|d| short(&d.name))
    };
    match program.ops().get(o.index) {
        Some(Op::CubeMatmul(m)) => {
            let mut s = match input(m.b) {
                Some(w) => w,
                None if m.options.trans_b => "scores = q k^T".to_string(),
                None => "context = probs v".to_string(),
            };
            let e = &m.epilogue;
            if let Some(scale) = e.scale {
                s.push_str(&format!(" * {scale:.4}"));
            }
            if e.activation != Activation::None {
                s.push_str(&format!(" + {}", e.activation.name()));
            }
            if e.residual.is_some() {
                s.push_str(" + residual");
            }
            s
        }
        Some(Op::Vector(v)) => [v.gamma, v.mask, v.y]
            .into_iter()
            .flatten()
            .find_map(input)
            .map_or_else(
                || o.output.clone(),
                |n| format!("{} {n}", v_name(&o.output)),
            ),
        _ => o.output.clone(),
    }
}

/// `self_attn.q_proj.weight` -> `q_proj`.
fn short(name: &str) -> String {
    let name = name.strip_suffix(".weight").unwrap_or(name);
    name.rsplit('.').next().unwrap_or(name).to_string()
}

/// `rmsnorm_25` -> `rmsnorm`.
fn v_name(output: &str) -> &str {
    output.rsplit_once('_').map_or(output, |(k, _)| k)
}
