//! `davinci predict matmul M K N` and `davinci predict op NAME SHAPE`: how long one op would take on an
//! Ascend chip (`--chip`, default 910c), and why: time, achieved TFLOPS and HBM bandwidth, utilisation,
//! the binding resource, energy and the tiling chosen. `--trace FILE` writes the per-core timeline as a
//! Chrome trace (open it in ui.perfetto.dev or chrome://tracing). Nothing runs on the host: recording the
//! op and predicting it needs no GPU and no memory for the tensors.
//!
//! [`report`] renders any prediction; `davinci matmul --predict` and `davinci op --predict` use it too.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use davinci::sched::{Plan, Prediction, predict};
use davinci::{ChipSpec, DType, Program, Shape};
use serde_json::{Map, Value, json};

use crate::common::{CliError, DTypeArg, MatmulFlags, Outcome};
use crate::report::Table;

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[command(subcommand)]
    pub what: PredictCommand,
}

#[derive(Subcommand, Debug)]
pub enum PredictCommand {
    /// Predict one cube_matmul of [M, K] x [K, N].
    Matmul(PredictMatmulArgs),
    /// Predict one vector op (cast, unary, binary, reduction, softmax, layernorm, rmsnorm) on a shape.
    Op(PredictOpArgs),
}

/// The chip and the trace file, shared by every prediction.
#[derive(Args, Debug, Clone)]
pub struct ChipArgs {
    /// The chip: a preset (see `davinci chips`) or a chip .toml file.
    #[arg(long, default_value = "910c", value_name = "NAME|FILE")]
    pub chip: String,
    /// Write the per-core timeline as Chrome trace JSON (Perfetto, chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

impl ChipArgs {
    pub fn resolve(&self) -> Result<ChipSpec, CliError> {
        ChipSpec::resolve(&self.chip).map_err(|e| CliError::usage(e.to_string()))
    }
}

/// `--dtype-in` of a matmul: bf16, or f32 for the Cube's fp32 mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum InDType {
    #[default]
    Bf16,
    F32,
}

#[derive(Args, Debug)]
pub struct PredictMatmulArgs {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    #[command(flatten)]
    pub matmul: MatmulFlags,
    /// Operand dtype: bf16, or f32 (the Cube's fp32 mode, about a quarter of the bf16 rate).
    #[arg(long, value_enum, default_value_t)]
    pub dtype_in: InDType,
    /// Batch size; above 1, A gets a leading batch dimension (and B too unless --shared-b).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// With --batch: B is one [K, N] matrix shared by every batch entry (a weight).
    #[arg(long)]
    pub shared_b: bool,
    #[command(flatten)]
    pub chip: ChipArgs,
}

#[derive(Args, Debug)]
pub struct PredictOpArgs {
    /// cast, a unary function (exp, silu, ...), a binary one (add, mul, ...), a reduction (sum, mean,
    /// amax, sumsq), softmax, layernorm or rmsnorm.
    pub name: String,
    /// The input's shape, e.g. 4096x4096 (row ops work along the last axis).
    pub shape: String,
    /// A binary op's second operand (broadcast to the first); the same shape by default.
    #[arg(long, value_name = "SHAPE")]
    pub other: Option<String>,
    /// The input dtype.
    #[arg(long, value_enum, default_value = "bf16")]
    pub dtype: DTypeArg,
    /// The output dtype; the input's by default (for cast: the other one).
    #[arg(long, value_enum)]
    pub dtype_out: Option<DTypeArg>,
    #[command(flatten)]
    pub chip: ChipArgs,
}

pub fn run(args: &PredictArgs) -> Result<Outcome, CliError> {
    match &args.what {
        PredictCommand::Matmul(a) => run_matmul(a),
        PredictCommand::Op(a) => run_op(a),
    }
}

fn run_matmul(a: &PredictMatmulArgs) -> Result<Outcome, CliError> {
    let chip = a.chip.resolve()?;
    let batch = usize::try_from(a.batch).map_err(|_| CliError::usage("--batch is too large"))?;
    if a.shared_b && batch == 1 {
        return Err(CliError::usage("--shared-b needs --batch above 1"));
    }
    let opts = a.matmul.options();
    let dt = match a.dtype_in {
        InDType::Bf16 => DType::Bf16,
        InDType::F32 => DType::F32,
    };
    let shape = |dims: [usize; 2], batched: bool| {
        if batched && batch > 1 {
            Shape::new([batch, dims[0], dims[1]])
        } else {
            Shape::new(dims)
        }
    };
    let (m, k, n) = (a.m, a.k, a.n);
    let mut p = Program::new();
    let ia = p.input(
        "a",
        shape(if opts.trans_a { [k, m] } else { [m, k] }, true),
        dt,
    );
    let ib = p.input(
        "b",
        shape(if opts.trans_b { [n, k] } else { [k, n] }, !a.shared_b),
        dt,
    );
    let out = p
        .cube_matmul(ia, ib, opts)
        .map_err(|e| CliError::usage(e.to_string()))?;
    p.output(out)?;
    let title = format!(
        "cube_matmul M={m} K={k} N={n} batch={batch}: {dt} x {dt} -> {}",
        opts.dtype_out
    );
    finish(&p, &chip, &a.chip, &title)
}

