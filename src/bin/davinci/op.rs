//! `davinci op <OP> --in FILE.safetensors --out OUT.safetensors`: the general way to feed real data. The
//! op's inputs are read by name from a safetensors file (`--map INPUT=TENSOR` picks other names), the op runs
//! on the selected executor(s), and the result is written as tensor `out`. With `--executor both` the GPU
//! result is written and compared with the CPU twin's bit for bit (a mismatch exits with 1).
//!
//! Each op is one variant of [`OpCommand`] (in `op_names`) plus an [`OpSpec`]: its input names, the dtype each input is
//! converted to on load, and how it is recorded into a [`Program`]. A new op (a cast, a vector op) adds
//! both and reuses the rest: mapping, loading, the early check of the output path, running, comparing,
//! writing and reporting.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use clap::Args;
use davinci::tensor::safetensors_io::{TensorFile, save};
use davinci::{DType, Program, Result as LibResult, Tensor, TensorId};
use serde_json::{Map, Value, json};

use crate::common::{CliError, ExecutorArg, Outcome, select_executors, time_runs};
use crate::vector_op;
use davinci::report::{Comparison, Table, fmt_ms};

// The subcommand list lives in `op_names`; re-exported so `main` keeps naming `op::OpArgs`.
pub use crate::op_names::{OpArgs, OpCommand};

/// Name of the result tensor in the output file.
const OUT_TENSOR: &str = "out";

/// Input file, output file, name mapping and executor: the same for every op.
#[derive(Args, Debug)]
pub struct IoArgs {
    /// The safetensors file holding the op's inputs.
    #[arg(long = "in", value_name = "FILE.safetensors")]
    pub input: PathBuf,
    /// Where to write the result (as tensor `out`); checked to be writable before anything runs.
    #[arg(long, value_name = "OUT.safetensors")]
    pub out: PathBuf,
    /// Read an input from a tensor of another name, e.g. `--map a=x --map b=weight`.
    #[arg(long = "map", value_name = "INPUT=TENSOR", value_parser = parse_mapping)]
    pub map: Vec<(String, String)>,
    /// Which executor runs the op; `both` writes the GPU result and compares it with the CPU twin.
    #[arg(long, value_enum, default_value_t)]
    pub executor: ExecutorArg,
    #[command(flatten)]
    pub predict: crate::predict_report::PredictFlag,
}

/// One input of an op: its name, the dtype it is converted to on load (`None`: kept as stored), and
/// whether the op runs without it when the file lacks it.
pub struct InputSpec {
    name: &'static str,
    load_as: Option<DType>,
    optional: bool,
}

impl InputSpec {
    pub const fn required(name: &'static str) -> Self {
        InputSpec {
            name,
            load_as: None,
            optional: false,
        }
    }

    pub const fn optional(name: &'static str) -> Self {
        InputSpec {
            name,
            load_as: None,
            optional: true,
        }
    }

    const fn bf16(name: &'static str, optional: bool) -> Self {
        InputSpec {
            name,
            load_as: Some(DType::Bf16),
            optional,
        }
    }
}

/// Records an op over the declared inputs (`None` for an optional input the file lacks) and returns its
/// result.
type Recorder = Box<dyn Fn(&mut Program, &[Option<TensorId>]) -> LibResult<TensorId>>;

/// A required input's handle (always present: `run_op` refuses a file without it).
pub fn need(id: Option<TensorId>) -> LibResult<TensorId> {
    id.ok_or_else(|| davinci::Error::Program("a required input is missing".to_string()))
}

/// What `run_op` needs to know about an op.
pub struct OpSpec {
    /// The name on the command line.
    cli_name: &'static str,
    /// The kernel name (shader, CPU twin, bench).
    kernel: &'static str,
    inputs: &'static [InputSpec],
    /// Parameters for the report.
    params: Map<String, Value>,
    record: Recorder,
}

impl OpSpec {
    pub fn new(
        cli_name: &'static str,
        kernel: &'static str,
        inputs: &'static [InputSpec],
        params: Map<String, Value>,
        record: impl Fn(&mut Program, &[Option<TensorId>]) -> LibResult<TensorId> + 'static,
    ) -> Self {
        OpSpec {
            cli_name,
            kernel,
            inputs,
            params,
            record: Box::new(record),
        }
    }
}

