//! Host values and what the importer computes with them before anything runs: the shape subgraphs of a
//! dynamic export (`Shape` -> `Gather` -> `Unsqueeze` -> `Concat` -> `Reshape`), masks built from int64
//! inputs (`Equal`, `Where`, `Expand`, `ConstantOfShape`), position ids (`Range`, `Slice`) and constant
//! tables, as ATC folds them offline. Every data-movement op here works through one index map (the flat
//! source index of each result element), so it is exact for every element type; int64 arithmetic wraps
//! as onnxruntime's does and integer division by zero is refused.
//!
//! Written by hand because it is the importer's own semantics (ONNX's broadcasting, negative axes and
//! clamped slice bounds on values held as [`Initializer`]); no ONNX crate exposes it without its own
//! tensor types.

use super::initializer::Initializer;
use crate::files::check_host_memory;
use crate::program::broadcast::broadcast_shapes;
use crate::tensor::{DType, Shape, Tensor, TensorData};
use crate::{Error, Result};

/// A host result of `dims` may be built: its element count is addressable and fits in memory (16 bytes
/// per element: the value and its index).
pub fn check_size(what: &str, dims: &[usize]) -> Result<usize> {
    let n = Shape::new(dims.to_vec()).checked_numel().ok_or_else(|| {
        Error::Invalid(format!(
            "{what}: a result of {dims:?} has more elements than this host can address"
        ))
    })?;
    check_host_memory(what, n as u128 * 16)?;
    Ok(n)
}

fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// Calls `f` with each multi-index of `dims` in row-major order.
fn for_each_index(dims: &[usize], mut f: impl FnMut(&[usize])) {
    if dims.contains(&0) {
        return;
    }
    let mut idx = vec![0usize; dims.len()];
    loop {
        f(&idx);
        let mut d = dims.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < dims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// The numpy broadcast of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    broadcast_shapes(&Shape::new(a.to_vec()), &Shape::new(b.to_vec())).map(|s| s.0)
}

/// For each element of `out`, the flat index of the element of `src` (numpy-broadcast to `out`) it reads.
pub fn broadcast_index(src: &[usize], out: &[usize]) -> Vec<usize> {
    let st = strides(src);
    let pad = out.len() - src.len();
    let mut idx = Vec::new();
    for_each_index(out, |i| {
        idx.push(
            (0..src.len())
                .map(|d| if src[d] == 1 { 0 } else { i[pad + d] * st[d] })
                .sum(),
        );
    });
    idx
}

/// The elements of `v` at `idx`, as a value of `dims` (same element type).
pub fn take(v: &Initializer, idx: &[usize], dims: Vec<usize>) -> Result<Initializer> {
    Ok(match v {
        Initializer::Int64 { values, bool, .. } => Initializer::Int64 {
            dims,
            values: idx.iter().map(|&i| values[i]).collect(),
            bool: *bool,
        },
        Initializer::Tensor(t) => {
            let data = TensorData::from_bits(t.dtype(), idx.iter().map(|&i| t.data().bits_at(i)));
            Initializer::Tensor(Tensor::new(Shape::new(dims), data)?)
        }
    })
}

/// `v` under new dimensions (same elements).
pub fn with_dims(v: &Initializer, dims: Vec<usize>) -> Result<Initializer> {
    Ok(match v {
        Initializer::Int64 { values, bool, .. } => Initializer::Int64 {
            dims,
            values: values.clone(),
            bool: *bool,
        },
        Initializer::Tensor(t) => {
            Initializer::Tensor(Tensor::new(Shape::new(dims), t.data().clone())?)
        }
    })
}

/// `v` broadcast to `dims` (ONNX Expand: the result is the broadcast of both shapes).
pub fn expand(v: &Initializer, dims: &[usize]) -> std::result::Result<Initializer, String> {
    let out = broadcast(v.dims(), dims)
        .ok_or_else(|| format!("{:?} does not broadcast to {dims:?}", v.dims()))?;
    check_size("Expand", &out).map_err(|e| e.to_string())?;
    let idx = broadcast_index(v.dims(), &out);
    take(v, &idx, out).map_err(|e| e.to_string())
}

/// The index map of `Gather(data, indices, axis)`: result dims `data[..axis] + indices + data[axis+1..]`.
/// Negative indices count from the end; one past the axis is refused.
pub fn gather_index(
    dims: &[usize],
    axis: usize,
    indices: &[i64],
    idims: &[usize],
) -> std::result::Result<(Vec<usize>, Vec<usize>), String> {
    let len = dims[axis] as i64;
    let ids: Vec<usize> = indices
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + len } else { i };
            if (0..len).contains(&j) {
                Ok(j as usize)
            } else {
                Err(format!("index {i} is outside an axis of {len}"))
            }
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut out = dims[..axis].to_vec();
    out.extend_from_slice(idims);
    out.extend_from_slice(&dims[axis + 1..]);
    check_size("Gather", &out).map_err(|e| e.to_string())?;
    let (outer, inner): (usize, usize) = (
        dims[..axis].iter().product(),
        dims[axis + 1..].iter().product(),
    );
    let mut idx = Vec::with_capacity(outer * ids.len() * inner);
    for o in 0..outer {
        for &j in &ids {
            let base = (o * dims[axis] + j) * inner;
            idx.extend(base..base + inner);
        }
    }
    Ok((out, idx))
}