fn run_op(a: &PredictOpArgs) -> Result<Outcome, CliError> {
    let chip = a.chip.resolve()?;
    let shape = parse_shape(&a.shape)?;
    let dt: DType = a.dtype.into();
    let mut p = Program::new();
    let x = p.input("x", shape.clone(), dt);
    let out = super::predict_ops::record(&mut p, a, x, &shape, dt)?;
    p.output(out)?;
    let title = format!("{} on {dt} {shape}", a.name);
    finish(&p, &chip, &a.chip, &title)
}

/// Parses `4096x4096` (or `4096,4096`) into a shape.
pub fn parse_shape(s: &str) -> Result<Shape, CliError> {
    let dims: Result<Vec<usize>, _> = s
        .split(['x', ','])
        .map(|d| d.trim().parse::<usize>())
        .collect();
    match dims {
        Ok(d) if !d.is_empty() && d.iter().all(|&x| x > 0) => Ok(Shape::new(d)),
        _ => Err(CliError::usage(format!(
            "'{s}' is not a shape: give positive sizes joined by x, e.g. 4096x4096"
        ))),
    }
}

/// Predicts, writes the trace if asked, and renders the report.
fn finish(p: &Program, chip: &ChipSpec, args: &ChipArgs, title: &str) -> Result<Outcome, CliError> {
    let pred = predict(p, chip)?;
    let (mut obj, mut human) = report(&pred, title);
    if let Some(path) = &args.trace {
        write_trace(&pred, path)?;
        obj.insert("trace".into(), json!(path.display().to_string()));
        human.push_str(&format!(
            "\ntrace: {} ({} events; open in ui.perfetto.dev or chrome://tracing)\n",
            path.display(),
            pred.timeline.events.len()
        ));
    }
    Ok(Outcome {
        json: Value::Object(obj),
        human,
        failure: None,
    })
}

/// Writes the Chrome trace of a prediction.
pub fn write_trace(pred: &Prediction, path: &std::path::Path) -> Result<(), CliError> {
    let text = serde_json::to_string(&pred.trace_json())
        .map_err(|e| CliError::runtime(format!("cannot serialise the trace: {e}")))?;
    std::fs::write(path, text).map_err(|e| {
        CliError::runtime(format!(
            "cannot write the trace to {}: {e}; check that its directory exists and is writable",
            path.display()
        ))
    })
}

/// Time with a unit that keeps a few significant digits.
pub fn fmt_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.2} us", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.3} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

