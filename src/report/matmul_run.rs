//! `davinci matmul M K N` as a library call: one `cube_matmul` on deterministic random bf16 inputs
//! (`gen_bf16`, A from seed S, B from seed S+1), timed on each chosen executor: one warm-up run (it builds
//! the pipelines), then `repeat` timed runs whose median wall time and GFLOP/s are reported. With both
//! executors the GPU result is compared with the CPU twin's bit for bit; a mismatch is a broken promise
//! and the report's failure. The first executor's result is also measured against the exact (f64)
//! product of the operands (`error_stats`).
//!
//! The times are this host's wall-clock time per run (upload, dispatch, readback included), not a 910C
//! estimate; [`MatmulRun::predict`] adds that.

use serde_json::{Map, Value, json};

use super::error_stats::{MAX_REFERENCE_MACS, MatmulError};
use super::predict_run::{MatmulSizes, PredictTarget};
use super::runs::{Executors, HOST_CPU, time_runs};
use super::table::{fmt_gflops, fmt_ms};
use super::{Comparison, Report, Table};
use crate::Result;
use crate::exec::ExecutorChoice;
use crate::files::check_host_memory;
use crate::program::{CubeFormat, MatmulGeometry, Rounding};
use crate::progress::Progress;
use crate::reference::cast_formats::cast_formats;
use crate::tensor::random::gen_bf16;
use crate::tensor::{DType, Shape, Tensor, TensorData};

/// Deterministic random operands in the format's dtype: `gen_bf16` values in [-1, 1) converted to it
/// (nearest even), for int8 scaled by 127 first so that every code is used.
fn operand(seed: u64, shape: Shape, format: CubeFormat) -> Result<Tensor> {
    let x = gen_bf16(seed, shape, 1.0);
    let to = format.operand_dtype();
    if to == DType::Bf16 {
        return Ok(x);
    }
    let values = if to == DType::I8 {
        TensorData::F32(x.to_f32_vec().iter().map(|v| v * 127.0).collect())
    } else {
        x.data().clone()
    };
    Tensor::new(
        x.shape().clone(),
        cast_formats(&values, to, Rounding::Nearest, 0),
    )
}

/// A timed matmul on this host.
#[derive(Clone, Debug)]
pub struct MatmulRun {
    pub sizes: MatmulSizes,
    pub executor: ExecutorChoice,
    /// Seed of A; B uses seed + 1.
    pub seed: u64,
    /// Timed runs after the warm-up run.
    pub repeat: usize,
    pub predict: Option<PredictTarget>,
}

