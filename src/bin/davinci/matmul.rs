//! `davinci matmul M K N`: one `cube_matmul` on deterministic random bf16 inputs (`gen_bf16`, A from seed S,
//! B from seed S+1), timed on each selected executor: one warm-up run (it builds the pipelines), then
//! `--repeat` timed runs whose median wall time and GFLOP/s are reported. With `--executor both` the GPU
//! result is compared with the CPU twin's bit for bit; a mismatch is a broken promise and exits with 1.
//!
//! The times are this host's wall-clock time per run (upload, dispatch, readback included), not a 910C
//! estimate.

use clap::Args;
use davinci::program::MatmulGeometry;
use davinci::tensor::random::gen_bf16;
use davinci::{DType, Program, Shape};
use serde_json::{Map, Value, json};

use crate::common::{
    CliError, ExecutorArg, HostBytes, MatmulFlags, Outcome, check_host_memory, select_executors,
    time_runs,
};
use davinci::report::{Comparison, Table, fmt_gflops, fmt_ms};

#[derive(Args, Debug)]
pub struct MatmulArgs {
    /// Rows of A and of the result.
    pub m: usize,
    /// The contraction dimension: columns of A, rows of B.
    pub k: usize,
    /// Columns of B and of the result.
    pub n: usize,
    #[command(flatten)]
    pub matmul: MatmulFlags,
    /// Which executor runs the op; `both` also compares GPU and CPU bit for bit.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    /// Seed of A; B uses seed + 1.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Batch size; above 1, A and B get a leading batch dimension.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Timed runs after the warm-up run; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub repeat: u64,
    #[command(flatten)]
    pub predict: crate::predict_report::PredictFlag,
}

pub fn run(args: &MatmulArgs) -> Result<Outcome, CliError> {
    let batch = usize::try_from(args.batch)
        .map_err(|_| CliError::usage(format!("--batch {} is too large", args.batch)))?;
    let (m, k, n) = (args.m, args.k, args.n);
    let with_batch = |dims: [usize; 2]| {
        if batch > 1 {
            Shape::new([batch, dims[0], dims[1]])
        } else {
            Shape::new(dims)
        }
    };
    let opts = args.matmul.options();
    let a_shape = with_batch(if opts.trans_a { [k, m] } else { [m, k] });
    let b_shape = with_batch(if opts.trans_b { [n, k] } else { [k, n] });

    // Recording validates the sizes before anything is allocated; they came from the command line, so a
    // refusal is a usage error.
    let mut program = Program::new();
    let ia = program.input("a", a_shape.clone(), DType::Bf16);
    let ib = program.input("b", b_shape.clone(), DType::Bf16);
    let out = program
        .cube_matmul(ia, ib, opts)
        .map_err(|e| CliError::usage(e.to_string()))?;
    program.output(out)?;
    let geometry = MatmulGeometry::infer(program.desc(ia)?, program.desc(ib)?, &opts)?;

    let executors = select_executors(args.executor)?;
    let out_numel = geometry.out_shape().numel() as u128;
    let need = 2 * (a_shape.numel() as u128 + b_shape.numel() as u128)
        + executors.list.len() as u128 * 2 * out_numel * opts.dtype_out.size() as u128;
    check_host_memory(HostBytes(need), "cube_matmul")?;

    let a = gen_bf16(args.seed, a_shape, 1.0);
    let b = gen_bf16(args.seed.wrapping_add(1), b_shape, 1.0);
    let repeat = args.repeat as usize;

    let flops = geometry.flops();
    let mut rows = Vec::new();
    let mut outputs = Vec::new();
    for exec in &executors.list {
        let timed = time_runs(exec.as_ref(), &program, &[&a, &b], true, repeat)?;
        let median = timed.median_ms();
        let gflops = flops / (median * 1e-3) / 1e9;
        let adapter = (exec.name() == "gpu")
            .then(|| executors.adapter.clone())
            .flatten();
        rows.push((
            exec.name(),
            adapter,
            median,
            gflops,
            timed.times_ms.clone(),
            timed.warmup_ms,
        ));
        outputs.push(timed.output);
    }
    let comparison = (args.executor == ExecutorArg::Both && outputs.len() == 2)
        .then(|| Comparison::of(&outputs[0], &outputs[1]));

    let mut obj = Map::new();
    obj.insert("op".into(), json!("cube_matmul"));
    obj.insert("m".into(), json!(m));
    obj.insert("k".into(), json!(k));
    obj.insert("n".into(), json!(n));
    obj.insert("batch".into(), json!(batch));
    obj.insert("trans_a".into(), json!(opts.trans_a));
    obj.insert("trans_b".into(), json!(opts.trans_b));
    obj.insert("dtype_out".into(), json!(opts.dtype_out.name()));
    obj.insert("accumulate".into(), json!(opts.accumulate.name()));
    obj.insert("seed".into(), json!(args.seed));
    obj.insert("repeat".into(), json!(repeat));
    obj.insert("flops".into(), json!(flops));
    let execs: Vec<Value> = rows
        .iter()
        .map(|(name, adapter, median, gflops, times, warmup)| {
            let mut e = Map::new();
            e.insert("name".into(), json!(name));
            if let Some(adapter) = adapter {
                e.insert("adapter".into(), json!(adapter));
            }
            e.insert("median_ms".into(), json!(median));
            e.insert("gflops".into(), json!(gflops));
            e.insert("runs".into(), json!(times.len()));
            e.insert("times_ms".into(), json!(times));
            e.insert("warmup_ms".into(), json!(warmup));
            Value::Object(e)
        })
        .collect();
    obj.insert("executors".into(), Value::Array(execs));
    if let Some(c) = &comparison {
        c.json_fields(&mut obj);
    }

    let mut table = Table::new(&[
        ("executor", false),
        ("adapter", false),
        ("median", true),
        ("GFLOP/s", true),
        ("runs", true),
    ]);
    for (name, adapter, median, gflops, times, _) in &rows {
        table.row(vec![
            name.to_string(),
            adapter.clone().unwrap_or_else(|| "host CPU (twin)".into()),
            fmt_ms(*median),
            fmt_gflops(*gflops),
            times.len().to_string(),
        ]);
    }
    let transposes = match (opts.trans_a, opts.trans_b) {
        (false, false) => "",
        (true, false) => ", A transposed",
        (false, true) => ", B transposed",
        (true, true) => ", A and B transposed",
    };
    let mut human = format!(
        "cube_matmul M={m} K={k} N={n} batch={batch}{transposes}: bf16 x bf16 -> {}, accumulate {}, seed {}\n\
         {:.3} GFLOP per run; median wall time of {repeat} timed run(s) after one warm-up, on this host\n\n{}",
        opts.dtype_out,
        opts.accumulate,
        args.seed,
        flops / 1e9,
        table.render()
    );
    if let Some(c) = &comparison {
        human.push('\n');
        human.push_str(&c.human_line());
        human.push('\n');
    }
    args.predict
        .add(&program, &mut obj, &mut human, rows.first().map(|r| r.2))?;
    Ok(Outcome {
        json: Value::Object(obj),
        human,
        failure: comparison.and_then(|c| c.failure()),
    })
}
