//! ONNX's own backend test cases, run on the emulator: a folder with `model.onnx` and
//! `test_data_set_*/input_N.pb`, `output_N.pb` (TensorProtos), as the `onnx` package ships them
//! (`onnx/backend/test/data/pytorch-operator`, `pytorch-converted`, ...). Each case is lowered in
//! `force_fp32`, run, and every output compared as ONNX's runner compares it: `|got - want| <= atol +
//! rtol * |want|` elementwise (NaN equal to NaN), with the runner's defaults `rtol = 1e-3`, `atol = 1e-7`
//! unless the case's `data.json` gives others.

use std::path::{Path, PathBuf};

use prost::Message;

use super::initializer::{Initializer, decode};
use super::proto::TensorProto;
use super::{OnnxModel, Precision, lower};
use crate::exec::Executor;
use crate::files::read_bounded;
use crate::{Error, Result};

/// The ONNX runner's default tolerances.
pub const RTOL: f64 = 1e-3;
pub const ATOL: f64 = 1e-7;

/// How one case ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every output of every data set within tolerance; the worst `|got - want|` seen.
    Pass { max_abs: f64 },
    /// An output outside tolerance, or a run that failed after lowering.
    Fail(String),
    /// Refused before anything ran: an op outside the importer's set, or a form of one it does not take.
    Unsupported(String),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pass { .. } => "pass",
            Outcome::Fail(_) => "fail",
            Outcome::Unsupported(_) => "unsupported",
        }
    }
}

/// The cases under `root` (folders holding a `model.onnx`), sorted by name.
pub fn cases(root: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| Error::Io {
        action: "cannot list ONNX test cases in",
        path: root.to_path_buf(),
        source,
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file())
        .collect();
    v.sort();
    Ok(v)
}

/// Reads one TensorProto file (`input_0.pb`).
pub fn read_tensor(path: &Path) -> Result<Initializer> {
    let bytes = read_bounded(path, "ONNX tensor file", super::MAX_MODEL_FILE)?;
    let t = TensorProto::decode(bytes.as_slice()).map_err(|e| {
        Error::Invalid(format!(
            "{}: not a readable ONNX TensorProto ({e})",
            path.display()
        ))
    })?;
    decode(&t, path.parent().unwrap_or(Path::new(".")))
}

/// The case's tolerances: `data.json`'s `rtol` and `atol` where given, else the runner's defaults.
fn tolerances(dir: &Path) -> (f64, f64) {
    let v: Option<serde_json::Value> = std::fs::read_to_string(dir.join("data.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let get = |k: &str, d: f64| v.as_ref().and_then(|v| v[k].as_f64()).unwrap_or(d);
    (get("rtol", RTOL), get("atol", ATOL))
}

/// The files `prefix_0.pb`, `prefix_1.pb`, ... of a data set, in order.
fn numbered(set: &Path, prefix: &str) -> Vec<PathBuf> {
    (0..)
        .map(|i| set.join(format!("{prefix}_{i}.pb")))
        .take_while(|p| p.is_file())
        .collect()
}

/// Runs the case in `dir` on `exec`. An unreadable case is an error; everything else is an [`Outcome`].
pub fn run_case(dir: &Path, exec: &dyn Executor) -> Result<Outcome> {
    let model = OnnxModel::open(dir.join("model.onnx"))?;
    let (rtol, atol) = tolerances(dir);
    let mut sets: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            action: "cannot list",
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("test_data_set"))
        })
        .collect();
    sets.sort();
    if sets.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no test_data_set_* folder",
            dir.display()
        )));
    }
    let names: Vec<String> = model.info().inputs.into_iter().map(|v| v.name).collect();
    let mut worst = 0f64;
    for set in sets {
        let given = match numbered(&set, "input")
            .iter()
            .map(|p| read_tensor(p))
            .collect::<Result<Vec<_>>>()
        {
            Ok(g) => g,
            // An element type the importer does not take (double, uint8, ...).
            Err(e) => return Ok(Outcome::Unsupported(format!("an input: {e}"))),
        };
        let inputs: Vec<(String, Initializer)> = names.iter().cloned().zip(given).collect();
        let lowered = match lower(&model, &inputs, Precision::ForceFp32) {
            Ok(l) => l,
            Err(e) => return Ok(Outcome::Unsupported(e.to_string())),
        };
        let got = match lowered.run(exec) {
            Ok(g) => g,
            Err(e) => return Ok(Outcome::Fail(format!("the run failed: {e}"))),
        };
        let want = numbered(&set, "output");
        if want.len() != got.len() {
            return Ok(Outcome::Fail(format!(
                "{} outputs, the data has {}",
                got.len(),
                want.len()
            )));
        }
        for ((name, g), w) in got.iter().zip(&want) {
            let w = read_tensor(w)?;
            match compare(g, &w, rtol, atol) {
                Ok(m) => worst = worst.max(m),
                Err(why) => return Ok(Outcome::Fail(format!("output '{name}': {why}"))),
            }
        }
    }
    Ok(Outcome::Pass { max_abs: worst })
}

/// `Ok(max |got - want|)` if every element is within `atol + rtol * |want|` (NaN matching NaN).
fn compare(
    got: &Initializer,
    want: &Initializer,
    rtol: f64,
    atol: f64,
) -> std::result::Result<f64, String> {
    if got.dims() != want.dims() {
        return Err(format!(
            "dimensions {:?}, expected {:?}",
            got.dims(),
            want.dims()
        ));
    }
    let values = |v: &Initializer| -> Vec<f64> {
        match v {
            Initializer::Int64 { values, .. } => values.iter().map(|&x| x as f64).collect(),
            Initializer::Tensor(t) => t.to_f32_vec().iter().map(|&x| x as f64).collect(),
        }
    };
    let (g, w) = (values(got), values(want));
    let mut worst = 0f64;
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        if a.is_nan() && b.is_nan() || a == b {
            continue;
        }
        let d = (a - b).abs();
        if d.is_nan() || d > atol + rtol * b.abs() {
            return Err(format!(
                "element {i} is {a}, expected {b} (rtol {rtol}, atol {atol})"
            ));
        }
        worst = worst.max(d);
    }
    Ok(worst)
}
