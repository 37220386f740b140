//! Predictions as reports: `davinci predict matmul|op|attention` ([`matmul`], [`op`], [`attention`]: record the op from its sizes
//! and predict it; nothing runs on the host and no tensor memory is needed), and the prediction that the
//! host-running reports (`davinci matmul|op|bert --predict`) add beside the host's time
//! ([`PredictTarget::add`]). A trace file, when asked for, holds the per-core timeline.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::Report;
use super::ops::{OpName, parse_shape};
use super::plots;
use super::predict::report;
use super::table::{Table, fmt_time};
use crate::chip::ChipSpec;
use crate::program::{CubeFormat, MatmulOptions, Program};
use crate::sched::flash::{FlashProblem, predict_flash};
use crate::sched::{LaunchMode, Prediction, predict_launched};
use crate::tensor::{DType, Shape};
use crate::{Error, Result};

/// The chip a prediction is for and where its trace goes.
#[derive(Clone, Debug)]
pub struct PredictTarget {
    pub chip: ChipSpec,
    /// Write the per-core timeline here as Chrome trace JSON (Perfetto, chrome://tracing).
    pub trace: Option<PathBuf>,
    /// Who launches the kernels (`sched::launch`): the device's queue, or a framework op by op.
    pub launch: LaunchMode,
    /// The SVG plots to draw of the prediction.
    pub plots: plots::PredictionPlots,
}

impl PredictTarget {
    /// `chip` is a preset name or a chip .toml file; a name that resolves to nothing is a usage error.
    pub fn resolve(chip: &str, trace: Option<PathBuf>) -> Result<Self> {
        let chip = ChipSpec::resolve(chip).map_err(|e| Error::Usage(e.to_string()))?;
        Ok(PredictTarget {
            chip,
            trace,
            launch: LaunchMode::Device,
            plots: plots::PredictionPlots::default(),
        })
    }

    /// The prediction of `program` on this target's chip and launch mode.
    pub fn predict(&self, program: &Program) -> Result<Prediction> {
        predict_launched(program, &self.chip, self.launch)
    }

    /// Writes the trace of `pred` if asked, and says so in the report.
    pub fn write_trace(
        &self,
        pred: &Prediction,
        obj: &mut Map<String, Value>,
        human: &mut String,
    ) -> Result<()> {
        if let Some(path) = &self.trace {
            pred.write_trace(path)?;
            obj.insert("trace".into(), json!(path.display().to_string()));
            human.push_str(&format!(
                "\ntrace: {} ({} events; open in ui.perfetto.dev or chrome://tracing)\n",
                path.display(),
                pred.timeline.events.len()
            ));
        }
        self.plots.write(pred, "prediction", obj, human)?;
        Ok(())
    }

    /// Adds the prediction of `program` to a host-run report (`prediction` in JSON, a line and the table
    /// in text); `host_ms` is the host's time for the same program, for the ratio.
    pub fn add(
        &self,
        program: &Program,
        obj: &mut Map<String, Value>,
        human: &mut String,
        host_ms: Option<f64>,
    ) -> Result<()> {
        let pred = self.predict(program)?;
        let (report_obj, text) = report(&pred, "");
        obj.insert("prediction".into(), Value::Object(report_obj));
        let ratio = host_ms
            .filter(|ms| *ms > 0.0 && pred.total.0 > 0.0)
            .map(|ms| format!(", {:.0}x faster than this host", ms * 1e6 / pred.total.0))
            .unwrap_or_default();
        human.push_str(&format!(
            "\npredicted on {}: {} ({:.1} TFLOPS, bound by {}){ratio}\n{}",
            self.chip.name,
            fmt_time(pred.total.0),
            pred.achieved().0 / 1e12,
            pred.bound.name(),
            text.trim_start_matches('\n')
        ));
        self.write_trace(&pred, obj, human)
    }

    /// Predicts `program` and renders the report under `title`.
    fn finish(&self, program: &Program, title: &str) -> Result<Report> {
        self.render(&self.predict(program)?, title)
    }

    /// Renders the report of `pred` under `title` (and writes its trace if asked).
    fn render(&self, pred: &Prediction, title: &str) -> Result<Report> {
        let (mut obj, mut human) = report(pred, title);
        self.write_trace(pred, &mut obj, &mut human)?;
        Ok(Report {
            json: Value::Object(obj),
            human,
            failure: None,
        })
    }
}

/// The sizes of one `cube_matmul`: `[batch,] M x K` times `[batch,] K x N` (A stored `[K, M]` with
/// `trans_a`, B `[N, K]` with `trans_b`), and its options.
#[derive(Clone, Copy, Debug)]
pub struct MatmulSizes {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    /// Above 1, A gets a leading batch dimension, and B too unless `shared_b`.
    pub batch: usize,
    /// B is one matrix shared by every batch entry (a weight).
    pub shared_b: bool,
    pub opts: MatmulOptions,
}

impl MatmulSizes {
    /// The operands' shapes.
    pub fn shapes(&self) -> (Shape, Shape) {
        let (m, k, n, o) = (self.m, self.k, self.n, &self.opts);
        let shape = |dims: [usize; 2], batched: bool| {
            if batched && self.batch > 1 {
                Shape::new([self.batch, dims[0], dims[1]])
            } else {
                Shape::new(dims)
            }
        };
        (
            shape(if o.trans_a { [k, m] } else { [m, k] }, true),
            shape(if o.trans_b { [n, k] } else { [k, n] }, !self.shared_b),
        )
    }

