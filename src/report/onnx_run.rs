//! `davinci run MODEL.onnx --inputs IN.safetensors --out OUT.safetensors`: an ONNX graph lowered
//! (`onnx::lower`) and run on each chosen executor, its outputs written under their ONNX names; the
//! report gives the host time per executor, whether GPU and CPU agree bit for bit, the ops recorded by
//! kernel, what ran in which dtype, and with a prediction target the chip's time with the slowest ops
//! and the ONNX nodes they came from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;

use super::predict_run::PredictTarget;
use super::runs::{Executors, HOST_CPU};
use super::table::{fmt_ms, fmt_time};
use super::{Comparison, Report, Table};
use crate::Result;
use crate::exec::ExecutorChoice;
use crate::files::OutputGuard;
use crate::onnx::io::{read_inputs, write_outputs};
use crate::onnx::{Initializer, OnnxModel, Precision, lower};
use crate::progress::Progress;
use crate::tensor::safetensors_io::TensorFile;

/// One executor's run: its name, wall time (ms) and the named outputs.
type ExecutorRun = (&'static str, f64, Vec<(String, Initializer)>);

/// One `davinci run`.
#[derive(Clone, Debug)]
pub struct OnnxRun {
    pub model: PathBuf,
    /// The graph's inputs, by their ONNX names (or as `map` renames them).
    pub inputs: PathBuf,
    /// `(graph input, tensor in the file)` renamings.
    pub map: Vec<(String, String)>,
    pub out: Option<PathBuf>,
    pub precision: Precision,
    pub executor: ExecutorChoice,
    pub predict: Option<PredictTarget>,
}

/// Reads, lowers, runs and reports.
pub fn run(req: &OnnxRun, progress: &mut dyn Progress) -> Result<Report> {
    let model = OnnxModel::open(&req.model)?;
    let file = TensorFile::open(&req.inputs)?;
    let inputs = read_inputs(&model, &file, &req.map)?;
    let lowered = lower(&model, &inputs, req.precision)?;
    let guard = req.out.as_deref().map(OutputGuard::create).transpose()?;
    let execs = Executors::select(req.executor, progress)?;
    let mut runs: Vec<ExecutorRun> = Vec::new();
    progress.start("run", execs.list.len() as u64);
    for e in &execs.list {
        let t0 = Instant::now();
        let out = lowered.run(e.as_ref())?;
        runs.push((e.name(), t0.elapsed().as_secs_f64() * 1e3, out));
        progress.step(None, e.name());
    }
    progress.finish();
    // GPU against CPU, output by output: the first that differs, else the first output's (equal) one.
    let comparison = if runs.len() == 2 {
        let all: Vec<Comparison> = runs[0]
            .2
            .iter()
            .zip(&runs[1].2)
            .filter_map(|(x, y)| match (&x.1, &y.1) {
                (Initializer::Tensor(a), Initializer::Tensor(b)) => Some(Comparison::of(a, b)),
                _ => None,
            })
            .collect();
        let i = all.iter().position(|c| !c.bit_exact).unwrap_or(0);
        all.into_iter().nth(i)
    } else {
        None
    };
    let outputs = &runs[0].2;
    if let (Some(path), Some(guard)) = (&req.out, guard) {
        write_outputs(path, outputs)?;
        guard.commit();
    }
    let mut kernels: BTreeMap<&str, usize> = BTreeMap::new();
    // What ran in which dtype: the ops' results (reshapes, which move nothing, left out).
    let mut by_dtype: BTreeMap<String, usize> = BTreeMap::new();
    let program = &lowered.graph.program;
    for op in program.ops() {
        *kernels.entry(op.kernel_name()).or_insert(0) += 1;
        if op.kernel().is_some() {
            *by_dtype
                .entry(program.desc(op.out())?.dtype.to_string())
                .or_insert(0) += 1;
        }
    }
    let by_dtype_text = by_dtype
        .iter()
        .map(|(d, n)| format!("{n} {d}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut table = Table::new(&[("executor", false), ("adapter", false), ("time", true)]);
    for (name, ms, _) in &runs {
        let adapter = execs.adapter_of(name).unwrap_or_else(|| HOST_CPU.into());
        table.row(vec![name.to_string(), adapter, fmt_ms(*ms)]);
    }
    let dtypes = req.precision.describe();
    let mut human = format!(
        "{}: {} ops recorded from {} nodes, {}: {dtypes} (results: {by_dtype_text})\none run on each executor (the GPU's includes building its pipelines)\n\n{}",
        req.model.display(),
        lowered.graph.program.ops().len(),
        model.graph().node.len(),
        req.precision.name(),
        table.render()
    );
    let mut json = json!({
        "model": req.model.display().to_string(),
        "precision_mode": req.precision.name(),
        "ops": lowered.graph.program.ops().len(),
        "kernels": kernels,
        "results_by_dtype": by_dtype,
        "executors": runs.iter().map(|(n, ms, _)| json!({"name": n, "time_ms": ms})).collect::<Vec<_>>(),
        "outputs": outputs.iter().map(|(n, t)| json!({
            "name": n, "shape": t.dims(), "dtype": t.type_name(),
        })).collect::<Vec<_>>(),
        "out": req.out.as_ref().map(|p| p.display().to_string()),
    });
    if let Some(c) = &comparison {
        human.push_str(&format!("\n{}\n", c.human_line()));
        if let Some(o) = json.as_object_mut() {
            c.json_fields(o);
        }
    }
    if let Some(target) = &req.predict {
        let pred = target.predict(&lowered.graph.program)?;
        let mut slow: Vec<usize> = (0..pred.ops.len()).collect();
        slow.sort_by(|&a, &b| pred.ops[b].time.0.total_cmp(&pred.ops[a].time.0));
        let mut t = Table::new(&[
            ("node", false),
            ("kernel", false),
            ("time", true),
            ("bound", false),
        ]);
        let mut top = Vec::new();
        for &i in slow.iter().take(5) {
            let o = &pred.ops[i];
            let node = lowered.op_nodes.get(i).cloned().unwrap_or_default();
            t.row(vec![
                node.clone(),
                o.kernel.to_string(),
                fmt_time(o.time.0),
                o.bound.name().into(),
            ]);
            top.push(json!({"node": node, "kernel": o.kernel, "time_us": o.time.0 / 1e3, "bound": o.bound.name()}));
        }
        // The predicted time by kernel: where a graph's time goes once its ops are counted.
        let mut by_kernel: BTreeMap<&str, (usize, f64)> = BTreeMap::new();
        for o in &pred.ops {
            let e = by_kernel.entry(o.kernel).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += o.time.0;
        }
        human.push_str(&format!(
            "\npredicted on {}: {} (bound by {}); the slowest ops:\n{}",
            target.chip.name,
            fmt_time(pred.total.0),
            pred.bound.name(),
            t.render()
        ));
        if let Some(o) = json.as_object_mut() {
            target.write_trace(&pred, o, &mut human)?;
            o.insert(
                "prediction".into(),
                json!({"chip": target.chip.name, "time_us": pred.total.0 / 1e3, "bound": pred.bound.name(), "slowest": top,
                    "by_kernel": by_kernel.iter().map(|(k, (n, t))| (k.to_string(), json!({"ops": n, "time_us": t / 1e3}))).collect::<serde_json::Map<_, _>>()}),
            );
        }
    }
    let mut counts: Vec<String> = kernels.iter().map(|(k, n)| format!("{k} {n}")).collect();
    counts.sort();
    human.push_str(&format!("\nops by kernel: {}\n", counts.join(", ")));
    if let Some(p) = &req.out {
        human.push_str(&format!(
            "wrote {} ({} outputs)\n",
            p.display(),
            outputs.len()
        ));
    }
    Ok(Report {
        failure: comparison.and_then(|c| c.failure()),
        json,
        human,
    })
}