pub fn run(args: &OpArgs) -> Result<Outcome, CliError> {
    if let Some((name, v)) = args.op.vector() {
        return run_op(&v.io, &vector_op::spec(name, v)?);
    }
    match &args.op {
        OpCommand::Matmul(m) => {
            let opts = m.matmul.options();
            let mut params = Map::new();
            params.insert("dtype_out".into(), json!(opts.dtype_out.name()));
            params.insert("accumulate".into(), json!(opts.accumulate.name()));
            params.insert("trans_a".into(), json!(opts.trans_a));
            params.insert("trans_b".into(), json!(opts.trans_b));
            let epilogue = m.epilogue.clone();
            epilogue.describe(&mut params);
            const INPUTS: &[InputSpec] = &[
                InputSpec::bf16("a", false),
                InputSpec::bf16("b", false),
                InputSpec::optional("bias"),
                InputSpec::optional("residual"),
            ];
            let spec = OpSpec::new("matmul", "cube_matmul", INPUTS, params, move |p, ids| {
                let e = epilogue.epilogue(ids[2], ids[3]);
                p.cube_matmul_fused(need(ids[0])?, need(ids[1])?, opts, e)
            });
            run_op(&m.io, &spec)
        }
        _ => Err(CliError::usage("unknown op")),
    }
}

/// Parses `INPUT=TENSOR` for `--map`.
fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "'{s}' is not INPUT=TENSOR (for example --map a=x --map b=weight)"
        )),
    }
}

fn run_op(io: &IoArgs, spec: &OpSpec) -> Result<Outcome, CliError> {
    let names = tensor_names(io, spec)?;
    let guard = OutputGuard::create(&io.out)?;
    let file = TensorFile::open(&io.input)?;

    let mut program = Program::new();
    let mut ids = Vec::new();
    let mut loaded = Vec::new();
    let mut inputs_json = Vec::new();
    let mut described = Vec::new();
    for (input, tensor) in spec.inputs.iter().zip(&names) {
        let mapped = io.map.iter().any(|(k, _)| k == input.name);
        if input.optional && !mapped && !file.names().iter().any(|n| n == tensor) {
            ids.push(None);
            continue;
        }
        let stored = file.tensor(tensor).map_err(|e| {
            let hint = if tensor == input.name {
                format!("; name another tensor with --map {}=NAME", input.name)
            } else {
                format!(" (asked for by --map {}={tensor})", input.name)
            };
            CliError::runtime(format!("{e}{hint}"))
        })?;
        let t = match input.load_as {
            Some(DType::Bf16) if stored.dtype() == DType::F32 => {
                eprintln!(
                    "notice: {} '{tensor}' is stored as f32; rounded to bf16 on load (nearest, ties to even)",
                    input.name
                );
                stored.to_bf16()
            }
            _ => stored.clone(),
        };
        inputs_json.push(json!({
            "input": input.name,
            "tensor": tensor,
            "shape": stored.shape().dims(),
            "stored_dtype": stored.dtype().name(),
            "dtype": t.dtype().name(),
        }));
        ids.push(Some(program.input(
            input.name,
            t.shape().clone(),
            t.dtype(),
        )));
        described.push(format!(
            "{} = '{tensor}' {} {}",
            input.name,
            t.dtype(),
            t.shape()
        ));
        loaded.push(t);
    }
    let out = (spec.record)(&mut program, &ids)?;
    program.output(out)?;

    let executors = select_executors(io.executor)?;
    let inputs: Vec<&Tensor> = loaded.iter().collect();
    let mut runs = Vec::new();
    for exec in &executors.list {
        let timed = time_runs(exec.as_ref(), &program, &inputs, false, 1)?;
        runs.push((exec.name(), timed.median_ms(), timed.output));
    }
    let comparison = (io.executor == ExecutorArg::Both && runs.len() == 2)
        .then(|| Comparison::of(&runs[0].2, &runs[1].2));

    // The first executor is the GPU whenever one ran.
    let (written_from, _, result) = &runs[0];
    let metadata = HashMap::from([
        (
            "producer".to_string(),
            format!("davinci {}", env!("CARGO_PKG_VERSION")),
        ),
        ("op".to_string(), spec.kernel.to_string()),
        ("executor".to_string(), written_from.to_string()),
    ]);
    save(&io.out, &[(OUT_TENSOR, result)], Some(metadata))?;
    guard.commit();

    let mut obj = Map::new();
    obj.insert("op".into(), json!(spec.cli_name));
    obj.insert("kernel".into(), json!(spec.kernel));
    obj.insert("in".into(), json!(io.input.display().to_string()));
    obj.insert("out".into(), json!(io.out.display().to_string()));
    obj.extend(spec.params.clone());
    obj.insert("inputs".into(), Value::Array(inputs_json));
    obj.insert(
        "output".into(),
        json!({
            "tensor": OUT_TENSOR,
            "shape": result.shape().dims(),
            "dtype": result.dtype().name(),
            "written_from": written_from,
        }),
    );
    let mut table = Table::new(&[("executor", false), ("adapter", false), ("wall time", true)]);
    let mut execs = Vec::new();
    for (name, ms, _) in &runs {
        let adapter = (*name == "gpu")
            .then(|| executors.adapter.clone())
            .flatten();
        let mut e = Map::new();
        e.insert("name".into(), json!(name));
        if let Some(a) = &adapter {
            e.insert("adapter".into(), json!(a));
        }
        e.insert("ms".into(), json!(ms));
        execs.push(Value::Object(e));
        table.row(vec![
            name.to_string(),
            adapter.unwrap_or_else(|| "host CPU (twin)".into()),
            fmt_ms(*ms),
        ]);
    }
    obj.insert("executors".into(), Value::Array(execs));
    if let Some(c) = &comparison {
        c.json_fields(&mut obj);
    }

    let mut human = format!(
        "{}: {} -> {OUT_TENSOR} {} {}\n\n{}\nwrote {} (tensor '{OUT_TENSOR}', from the {written_from} result)\n",
        spec.kernel,
        described.join(", "),
        result.dtype(),
        result.shape(),
        table.render(),
        io.out.display(),
    );
    if let Some(c) = &comparison {
        human.push_str(&c.human_line());
        human.push('\n');
    }
    io.predict
        .add(&program, &mut obj, &mut human, runs.first().map(|r| r.1))?;
    Ok(Outcome {
        json: Value::Object(obj),
        human,
        failure: comparison.and_then(|c| c.failure()),
    })
}