/// The report of a prediction: a JSON object and a short table with units.
pub fn report(pred: &Prediction, title: &str) -> (Map<String, Value>, String) {
    let chip = &pred.chip;
    let mut table = Table::new(&[
        ("op", false),
        ("time", true),
        ("TFLOPS", true),
        ("HBM", true),
        ("cube", true),
        ("vector", true),
        ("HBM use", true),
        ("bound", false),
        ("energy", true),
    ]);
    let mut ops = Vec::new();
    let mut plans = String::new();
    for o in &pred.ops {
        table.row(vec![
            o.kernel.to_string(),
            fmt_time(o.time.0),
            format!("{:.1}", o.achieved().0 / 1e12),
            format!("{:.0} GB/s", o.hbm_bw().0 / 1e9),
            pct(o.cube_util),
            pct(o.vector_util),
            pct(o.hbm_util),
            o.bound.name().to_string(),
            format!("{:.3} mJ", o.energy.0 * 1e3),
        ]);
        let (plan_json, plan_line) = plan(&o.plan);
        plans.push_str(&format!("{}: {plan_line}\n", o.kernel));
        let resources: Map<String, Value> = o
            .resources
            .iter()
            .map(|(r, t)| (r.name().to_string(), json!(t.0 / 1e3)))
            .collect();
        ops.push(json!({
            "index": o.index,
            "kernel": o.kernel,
            "output": o.output,
            "start_us": o.start.0 / 1e3,
            "time_us": o.time.0 / 1e3,
            "launch_us": o.launch.0 / 1e3,
            "flops": o.flops.0,
            "tflops": o.achieved().0 / 1e12,
            "hbm_bytes": o.hbm_bytes.0,
            "hbm_gb_per_s": o.hbm_bw().0 / 1e9,
            "l2_bytes": o.l2_bytes.0,
            "die_link_bytes": o.link_bytes.0,
            "cube_util": o.cube_util,
            "vector_util": o.vector_util,
            "hbm_util": o.hbm_util,
            "bound": o.bound.name(),
            "busy_us": resources,
            "energy_j": o.energy.0,
            "cores_used": o.cores_used,
            "plan": plan_json,
        }));
    }
    if pred.ops.len() > 1 {
        table.row(vec![
            "total".into(),
            fmt_time(pred.total.0),
            format!("{:.1}", pred.achieved().0 / 1e12),
            format!("{:.0} GB/s", pred.hbm_bw().0 / 1e9),
            pct(pred.cube_util),
            pct(pred.vector_util),
            pct(pred.hbm_util),
            pred.bound.name().to_string(),
            format!("{:.3} mJ", pred.energy.0 * 1e3),
        ]);
    }
    let mut obj = Map::new();
    obj.insert("chip".into(), Value::Object(super::chips::headline(chip)));
    obj.insert("time_us".into(), json!(pred.total.0 / 1e3));
    obj.insert("flops".into(), json!(pred.flops.0));
    obj.insert("tflops".into(), json!(pred.achieved().0 / 1e12));
    obj.insert("hbm_bytes".into(), json!(pred.hbm_bytes.0));
    obj.insert("hbm_gb_per_s".into(), json!(pred.hbm_bw().0 / 1e9));
    obj.insert("cube_util".into(), json!(pred.cube_util));
    obj.insert("vector_util".into(), json!(pred.vector_util));
    obj.insert("hbm_util".into(), json!(pred.hbm_util));
    obj.insert("bound".into(), json!(pred.bound.name()));
    obj.insert("energy_j".into(), json!(pred.energy.0));
    obj.insert("ops".into(), Value::Array(ops));
    let human = format!(
        "{title}\npredicted on {} ({:.0} TFLOPS bf16, {:.2} TB/s HBM, {:.0} W)\n\n{}\n{plans}",
        chip.name,
        chip.peak_bf16().0 / 1e12,
        chip.hbm_bw().0 / 1e12,
        chip.power_w.value,
        table.render()
    );
    (obj, human)
}

/// The plan chosen for an op, as JSON and as one line.
fn plan(p: &Plan) -> (Value, String) {
    match p {
        Plan::Matmul(e) => {
            let t = &e.tiling;
            let [l1, l0a, l0b, l0c] = t.buffer_use();
            let json = json!({
                "kind": "cube",
                "single_core_m": t.single_core_m,
                "single_core_n": t.single_core_n,
                "single_core_k": t.single_core_k,
                "base_m": t.base_m,
                "base_n": t.base_n,
                "base_k": t.base_k,
                "step_k": t.step_k,
                "depth_l1": t.depth_l1,
                "db_l0a": t.db_l0ab,
                "db_l0b": t.db_l0ab,
                "db_l0c": t.db_l0c,
                "iterate_order": if e.m_inner { "m" } else { "n" },
                "blocks": t.blocks(),
                "blocks_m": t.blocks_m,
                "blocks_n": t.blocks_n,
                "die_split": t.order.name(),
                "cores_used": e.cores_used,
                "l2_hit": e.l2_hit,
                "buffer_bytes": {"l1": l1, "l0a": l0a, "l0b": l0b, "l0c": l0c},
            });
            let line = format!(
                "singleCore {}x{}x{}, base {}x{}x{} (stepK {}), L0C {}, {} blocks ({}x{}{}) on {} cores, {}, \
                 L2 serves {:.0}% of re-reads",
                t.single_core_m,
                t.single_core_n,
                t.single_core_k,
                t.base_m,
                t.base_n,
                t.base_k,
                t.step_k,
                if t.db_l0c {
                    "double-buffered"
                } else {
                    "single"
                },
                t.blocks(),
                t.blocks_m,
                t.blocks_n,
                if t.problem.batch > 1 {
                    format!(" x batch {}", t.problem.batch)
                } else {
                    String::new()
                },
                e.cores_used,
                t.order.name(),
                100.0 * e.l2_hit
            );
            (json, line)
        }
        Plan::Vector(w, e) => {
            let json = json!({
                "kind": "vector",
                "rows": w.rows,
                "row_len": w.row_len,
                "passes": w.passes.len(),
                "chunk_elements": e.chunk_elems,
                "chunks_per_core": e.chunks,
                "cores_used": e.cores_used,
            });
            let line = format!(
                "{} rows x {} on {} vector cores, {} passes, UB chunks of {} elements ({} on the busiest core)",
                w.rows,
                w.row_len,
                e.cores_used,
                w.passes.len(),
                e.chunk_elems,
                e.chunks
            );
            (json, line)
        }
    }
}

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
