//! numpy arrays in and out. The Python side passes each array with a dtype tag (`f32`, `f16`, `bf16`,
//! `i8`, `i32`, `f8e4m3`, `f8e5m2`), bf16 and fp8 as same-sized unsigned views of ml_dtypes' arrays, so
//! that this side never depends on how numpy names those types. In: one copy of a C-contiguous buffer
//! into the tensor (a non-contiguous array is refused, not silently copied). Out: the tensor's own
//! buffer becomes the array's (no copy); Python views bf16 and fp8 back as ml_dtypes' types.

use davinci::tensor::TensorData;
use davinci::{DType, Shape, Tensor};
use half::{bf16, f16};
use numpy::{
    Element, PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::errors::{DTypeError, ShapeError, usage};

/// The tag of a dtype, as the Python side names it.
pub fn tag(d: DType) -> &'static str {
    match d {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::Bf16 => "bf16",
        DType::I8 => "i8",
        DType::I32 => "i32",
        DType::F8E4M3 => "f8e4m3",
        DType::F8E5M2 => "f8e5m2",
    }
}

/// The dtype of a tag (also the library's own names: `float32`, `bfloat16`, ...).
pub fn dtype(tag: &str) -> PyResult<DType> {
    Ok(match tag {
        "f32" | "float32" => DType::F32,
        "f16" | "float16" => DType::F16,
        "bf16" | "bfloat16" => DType::Bf16,
        "i8" | "int8" => DType::I8,
        "i32" | "int32" => DType::I32,
        "f8e4m3" | "float8_e4m3fn" => DType::F8E4M3,
        "f8e5m2" | "float8_e5m2" => DType::F8E5M2,
        other => {
            return Err(usage(format!(
                "unknown dtype '{other}': expected float32, float16, bfloat16, int8, int32, \
                 float8_e4m3fn or float8_e5m2"
            )));
        }
    })
}

fn elements<T: Element + Copy>(obj: &Bound<'_, PyAny>, name: &str, tag: &str) -> PyResult<Vec<T>> {
    let arr: PyReadonlyArrayDyn<'_, T> = obj.extract().map_err(|_| {
        DTypeError::new_err(format!(
            "{name}: the array's element type does not match its dtype tag '{tag}'"
        ))
    })?;
    Ok(arr
        .as_slice()
        .map_err(|_| ShapeError::new_err(format!("{name}: the array is not C-contiguous")))?
        .to_vec())
}

/// A tensor from a numpy array carrying dtype `tag`; `name` is the input's name, for errors.
pub fn to_tensor(obj: &Bound<'_, PyAny>, tag: &str, name: &str) -> PyResult<Tensor> {
    let arr = obj.cast::<PyUntypedArray>().map_err(|_| {
        DTypeError::new_err(format!(
            "{name}: expected a numpy array, got {}",
            type_name(obj)
        ))
    })?;
    if !arr.is_c_contiguous() {
        return Err(ShapeError::new_err(format!(
            "{name}: the array {:?} is not C-contiguous (a transposed or sliced view); pass \
             numpy.ascontiguousarray(x), or use trans_a / trans_b for a transposed matmul operand",
            arr.shape()
        )));
    }
    let shape = Shape::new(arr.shape().to_vec());
    let data = match dtype(tag)? {
        DType::F32 => TensorData::F32(elements::<f32>(obj, name, tag)?),
        DType::F16 => TensorData::F16(elements::<f16>(obj, name, tag)?),
        DType::Bf16 => TensorData::Bf16(bytemuck::cast_vec::<u16, bf16>(elements::<u16>(
            obj, name, tag,
        )?)),
        DType::I8 => TensorData::I8(elements::<i8>(obj, name, tag)?),
        DType::I32 => TensorData::I32(elements::<i32>(obj, name, tag)?),
        DType::F8E4M3 => TensorData::F8E4M3(elements::<u8>(obj, name, tag)?),
        DType::F8E5M2 => TensorData::F8E5M2(elements::<u8>(obj, name, tag)?),
    };
    Tensor::new(shape, data).map_err(crate::errors::to_py)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".into())
}

fn shaped<'py, T: Element>(
    py: Python<'py>,
    v: Vec<T>,
    dims: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, v).reshape(dims.to_vec())?.into_any())
}

/// A numpy array holding the tensor's buffer, and its dtype tag.
pub fn to_numpy(py: Python<'_>, t: Tensor) -> PyResult<(Py<PyAny>, &'static str)> {
    let dims = t.shape().dims().to_vec();
    let tag = tag(t.dtype());
    let data = t.into_data();
    let arr = match data {
        TensorData::F32(v) => shaped(py, v, &dims)?,
        TensorData::F16(v) => shaped(py, v, &dims)?,
        // bf16 and u16 have one size and alignment: the buffer moves as it is.
        TensorData::Bf16(v) => shaped(py, bytemuck::cast_vec::<bf16, u16>(v), &dims)?,
        TensorData::I8(v) => shaped(py, v, &dims)?,
        TensorData::I32(v) => shaped(py, v, &dims)?,
        TensorData::F8E4M3(v) | TensorData::F8E5M2(v) => shaped(py, v, &dims)?,
    };
    Ok((arr.unbind(), tag))
}