/// Runs the request and reports it.
pub fn run(req: &MatmulRun, progress: &mut dyn Progress) -> Result<Report> {
    let MatmulSizes {
        m,
        k,
        n,
        batch,
        opts,
        ..
    } = req.sizes;
    // Recording validates the sizes before anything is allocated.
    let format = opts.format.unwrap_or(CubeFormat::Bf16);
    let program = req.sizes.record(format.operand_dtype())?;
    let (a_shape, b_shape) = req.sizes.shapes();
    let ids = program.inputs();
    let geometry = MatmulGeometry::infer(program.desc(ids[0])?, program.desc(ids[1])?, &opts)?;

    let executors = Executors::select(req.executor, progress)?;
    let out_numel = geometry.out_shape().numel() as u128;
    let need = 2 * (a_shape.numel() as u128 + b_shape.numel() as u128)
        + executors.list.len() as u128 * 2 * out_numel * opts.dtype_out.size() as u128;
    check_host_memory("cube_matmul", need)?;

    let a = operand(req.seed, a_shape, format)?;
    let b = operand(req.seed.wrapping_add(1), b_shape, format)?;
    let flops = geometry.flops();
    let mut rows = Vec::new();
    let mut outputs = Vec::new();
    for exec in &executors.list {
        let timed = time_runs(
            exec.as_ref(),
            &program,
            &[&a, &b],
            true,
            req.repeat,
            progress,
        )?;
        let median = timed.median_ms();
        let gflops = flops / (median * 1e-3) / 1e9;
        rows.push((
            exec.name(),
            median,
            gflops,
            timed.times_ms.clone(),
            timed.warmup_ms,
        ));
        outputs.push(timed.output);
    }
    let error = outputs
        .first()
        .and_then(|out| MatmulError::of(&geometry, &a, &b, out));
    let comparison = (req.executor == ExecutorChoice::Both && outputs.len() == 2)
        .then(|| Comparison::of(&outputs[0], &outputs[1]));

    let mut obj = Map::new();
    for (key, v) in [
        ("op", json!("cube_matmul")),
        ("m", json!(m)),
        ("k", json!(k)),
        ("n", json!(n)),
        ("batch", json!(batch)),
        ("trans_a", json!(opts.trans_a)),
        ("trans_b", json!(opts.trans_b)),
        ("dtype", json!(format.name())),
        ("dtype_out", json!(opts.dtype_out.name())),
        ("accumulate", json!(opts.accumulate.name())),
        ("seed", json!(req.seed)),
        ("repeat", json!(req.repeat)),
        ("flops", json!(flops)),
    ] {
        obj.insert(key.into(), v);
    }
    let mut table = Table::new(&[
        ("executor", false),
        ("adapter", false),
        ("median", true),
        ("GFLOP/s", true),
        ("runs", true),
    ]);
    let mut execs = Vec::new();
    for (name, median, gflops, times, warmup) in &rows {
        let adapter = executors.adapter_of(name);
        let mut e = Map::new();
        e.insert("name".into(), json!(name));
        if let Some(adapter) = &adapter {
            e.insert("adapter".into(), json!(adapter));
        }
        e.insert("median_ms".into(), json!(median));
        e.insert("gflops".into(), json!(gflops));
        e.insert("runs".into(), json!(times.len()));
        e.insert("times_ms".into(), json!(times));
        e.insert("warmup_ms".into(), json!(warmup));
        execs.push(Value::Object(e));
        table.row(vec![
            name.to_string(),
            adapter.unwrap_or_else(|| HOST_CPU.into()),
            fmt_ms(*median),
            fmt_gflops(*gflops),
            times.len().to_string(),
        ]);
    }
    obj.insert("executors".into(), Value::Array(execs));
    if let Some(c) = &comparison {
        c.json_fields(&mut obj);
    }
    obj.insert(
        "error_vs_f64".into(),
        error.map_or(Value::Null, |e| e.json()),
    );
    let transposes = match (opts.trans_a, opts.trans_b) {
        (false, false) => "",
        (true, false) => ", A transposed",
        (false, true) => ", B transposed",
        (true, true) => ", A and B transposed",
    };
    let mut human = format!(
        "cube_matmul M={m} K={k} N={n} batch={batch}{transposes}: {format} x {format} -> {}, accumulate {}, seed {}\n\
         {:.3} GFLOP per run; median wall time of {} timed run(s) after one warm-up, on this host\n\n{}",
        opts.dtype_out,
        opts.accumulate,
        req.seed,
        flops / 1e9,
        req.repeat,
        table.render()
    );
    if let Some(c) = &comparison {
        human.push('\n');
        human.push_str(&c.human_line());
        human.push('\n');
    }
    match &error {
        Some(e) => human.push_str(&format!("{}\n", e.human_line())),
        None => human.push_str(&format!(
            "error against the exact product: not computed (over {MAX_REFERENCE_MACS:.0e} multiply-adds)\n"
        )),
    }
    if let Some(target) = &req.predict {
        target.add(&program, &mut obj, &mut human, rows.first().map(|r| r.1))?;
    }
    Ok(Report {
        json: Value::Object(obj),
        human,
        failure: comparison.and_then(|c| c.failure()),
    })
}
