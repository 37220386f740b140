//! The demo (`davinci demo`): the project's main job, needing no files. One LLaMA-3 8B decoder layer (hidden 4096, 32
//! heads, 8 key/value heads, FFN 14336) with seeded random weights runs on the best executor, is checked bit
//! for bit against the CPU twin, and is predicted on a 910C (total, achieved TFLOPS, binding resource,
//! energy, a short table of ops, a Chrome trace written to a file).
//!
//! The host run uses `--seq` (512 by default). On a slow host (lavapipe, or the CPU twin alone or as the
//! check on few cores), where a layer at seq 512 would take minutes, the default is scaled down: each
//! executor's rate is measured on matmuls of the layer's weight ([`calibrate`]) and the seq halved until
//! the runs fit [`HOST_BUDGET_S`] ([`scaled_seq`]); the output says so and why. The 910C prediction is always
//! made for the full sequence, since the timing model is cheap.
//! `--hidden`, `--heads`, `--kv-heads` and `--ffn` shrink the model (tests, small machines).

use std::path::PathBuf;
use std::time::Instant;

use super::Report as Outcome;
use super::demo_report::{DemoReport, HostRun};
pub use super::demo_report::{FULL_SEQ, Rate};
use super::{Comparison, fmt_gflops};
use crate::exec::ProfiledCpu;
use crate::model::{DecoderConfig, DecoderLayer, Graph};
use crate::progress::Progress;
use crate::tensor::random::gen_bf16;
use crate::{CpuExecutor, DType, Error, Executor, ExecutorChoice, MatmulOptions, Program, Tensor};

/// What the demo runs: the CLI's flags, as plain values.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Sequence length of the host run (512, or less on a slow host, from measured rates, by default).
    pub seq: Option<usize>,
    /// Compute dtype of weights, activations and every op's result.
    pub dtype: DType,
    /// Which executor runs the layer; a GPU run is checked against the CPU twin (`Both` is the same).
    pub executor: ExecutorChoice,
    /// Skip the check against the CPU twin.
    pub no_check: bool,
    /// Seed of the weights (projection i uses seed + i) and of the input (seed + 100).
    pub seed: u64,
    /// The chip of the prediction: a preset or a chip .toml file.
    pub chip: String,
    /// Where the 910C timeline goes, as Chrome trace JSON.
    pub trace: PathBuf,
    /// SVG plots of the 910C prediction (roofline, one op's timeline).
    pub plots: super::plots::PredictionPlots,
    /// Model size (LLaMA-3 8B's by default: 4096, 32, 8, 14336).
    pub hidden: Option<usize>,
    pub heads: Option<usize>,
    pub kv_heads: Option<usize>,
    pub ffn: Option<usize>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seq: None,
            dtype: DType::Bf16,
            executor: ExecutorChoice::Auto,
            no_check: false,
            seed: 0,
            chip: "910c".to_string(),
            trace: PathBuf::from("davinci-demo-trace.json"),
            plots: Default::default(),
            hidden: None,
            heads: None,
            kv_heads: None,
            ffn: None,
        }
    }
}

/// The decoder config from the flags, checked here so that a bad size is a usage error that names the flag.
pub fn config(args: &DemoOptions) -> Result<DecoderConfig, Error> {
    let mut c = DecoderConfig::llama3_8b();
    c.hidden = args.hidden.unwrap_or(c.hidden);
    c.heads = args.heads.unwrap_or(c.heads);
    c.kv_heads = args.kv_heads.unwrap_or(c.kv_heads);
    c.ffn = args.ffn.unwrap_or(c.ffn);
    if c.hidden == 0 || c.heads == 0 || c.kv_heads == 0 || c.ffn == 0 {
        return Err(Error::Usage(
            "--hidden, --heads, --kv-heads and --ffn must be positive".to_string(),
        ));
    }
    if c.hidden % c.heads != 0 || c.head_dim() % 2 != 0 {
        return Err(Error::Usage(format!(
            "--heads {} must divide --hidden {} into heads of an even width (rotary embedding pairs them)",
            c.heads, c.hidden
        )));
    }
    if c.heads % c.kv_heads != 0 {
        return Err(Error::Usage(format!(
            "--kv-heads {} must divide --heads {}: each key/value head serves a whole group of query heads",
            c.kv_heads, c.heads
        )));
    }
    Ok(c)
}

