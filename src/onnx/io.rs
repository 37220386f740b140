//! A graph's inputs read from a safetensors file and its outputs written to one, under their ONNX names:
//! float inputs as tensors, int64 and bool inputs (token ids, attention masks) as host integers (a file
//! may store int64 inputs as I64 or I32, bool ones as BOOL or U8), and outputs in their own type (f32
//! from the device, I64 or BOOL for integer outputs known on the host).

use std::path::Path;

use safetensors::Dtype;

use super::OnnxModel;
use super::initializer::Initializer;
use crate::tensor::safetensors_io::{TensorFile, save_raw};
use crate::{Error, Result};

/// The graph's inputs from `file`; `map` renames `(graph input, tensor in the file)`. An input the file
/// lacks is left out here (lowering names it); a rename of an input the graph lacks is an error.
pub fn read_inputs(
    model: &OnnxModel,
    file: &TensorFile,
    map: &[(String, String)],
) -> Result<Vec<(String, Initializer)>> {
    if let Some((i, _)) = map
        .iter()
        .find(|(i, _)| !model.info().inputs.iter().any(|v| v.name == *i))
    {
        return Err(Error::Usage(format!(
            "--map {i}=...: the graph has no input '{i}' (its inputs: {})",
            model
                .info()
                .inputs
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let names = file.names();
    let mut inputs = Vec::new();
    for v in model.info().inputs {
        let stored = map
            .iter()
            .find(|(i, _)| *i == v.name)
            .map_or(v.name.clone(), |(_, t)| t.clone());
        if !names.contains(&stored) {
            if map.iter().any(|(i, _)| *i == v.name) {
                return Err(Error::Usage(format!(
                    "--map {}={stored}: {} holds no tensor '{stored}'",
                    v.name,
                    file.path().display()
                )));
            }
            continue;
        }
        let value = match v.elem_type.as_str() {
            "int64" | "bool" => integers(file, &stored, v.elem_type == "bool")?,
            _ => Initializer::Tensor(file.tensor(&stored)?),
        };
        inputs.push((v.name.clone(), value));
    }
    Ok(inputs)
}

/// Tensor `name` of `file` as the importer holds it: I64 and I32 as int64 values, BOOL as bools, any
/// other stored dtype as a tensor (for reading goldens and expected outputs).
pub fn read_value(file: &TensorFile, name: &str) -> Result<Initializer> {
    let (dtype, _, _) = file.raw(name)?;
    match dtype.as_str() {
        "I64" | "I32" => integers(file, name, false),
        "BOOL" => integers(file, name, true),
        _ => Ok(Initializer::Tensor(file.tensor(name)?)),
    }
}

/// Tensor `name` of `file` as host integers (I64 or I32; BOOL or U8 for a bool input).
fn integers(file: &TensorFile, name: &str, bool: bool) -> Result<Initializer> {
    let (dtype, dims, bytes) = file.raw(name)?;
    let values: Vec<i64> = match (dtype.as_str(), bool) {
        ("I64", false) => bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        ("I32", false) => bytes
            .chunks_exact(4)
            .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect(),
        ("BOOL" | "U8", true) => bytes.iter().map(|&b| i64::from(b != 0)).collect(),
        (d, _) => {
            return Err(Error::Usage(format!(
                "{}: tensor '{name}' is {d}, but the graph input is {}; store it as {}",
                file.path().display(),
                if bool { "bool" } else { "int64" },
                if bool { "BOOL or U8" } else { "I64 or I32" }
            )));
        }
    };
    Ok(Initializer::Int64 { dims, values, bool })
}

/// Writes named outputs to `path` atomically, each in its own type.
pub fn write_outputs(path: &Path, outputs: &[(String, Initializer)]) -> Result<()> {
    let mut encoded = Vec::new();
    for (name, v) in outputs {
        encoded.push(match v {
            Initializer::Int64 { dims, values, bool } => {
                let (dtype, bytes) = if *bool {
                    (
                        Dtype::BOOL,
                        values.iter().map(|&b| u8::from(b != 0)).collect(),
                    )
                } else {
                    (
                        Dtype::I64,
                        values.iter().flat_map(|x| x.to_le_bytes()).collect(),
                    )
                };
                (name.clone(), dtype, dims.clone(), bytes)
            }
            Initializer::Tensor(t) => {
                let (dtype, dims, bytes) = crate::tensor::safetensors_io::encode(t);
                (name.clone(), dtype, dims, bytes)
            }
        });
    }
    save_raw(path, &encoded, None)
}
