//! `davinci op NAME --in FILE --out FILE` as a library call: the general way to feed real data. The op's
//! inputs are read by name from a safetensors file (`map` picks other names), the op runs on the chosen
//! executor(s), and the result is written as tensor `out`. With both executors the GPU result is written
//! and compared with the CPU twin's bit for bit (a mismatch is the report's failure).

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::op_spec::{FileOp, OpSpec};
use super::predict_run::PredictTarget;
use super::runs::{Executors, time_runs, wall_time_table};
use super::{Comparison, Report};
use crate::exec::ExecutorChoice;
use crate::files::OutputGuard;
use crate::program::Rounding;
use crate::progress::Progress;
use crate::reference::cast_formats::cast_formats;
use crate::tensor::safetensors_io::{TensorFile, save};
use crate::tensor::{DType, Tensor};
use crate::{Error, Program, Result};

/// Name of the result tensor in the output file.
pub const OUT_TENSOR: &str = "out";

/// One op on tensors from a file.
#[derive(Clone, Debug)]
pub struct OpRequest {
    pub op: FileOp,
    /// The safetensors file holding the op's inputs.
    pub input: PathBuf,
    /// Where the result goes (as tensor `out`); checked to be writable before anything runs.
    pub out: PathBuf,
    /// `(input, tensor)`: read an input from a tensor of another name.
    pub map: Vec<(String, String)>,
    pub executor: ExecutorChoice,
    /// The result's dtype (f32, or bf16 rounded once).
    pub dtype_out: DType,
    /// layernorm / rmsnorm: the epsilon added to the variance.
    pub eps: Option<f32>,
    /// Also predict the op on a chip.
    pub predict: Option<PredictTarget>,
}

/// Parses `INPUT=TENSOR`, the syntax of `--map`.
pub fn parse_mapping(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "'{s}' is not INPUT=TENSOR (for example --map a=x --map b=weight)"
        )),
    }
}

/// Runs the request and reports it.
pub fn run(req: &OpRequest, progress: &mut dyn Progress) -> Result<Report> {
    let spec = OpSpec::of(req.op, req.dtype_out, req.eps)?;
    let names = tensor_names(req, &spec)?;
    let guard = OutputGuard::create(&req.out)?;
    let file = TensorFile::open(&req.input)?;

    let mut program = Program::new();
    let (mut ids, mut loaded, mut inputs_json, mut described) = (vec![], vec![], vec![], vec![]);
    for (input, tensor) in spec.inputs.iter().zip(&names) {
        let mapped = req.map.iter().any(|(k, _)| k == input.name);
        if input.optional && !mapped && !file.has(tensor) {
            ids.push(None);
            continue;
        }
        let stored = file.tensor(tensor).map_err(|e| {
            let hint = if tensor == input.name {
                format!("; name another tensor with --map {}=NAME", input.name)
            } else {
                format!(" (asked for by --map {}={tensor})", input.name)
            };
            Error::Invalid(format!("{e}{hint}"))
        })?;
        let operand = matches!(input.name, "a" | "b");
        let format = match req.op {
            FileOp::Matmul { opts, .. } if operand => opts.format,
            _ => None,
        };
        let convert = |to: DType, progress: &mut dyn Progress| -> Result<Tensor> {
            progress.notice(&format!(
                "{} '{tensor}' is stored as {}; converted to {to} on load (nearest, ties to even{})",
                input.name,
                stored.dtype(),
                if to == DType::I8 { ", saturated" } else { "" }
            ));
            let data = cast_formats(stored.data(), to, Rounding::Nearest, 0);
            Tensor::new(stored.shape().clone(), data)
        };
        let t = match (format, input.load_as) {
            // `--dtype FORMAT`: the operands in that format's dtype.
            (Some(f), _) if stored.dtype() != f.operand_dtype() => {
                convert(f.operand_dtype(), progress)?
            }
            (Some(_), _) => stored.clone(),
            // A matmul operand stored in a Cube format (f16, fp8, int8) runs in that format.
            (None, _) if operand && !stored.dtype().is_vector() && stored.dtype() != DType::I32 => {
                stored.clone()
            }
            (None, Some(DType::Bf16)) if stored.dtype() == DType::F32 => {
                progress.notice(&format!(
                    "{} '{tensor}' is stored as f32; rounded to bf16 on load (nearest, ties to even)",
                    input.name
                ));
                stored.to_bf16()
            }
            // The Vector unit and the epilogue take f32 or bf16: other dtypes widen to f32.
            (None, _) if !stored.dtype().is_vector() => convert(DType::F32, progress)?,
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

    let executors = Executors::select(req.executor, progress)?;
    let inputs: Vec<&Tensor> = loaded.iter().collect();
    let mut runs = Vec::new();
    for exec in &executors.list {
        let timed = time_runs(exec.as_ref(), &program, &inputs, false, 1, progress)?;
        runs.push((exec.name(), timed.median_ms(), timed.output));
    }
    let comparison = (req.executor == ExecutorChoice::Both && runs.len() == 2)
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
    save(&req.out, &[(OUT_TENSOR, result)], Some(metadata))?;
    guard.commit();

    let mut obj = Map::new();
    obj.insert("op".into(), json!(spec.cli_name));
    obj.insert("kernel".into(), json!(spec.kernel));
    obj.insert("in".into(), json!(req.input.display().to_string()));
    obj.insert("out".into(), json!(req.out.display().to_string()));
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
    let times: Vec<(&'static str, f64)> = runs.iter().map(|r| (r.0, r.1)).collect();
    let (table, execs) = wall_time_table(&executors, &times);
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
        req.out.display(),
    );
    if let Some(c) = &comparison {
        human.push_str(&c.human_line());
        human.push('\n');
    }
    if let Some(target) = &req.predict {
        target.add(&program, &mut obj, &mut human, runs.first().map(|r| r.1))?;
    }
    Ok(Report {
        json: Value::Object(obj),
        human,
        failure: comparison.and_then(|c| c.failure()),
    })
}

/// The tensor name of each input, after the mapping; unknown or repeated inputs are usage errors.
fn tensor_names(req: &OpRequest, spec: &OpSpec) -> Result<Vec<String>> {
    let known: Vec<&str> = spec.inputs.iter().map(|i| i.name).collect();
    let mut map: HashMap<&str, &str> = HashMap::new();
    for (k, v) in &req.map {
        if !known.contains(&k.as_str()) {
            return Err(Error::Usage(format!(
                "--map {k}={v}: {} has no input '{k}'; its inputs are {}",
                spec.cli_name,
                known.join(", ")
            )));
        }
        if map.insert(k, v).is_some() {
            return Err(Error::Usage(format!(
                "--map {k}=... is given more than once; give each input at most one name"
            )));
        }
    }
    Ok(known
        .iter()
        .map(|k| map.get(k).copied().unwrap_or(k).to_string())
        .collect())
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