/// FLOPs of one layer at `seq` (projections and the two attention matmuls), for rates and the seq rule.
pub fn layer_flops(c: &DecoderConfig, seq: usize) -> f64 {
    let kv = (c.kv_heads * c.head_dim()) as f64;
    let (h, f, s) = (c.hidden as f64, c.ffn as f64, seq as f64);
    2.0 * s * h * (2.0 * h + 2.0 * kv + 3.0 * f) + 4.0 * s * s * h
}

/// Seconds the host runs (the chosen executor and the check) may take together at the default seq.
pub const HOST_BUDGET_S: f64 = 30.0;

/// The default seq at the measured `rates` (one per run): the largest power of two up to [`FULL_SEQ`]
/// whose runs together fit [`HOST_BUDGET_S`], and at least [`CALIBRATION_ROWS`].
pub fn scaled_seq(c: &DecoderConfig, rates: &[Rate]) -> usize {
    let mut seq = FULL_SEQ;
    while seq > CALIBRATION_ROWS && host_secs(c, seq, rates) > HOST_BUDGET_S {
        seq /= 2;
    }
    seq
}

/// The expected seconds of the host runs at `seq`: the layer's FLOPs at each measured rate, counting at
/// least the rows it was measured on (fewer rows hardly run faster: a GPU workgroup's tile, a CPU panel).
pub fn host_secs(c: &DecoderConfig, seq: usize, rates: &[Rate]) -> f64 {
    let secs = |r: &Rate| layer_flops(c, seq.max(r.rows)) / r.flops_per_s;
    rates.iter().map(secs).sum()
}

/// Rows of the first calibration matmul, and the fewest the default seq scales down to.
pub const CALIBRATION_ROWS: usize = 16;
/// A calibration matmul of four times the rows is run while it should take less than this.
const CALIBRATION_STEP_S: f64 = 0.5;

/// Each executor's rate on `x[rows, hidden] @ k_proj^T` (the layer's own weight; matmuls are nearly all
/// of its work): a warm-up run (pipelines), then timed runs at 16, 64, 256 rows while the next one should
/// take under [`CALIBRATION_STEP_S`]. The rate of the largest is kept; below its rows, time is taken as
/// flat, so the seq it picks errs short.
fn calibrate(
    layer: &DecoderLayer,
    executors: &[Box<dyn Executor>],
    dt: DType,
    progress: &mut dyn Progress,
) -> Result<Vec<Rate>, Error> {
    let c = &layer.config;
    let w = layer
        .tensors
        .iter()
        .find(|(n, _)| n == "self_attn.k_proj.weight")
        .map(|(_, t)| t)
        .ok_or_else(|| Error::Program("the layer has no k_proj weight".to_string()))?;
    let opts = MatmulOptions {
        trans_b: true,
        dtype_out: dt,
        ..MatmulOptions::default()
    };
    let mut time = |exec: &dyn Executor, rows: usize| -> Result<f64, Error> {
        let x = input(c, rows, 0, dt)?;
        let mut p = Program::new();
        let ix = p.input("x", x.shape().clone(), dt);
        let iw = p.input("w", w.shape().clone(), dt);
        let out = p.cube_matmul(ix, iw, opts)?;
        p.output(out)?;
        let label = format!("{}: measuring the host's rate ({rows} rows)", exec.name());
        let (res, ms) = timed(progress, &label, || exec.run(&p, &[&x, w]));
        res?;
        Ok(ms.max(1e-3) * 1e-3)
    };
    let flops = |rows: usize| 2.0 * (rows * c.hidden * w.shape().dims()[0]) as f64;
    let mut rates = Vec::new();
    for exec in executors {
        time(exec.as_ref(), CALIBRATION_ROWS)?;
        let mut rows = CALIBRATION_ROWS;
        let mut rate = flops(rows) / time(exec.as_ref(), rows)?;
        while rows * 4 <= FULL_SEQ && flops(rows * 4) / rate < CALIBRATION_STEP_S {
            rows *= 4;
            rate = flops(rows) / time(exec.as_ref(), rows)?;
        }
        rates.push(Rate {
            executor: exec.name(),
            rows,
            flops_per_s: rate,
        });
    }
    Ok(rates)
}