/// One axis of a Slice, resolved: its start and step and the result's length along it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceAxis {
    pub start: usize,
    pub step: i64,
    pub len: usize,
}

/// ONNX Slice's bounds on an axis of `dim`: negative values count from the end, then starts and ends are
/// clamped (to `[0, dim]` for a positive step, `[-1, dim-1]` for a negative one); a zero step is refused.
pub fn slice_axis(
    dim: usize,
    start: i64,
    end: i64,
    step: i64,
) -> std::result::Result<SliceAxis, String> {
    if step == 0 {
        return Err("a slice step of 0".into());
    }
    let d = dim as i64;
    let resolve = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (s, e) = (resolve(start), resolve(end));
    let (s, e) = if step > 0 {
        (s.clamp(0, d), e.clamp(0, d))
    } else {
        (s.clamp(-1, d - 1), e.clamp(-1, d - 1))
    };
    let len = if step > 0 {
        if e > s { (e - s + step - 1) / step } else { 0 }
    } else if s > e {
        (s - e + (-step) - 1) / (-step)
    } else {
        0
    };
    Ok(SliceAxis {
        start: s.max(0) as usize,
        step,
        len: len as usize,
    })
}

/// The index map of slicing `dims` with one resolved [`SliceAxis`] per axis.
pub fn slice_index(dims: &[usize], axes: &[SliceAxis]) -> (Vec<usize>, Vec<usize>) {
    let out: Vec<usize> = axes.iter().map(|a| a.len).collect();
    let st = strides(dims);
    let mut idx = Vec::new();
    for_each_index(&out, |i| {
        idx.push(
            i.iter()
                .zip(axes)
                .zip(&st)
                .map(|((&k, a), &s)| (a.start as i64 + k as i64 * a.step) as usize * s)
                .sum(),
        );
    });
    (out, idx)
}