    /// Records the matmul on inputs `a` and `b` of dtype `dt`. The sizes came from the user, so a refusal
    /// is a usage error.
    pub fn record(&self, dt: DType) -> Result<Program> {
        if self.shared_b && self.batch == 1 {
            return Err(Error::Usage("--shared-b needs --batch above 1".into()));
        }
        let (sa, sb) = self.shapes();
        let mut p = Program::new();
        let ia = p.input("a", sa, dt);
        let ib = p.input("b", sb, dt);
        let out = p
            .cube_matmul(ia, ib, self.opts)
            .map_err(|e| Error::Usage(e.to_string()))?;
        p.output(out)?;
        Ok(p)
    }
}

/// `davinci predict matmul`: one `cube_matmul` in Cube format `format` (operands bf16, fp16 or int8, or
/// f32 for the fp32 and HF32 modes). Beside the prediction's fields the report gives the format (`dtype`),
/// its peak on the chip (`peak_tflops`: TOPS for int8) and `efficiency`, achieved over that peak.
pub fn matmul(sizes: &MatmulSizes, format: CubeFormat, target: &PredictTarget) -> Result<Report> {
    let sizes = MatmulSizes {
        opts: MatmulOptions {
            format: Some(format),
            ..sizes.opts
        },
        ..*sizes
    };
    // Formats without a tensor dtype of their own yet (fp16, int8) are recorded by shape on bf16
    // stand-ins; the timing reads the format, not the stand-in's dtype.
    let p = sizes.record(format.operand_dtype())?;
    let title = format!(
        "cube_matmul M={} K={} N={} batch={}: {format} x {format} -> {} ({} accumulation)",
        sizes.m,
        sizes.k,
        sizes.n,
        sizes.batch,
        sizes.opts.dtype_out,
        format.accumulator()
    );
    let pred = target.predict(&p)?;
    let mut report = target.render(&pred, &title)?;
    let peak = target.chip.peak(format).0;
    let efficiency = if peak > 0.0 {
        pred.achieved().0 / peak
    } else {
        0.0
    };
    if let Some(obj) = report.json.as_object_mut() {
        obj.insert("dtype".into(), json!(format.name()));
        obj.insert("peak_tflops".into(), json!(peak / 1e12));
        obj.insert("efficiency".into(), json!(efficiency));
    }
    report.human.push_str(&format!(
        "{format}: {:.1}% of the chip's {:.1} {} peak\n",
        100.0 * efficiency,
        peak / 1e12,
        format.rate_unit()
    ));
    Ok(report)
}

/// `davinci predict op`: Vector op `name` on an input of `shape` (text such as `4096x4096`) in `dt`;
/// `other` is a binary op's second shape, `dtype_out` the result's (the input's by default).
pub fn op(
    name: &str,
    shape: &str,
    other: Option<&str>,
    dt: DType,
    dtype_out: Option<DType>,
    target: &PredictTarget,
) -> Result<Report> {
    let (p, title) = record_op(name, shape, other, dt, dtype_out)?;
    target.finish(&p, &title)
}

/// Vector op `name` on an input of `shape` (text) in `dt`, recorded alone, and its title.
pub fn record_op(
    name: &str,
    shape: &str,
    other: Option<&str>,
    dt: DType,
    dtype_out: Option<DType>,
) -> Result<(Program, String)> {
    let shape = parse_shape(shape)?;
    let mut p = Program::new();
    let x = p.input("x", shape.clone(), dt);
    let op: OpName = name.parse()?;
    let other = other.map(parse_shape).transpose()?;
    let out = op.record(&mut p, x, &shape, dt, dtype_out, other.as_ref())?;
    p.output(out)?;
    Ok((p, format!("{name} on {dt} {shape}")))
}

/// `davinci predict attention`: one fused attention kernel (FlashAttention, [`crate::sched::flash`]),
/// which no program op records; it has no per-core timeline, so a trace is refused.
pub fn attention(p: &FlashProblem, target: &PredictTarget) -> Result<Report> {
    if target.trace.is_some() {
        return Err(Error::Usage(
            "predict attention has no per-core timeline to trace (the fused kernel is timed as a whole)"
                .into(),
        ));
    }
    let e = predict_flash(&target.chip, p)?;
    let t = e.time.0;
    let tflops = if t > 0.0 { e.flops.0 / t / 1e3 } else { 0.0 };
    let mut table = Table::new(&[("resource", false), ("busy", true)]);
    for (r, busy) in &e.resources {
        table.row(vec![r.name().to_string(), fmt_time(busy.0)]);
    }
    let human = format!(
        "flash attention on {}: {} heads x {} queries x {} keys, head dim {}/{}{}\n\n\
         time {} ({tflops:.1} TFLOPS, bound by {}), {} tasks on {} AI cores, HBM {}\n\n{}",
        target.chip.name,
        p.heads,
        p.sq,
        p.skv,
        p.d,
        p.dv,
        if p.causal { ", causal" } else { "" },
        fmt_time(t),
        e.bound.name(),
        e.tasks,
        e.cores_used,
        crate::units::fmt_bytes(e.hbm_bytes.0.round() as u128),
        table.render()
    );
    let resources: Map<String, Value> = e
        .resources
        .iter()
        .map(|(r, b)| (r.name().to_string(), json!(b.0 / 1e3)))
        .collect();
    Ok(Report {
        json: json!({
            "chip": target.chip.name, "kernel": "flash_attention", "problem": p,
            "time_us": t / 1e3, "tflops": tflops, "flops": e.flops.0, "bound": e.bound.name(),
            "hbm_bytes": e.hbm_bytes.0, "l2_bytes": e.l2_bytes.0, "busy_us": resources,
            "tasks": e.tasks, "cores_used": e.cores_used,
        }),
        human,
        failure: None,
    })
}