/// Runs the demo: the layer on the chosen executors (checked against the CPU twin), its prediction on the
/// chip at the full sequence, the trace written; long steps are reported to `progress`.
pub fn run(args: &DemoOptions, progress: &mut dyn Progress) -> Result<Outcome, Error> {
    let c = config(args)?;
    let dt = args.dtype;
    let chip = crate::ChipSpec::resolve(&args.chip).map_err(|e| Error::Usage(e.to_string()))?;
    if args.no_check && args.executor == ExecutorChoice::Both {
        return Err(Error::Usage(
            "--no-check contradicts --executor both, which exists to compare GPU and CPU"
                .to_string(),
        ));
    }

    let selected = crate::select(args.executor)?;
    if let Some(notice) = &selected.notice {
        progress.notice(notice);
    }
    let adapter = selected.gpu.as_ref().map(|g| g.description().clone());
    let fallback =
        selected.notice.is_some() && selected.executors.first().map(|e| e.name()) == Some("cpu");
    let mut executors = selected.executors;
    let primary_gpu = executors.first().is_some_and(|e| e.name() == "gpu");
    if primary_gpu && executors.len() == 1 && !args.no_check {
        executors.push(Box::new(CpuExecutor));
    }
    c.check().map_err(|e| Error::Usage(e.to_string()))?;
    let wsize = if dt == DType::Bf16 { 2 } else { 4 };
    let seq_max = args.seq.unwrap_or(FULL_SEQ) as u128;
    let need = (c.params() as u128 * wsize) * 2 + seq_max * seq_max * c.heads as u128 * 8;
    crate::files::check_host_memory("the decoder layer", need)?;

    // Weights, then the graph at the host's seq and, when it differs, the program at the full seq.
    let (layer, weights_ms) = timed(
        progress,
        &format!("generating {:.1} M random weights", c.params() as f64 / 1e6),
        || DecoderLayer::random(c, args.seed, dt),
    );
    let layer = layer?;

    // The host run's seq: the flag, or 512 scaled down until the runs fit the budget at measured rates.
    let (seq, scaled, calibration) = match args.seq {
        Some(s) => (s, None, Vec::new()),
        None => {
            let rates = calibrate(&layer, &executors, dt, progress)?;
            let seq = scaled_seq(&c, &rates);
            let why = (seq < FULL_SEQ).then(|| {
                let measured: Vec<String> = (rates.iter())
                    .map(|r| {
                        let g = fmt_gflops(r.flops_per_s / 1e9);
                        format!("{} {g} GFLOP/s on {} rows", r.executor, r.rows)
                    })
                    .collect();
                format!(
                    "seq scaled down from {FULL_SEQ} to {seq} so that the host runs fit \
                     {HOST_BUDGET_S:.0} s: measured {} of a matmul of the layer; seq {FULL_SEQ} \
                     would take about {:.0} s, seq {seq} about {:.0} s; pass --seq to choose",
                    measured.join(", "),
                    host_secs(&c, FULL_SEQ, &rates),
                    host_secs(&c, seq, &rates)
                )
            });
            (seq, why, rates)
        }
    };
    let full_program = if seq != FULL_SEQ {
        let copy = DecoderLayer {
            config: c,
            tensors: layer.tensors.clone(),
        };
        let g = copy.into_graph(input(&c, FULL_SEQ, args.seed, dt)?, 1, FULL_SEQ, dt)?;
        Some(g.program)
    } else {
        None
    };
    let graph = layer.into_graph(input(&c, seq, args.seed, dt)?, 1, seq, dt)?;

    let flops = layer_flops(&c, seq);
    let mut runs = Vec::new();
    let mut outputs = Vec::new();
    let mut host_profile = None;
    for (i, exec) in executors.iter().enumerate() {
        let mut label = if exec.name() == "cpu" && primary_gpu {
            format!("cpu twin: running the layer at seq {seq} (the check)")
        } else {
            format!("{}: running the layer at seq {seq}", exec.name())
        };
        if let Some(rate) = calibration.get(i) {
            let secs = host_secs(&c, seq, &[*rate]);
            label.push_str(&format!(", about {secs:.0} s expected"));
        }
        // The CPU twin's run keeps each op's host time, for the report's split by unit.
        let profiled = ProfiledCpu::new();
        let runner: &dyn Executor = if exec.name() == "cpu" {
            &profiled
        } else {
            exec.as_ref()
        };
        let (out, ms) = timed(progress, &label, || run_out(&graph, runner));
        outputs.push(out?);
        if exec.name() == "cpu" {
            host_profile = Some(profiled.take());
        }
        runs.push(HostRun {
            executor: exec.name(),
            ms,
            gflops: flops / (ms * 1e-3) / 1e9,
        });
    }
    let comparison = (outputs.len() == 2).then(|| Comparison::of(&outputs[0], &outputs[1]));

    let pred_run = crate::predict(&graph.program, &chip)?;
    let pred_full = match &full_program {
        Some(p) => Some(crate::predict(p, &chip)?),
        None => None,
    };
    let report = DemoReport {
        config: c,
        dtype: dt,
        seed: args.seed,
        seq,
        scaled,
        calibration,
        adapter,
        primary: executors.first().map_or("cpu", |e| e.name()),
        fallback,
        weights_ms,
        runs,
        host_profile,
        comparison,
        flops,
        program: full_program.as_ref().unwrap_or(&graph.program),
        pred: pred_full.as_ref().unwrap_or(&pred_run),
        pred_run: pred_full.is_some().then_some(&pred_run),
        trace: &args.trace,
        plots: &args.plots,
    };
    report.render()
}