/// The tensor name of each input, after `--map`; unknown or repeated inputs are usage errors.
fn tensor_names(io: &IoArgs, spec: &OpSpec) -> Result<Vec<String>, CliError> {
    let known: Vec<&str> = spec.inputs.iter().map(|i| i.name).collect();
    let mut map: HashMap<&str, &str> = HashMap::new();
    for (k, v) in &io.map {
        if !known.contains(&k.as_str()) {
            return Err(CliError::usage(format!(
                "--map {k}={v}: {} has no input '{k}'; its inputs are {}",
                spec.cli_name,
                known.join(", ")
            )));
        }
        if map.insert(k, v).is_some() {
            return Err(CliError::usage(format!(
                "--map {k}=... is given more than once; give each input at most one name"
            )));
        }
    }
    Ok(known
        .iter()
        .map(|k| map.get(k).copied().unwrap_or(k).to_string())
        .collect())
}

/// Makes sure the output path can be written before any work is done. A file this guard created is
/// removed again unless [`OutputGuard::commit`] is called; an existing file is never truncated early.
struct OutputGuard {
    path: PathBuf,
    created: bool,
    committed: bool,
}

impl OutputGuard {
    fn create(path: &Path) -> Result<Self, CliError> {
        let existed = path.exists();
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| {
                CliError::runtime(format!(
                    "cannot write the output file {}: {e}; check that its directory exists and is writable, \
                     or choose another --out",
                    path.display()
                ))
            })?;
        Ok(OutputGuard {
            path: path.to_path_buf(),
            created: !existed,
            committed: false,
        })
    }

    fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for OutputGuard {
    fn drop(&mut self) {
        if self.created && !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_syntax() {
        assert_eq!(parse_mapping("a=x").unwrap(), ("a".into(), "x".into()));
        assert_eq!(parse_mapping("b=w=1").unwrap(), ("b".into(), "w=1".into()));
        for bad in ["a", "=x", "a=", ""] {
            assert!(parse_mapping(bad).is_err(), "{bad}");
        }
    }
}
