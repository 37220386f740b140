//! The graph's inputs in [`super::lower`]: each given tensor checked against the graph's declaration
//! (element type, fixed dimensions), each symbolic dimension bound once across all inputs, and the
//! `must_keep_origin_dtype` check that a graph holds only f32 floats.

use std::collections::HashMap;

use super::OnnxModel;
use super::initializer::Initializer;
use crate::tensor::{Shape, Tensor};
use crate::{Error, Result};

/// The input's element type and fixed dimensions against the graph's declaration: a float input takes
/// any float tensor (computed in f32), an int64 input int64 values, a bool input bools.
pub(super) fn check_input(v: &super::ValueInfo, t: &Initializer) -> Result<()> {
    let fits_type = match (v.elem_type.as_str(), t) {
        ("float" | "float16" | "bfloat16", Initializer::Tensor(t)) => {
            !matches!(t.dtype(), crate::DType::I8 | crate::DType::I32)
        }
        ("int64", Initializer::Int64 { bool, .. }) => !bool,
        ("bool", Initializer::Int64 { bool, .. }) => *bool,
        _ => false,
    };
    if !fits_type {
        return Err(Error::Usage(format!(
            "graph input '{}' is {}, but the given tensor is {}; the importer takes float, int64 and bool inputs",
            v.name,
            v.elem_type,
            t.type_name()
        )));
    }
    if let Some(dims) = &v.dims {
        let got = t.dims();
        let fits = dims.len() == got.len()
            && dims.iter().zip(got).all(|(d, &g)| match d {
                super::Dim::Fixed(f) => *f == g as i64,
                _ => g > 0,
            });
        if !fits {
            return Err(Error::Usage(format!(
                "graph input '{}' must be {} but the given tensor is {}",
                v.name,
                v.dims_text(),
                Shape::new(got.to_vec())
            )));
        }
    }
    Ok(())
}

/// `must_keep_origin_dtype` keeps each op's dtype; the emulator computes device values in f32 or bf16
/// from f32 graphs, so a graph holding float16 or bfloat16 values is refused by name.
pub(super) fn keeps_f32(model: &OnnxModel) -> Result<()> {
    use super::proto::tensor_proto::DataType;
    let g = model.graph();
    let narrow = |code: Option<i32>| {
        matches!(
            code.and_then(|c| DataType::try_from(c).ok()),
            Some(DataType::Float16 | DataType::Bfloat16)
        )
    };
    let found = g
        .initializer
        .iter()
        .find(|t| narrow(t.data_type))
        .and_then(|t| t.name.clone())
        .or_else(|| {
            model
                .info()
                .inputs
                .into_iter()
                .find(|v| v.elem_type == "float16" || v.elem_type == "bfloat16")
                .map(|v| v.name)
        });
    match found {
        Some(name) => Err(Error::Usage(format!(
            "{}: must_keep_origin_dtype keeps each op in the graph's dtype, but '{name}' is float16 or \
             bfloat16, which the emulator's Vector unit does not compute in end to end; use force_bf16, \
             allow_mix_precision_bf16 or force_fp32",
            model.path().display()
        ))),
        None => Ok(()),
    }
}

/// Binds the input's symbolic dimensions (`batch`, `seq`): one name, one value across all inputs.
pub(super) fn bind_dims(
    v: &super::ValueInfo,
    got: &[usize],
    bound: &mut HashMap<String, (usize, String)>,
) -> Result<()> {
    for (d, &g) in v.dims.iter().flatten().zip(got) {
        if let super::Dim::Named(name) = d {
            match bound.get(name) {
                Some((b, first)) if *b != g => {
                    return Err(Error::Usage(format!(
                        "graph input '{}' has {name} = {g}, but '{first}' bound {name} = {b}",
                        v.name
                    )));
                }
                Some(_) => {}
                None => {
                    bound.insert(name.clone(), (g, v.name.clone()));
                }
            }
        }
    }
    Ok(())
}

pub(super) fn to_f32(t: &Tensor) -> Tensor {
    Tensor::new(
        t.shape().clone(),
        crate::tensor::TensorData::F32(t.to_f32_vec()),
    )
    .expect("same shape")
}