/// The layer's input `x`: `gen_bf16(seed + 100, [seq, hidden], 1)`, in the compute dtype.
fn input(c: &DecoderConfig, seq: usize, seed: u64, dt: DType) -> Result<Tensor, Error> {
    let x = gen_bf16(seed.wrapping_add(100), [seq, c.hidden], 1.0);
    Ok(if dt == DType::F32 {
        Tensor::from_f32([seq, c.hidden], x.to_f32_vec())?
    } else {
        x
    })
}

fn run_out(graph: &Graph, exec: &dyn Executor) -> Result<Tensor, Error> {
    let mut outs = graph.run(exec)?;
    outs.pop()
        .map(|(_, t)| t)
        .ok_or_else(|| Error::Program(format!("the {} executor returned no output", exec.name())))
}

/// Runs `f` as one untimed step of `progress` (a spinner in the CLI) and returns its result and wall time
/// in milliseconds.
fn timed<T>(progress: &mut dyn Progress, what: &str, f: impl FnOnce() -> T) -> (T, f64) {
    progress.start(what, 0);
    let start = Instant::now();
    let out = f();
    let ms = start.elapsed().as_secs_f64() * 1e3;
    progress.finish();
    (out, ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_is_scaled_to_the_budget() {
        let c = DecoderConfig::llama3_8b();
        let at = |rates: &[(usize, f64)]| -> Vec<Rate> {
            (rates.iter())
                .map(|&(rows, flops_per_s)| Rate {
                    executor: "x",
                    rows,
                    flops_per_s,
                })
                .collect()
        };
        // 436 MFLOP per token: lavapipe at 1 GFLOP/s with the CPU check at 7 takes 16 s at seq 32 and
        // 32 s at seq 64, over the budget.
        let slow = at(&[(16, 1e9), (16, 7e9)]);
        assert_eq!(scaled_seq(&c, &slow), 32);
        assert!(host_secs(&c, 32, &slow) <= HOST_BUDGET_S);
        // A fast GPU and a 7 GFLOP/s check: seq 512 takes 33 s, 256 fits.
        assert_eq!(scaled_seq(&c, &at(&[(16, f64::INFINITY), (16, 7e9)])), 256);
        assert_eq!(scaled_seq(&c, &at(&[(256, 1e13), (256, 1e12)])), FULL_SEQ);
        // Never below the calibration's rows, however slow the host.
        assert_eq!(scaled_seq(&c, &at(&[(16, 1e6)])), CALIBRATION_ROWS);
        // A rate measured on 64 rows counts seq 16 and 32 as 64 rows' time.
        let r64 = at(&[(64, 1e9)]);
        assert_eq!(host_secs(&c, 16, &r64), host_secs(&c, 64, &r64));
    }

    #[test]
    fn layer_flops_count_projections_and_attention() {
        let c = DecoderConfig::llama3_8b();
        // 2 * seq * (weights without the norms) + 4 * seq^2 * hidden.
        let weights = (c.params() - 2 * c.hidden) as f64;
        assert_eq!(
            layer_flops(&c, 512),
            2.0 * 512.0 * weights + 4.0 * 512.0 * 512.0 * 4096.0
        );
    }
}