/// Host values joined along `axis` (all of one element type, equal elsewhere).
pub fn concat(vals: &[Initializer], axis: usize) -> std::result::Result<Initializer, String> {
    let first = vals.first().ok_or("no inputs")?;
    let rank = first.dims().len();
    let mut out = first.dims().to_vec();
    out[axis] = 0;
    for v in vals {
        let d = v.dims();
        if d.len() != rank
            || (0..rank).any(|i| i != axis && d[i] != first.dims()[i])
            || v.type_name() != first.type_name()
        {
            return Err(format!(
                "inputs {} {:?} and {} {d:?} do not join along axis {axis}",
                first.type_name(),
                first.dims(),
                v.type_name()
            ));
        }
        out[axis] += d[axis];
    }
    check_size("Concat", &out).map_err(|e| e.to_string())?;
    // Each input's block along the axis, one outer index at a time.
    let outer: usize = out[..axis].iter().product();
    let inner: usize = out[axis + 1..].iter().product();
    let mut parts: Vec<(usize, usize)> = Vec::new(); // (input, flat index)
    for o in 0..outer {
        for (k, v) in vals.iter().enumerate() {
            let block = v.dims()[axis] * inner;
            parts.extend((o * block..(o + 1) * block).map(|i| (k, i)));
        }
    }
    Ok(match first {
        Initializer::Int64 { bool, .. } => Initializer::Int64 {
            dims: out,
            values: parts.iter().map(|&(k, i)| ints(&vals[k])[i]).collect(),
            bool: *bool,
        },
        Initializer::Tensor(t) => {
            let bits = parts.iter().map(|&(k, i)| match &vals[k] {
                Initializer::Tensor(x) => x.data().bits_at(i),
                Initializer::Int64 { .. } => unreachable!("types checked above"),
            });
            let data = TensorData::from_bits(t.dtype(), bits);
            Initializer::Tensor(Tensor::new(Shape::new(out), data).map_err(|e| e.to_string())?)
        }
    })
}

fn ints(v: &Initializer) -> &[i64] {
    match v {
        Initializer::Int64 { values, .. } => values,
        Initializer::Tensor(_) => &[],
    }
}

/// `v` cast to the ONNX element type `to` (its code): ints to floats round to nearest even, floats to
/// ints truncate toward zero (NaN and out-of-range values are refused), anything to bool is `!= 0`.
pub fn cast(v: &Initializer, to: i32) -> std::result::Result<Initializer, String> {
    use super::proto::tensor_proto::DataType as T;
    let dims = v.dims().to_vec();
    let n = dims.iter().product::<usize>();
    let as_f64 = |i: usize| -> f64 {
        match v {
            Initializer::Int64 { values, .. } => values[i] as f64,
            Initializer::Tensor(t) => t.data().f32_at(i) as f64,
        }
    };
    let float = |d: DType| -> std::result::Result<Initializer, String> {
        // int64 -> f32 through f64 is one rounding for |v| < 2^53, as onnxruntime's static_cast.
        let f: Vec<f32> = (0..n).map(|i| as_f64(i) as f32).collect();
        let data = crate::reference::cast_formats::cast_formats(
            &TensorData::F32(f),
            d,
            crate::program::Rounding::Nearest,
            0,
        );
        Ok(Initializer::Tensor(
            Tensor::new(Shape::new(dims.clone()), data).map_err(|e| e.to_string())?,
        ))
    };
    match T::try_from(to) {
        Ok(T::Float) => float(DType::F32),
        Ok(T::Float16) => float(DType::F16),
        Ok(T::Bfloat16) => float(DType::Bf16),
        Ok(T::Bool) => Ok(Initializer::Int64 {
            dims,
            values: (0..n).map(|i| i64::from(as_f64(i) != 0.0)).collect(),
            bool: true,
        }),
        Ok(T::Int64 | T::Int32) => {
            let values = match v {
                Initializer::Int64 { values, .. } => values.clone(),
                Initializer::Tensor(t) => (0..n)
                    .map(|i| {
                        let f = t.data().f32_at(i);
                        if f.is_finite() && f.abs() < 9.2e18 {
                            Ok(f.trunc() as i64)
                        } else {
                            Err(format!("the value {f} has no integer"))
                        }
                    })
                    .collect::<std::result::Result<_, String>>()?,
            };
            if to == T::Int32 as i32 {
                let t: Vec<i32> = values
                    .iter()
                    .map(|&x| i32::try_from(x).map_err(|_| format!("{x} does not fit in int32")))
                    .collect::<std::result::Result<_, _>>()?;
                let t =
                    Tensor::new(Shape::new(dims), TensorData::I32(t)).map_err(|e| e.to_string())?;
                return Ok(Initializer::Tensor(t));
            }
            Ok(Initializer::Int64 {
                dims,
                values,
                bool: false,
            })
        }
        _ => Err(format!(
            "to={} is not a type the importer casts to (float, float16, bfloat16, int64, int32, bool)",
            super::initializer::type_code_name(to)
        )),
    }
}
