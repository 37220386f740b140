//! The host arithmetic of [`super::fold`]: int64 elementwise ops with numpy broadcasting (as shape
//! subgraphs compute dimensions), `Equal`, `Where`, `Range`, `ConstantOfShape` and `Trilu` on host
//! values, and float arithmetic on values known on the host (a mask built from an int64 input), computed
//! bit for bit as the Vector unit computes it.

use super::fold::{broadcast, broadcast_index, check_size, take};
use super::initializer::Initializer;
use crate::program::BinaryFn;
use crate::reference::vector_binary::binary_fn;
use crate::tensor::{Shape, Tensor, TensorData};

type Res<T> = std::result::Result<T, String>;

/// An int64 or bool value's integers.
fn ints(v: &Initializer) -> Option<&[i64]> {
    match v {
        Initializer::Int64 { values, .. } => Some(values),
        Initializer::Tensor(_) => None,
    }
}

fn bcast(a: &Initializer, b: &Initializer) -> Res<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let out = broadcast(a.dims(), b.dims())
        .ok_or_else(|| format!("{:?} and {:?} do not broadcast", a.dims(), b.dims()))?;
    check_size("a host op", &out).map_err(|e| e.to_string())?;
    Ok((
        broadcast_index(a.dims(), &out),
        broadcast_index(b.dims(), &out),
        out,
    ))
}

/// `a op b` on int64 values (`Add`, `Sub`, `Mul`, `Div` truncating toward zero, `Max`, `Min`).
pub fn int_binary(op: &str, a: &Initializer, b: &Initializer) -> Res<Initializer> {
    let (Some(x), Some(y)) = (ints(a), ints(b)) else {
        return Err("both operands must be integers".into());
    };
    let (ia, ib, dims) = bcast(a, b)?;
    let values = ia
        .iter()
        .zip(&ib)
        .map(|(&i, &j)| {
            let (p, q) = (x[i], y[j]);
            Ok(match op {
                "Add" => p.wrapping_add(q),
                "Sub" => p.wrapping_sub(q),
                "Mul" => p.wrapping_mul(q),
                "Div" if q == 0 => return Err(format!("integer division of {p} by zero")),
                "Div" => p.wrapping_div(q),
                "Max" => p.max(q),
                "Min" => p.min(q),
                _ => return Err(format!("{op} is not an integer op here")),
            })
        })
        .collect::<Res<_>>()?;
    Ok(Initializer::Int64 {
        dims,
        values,
        bool: false,
    })
}

/// `a op b` on host float values, computed as the Vector unit computes it (`binary_fn`, the CPU twin
/// of its shader: f32, one rounding), so that folding a mask on the host changes no bit of the result.
pub fn float_binary(f: BinaryFn, a: &Initializer, b: &Initializer) -> Res<Initializer> {
    let (Initializer::Tensor(x), Initializer::Tensor(y)) = (a, b) else {
        return Err("both operands must be floats".into());
    };
    let (ia, ib, dims) = bcast(a, b)?;
    let v = ia
        .iter()
        .zip(&ib)
        .map(|(&i, &j)| binary_fn(f, x.data().f32_at(i), y.data().f32_at(j)))
        .collect();
    Ok(Initializer::Tensor(
        Tensor::from_f32(Shape::new(dims), v).map_err(|e| e.to_string())?,
    ))
}

/// The value of element `i` for comparisons: integers exactly, floats as f64.
fn num(v: &Initializer, i: usize) -> f64 {
    match v {
        Initializer::Int64 { values, .. } => values[i] as f64,
        Initializer::Tensor(t) => t.data().f32_at(i) as f64,
    }
}

/// `Equal(a, b)` as a bool value (int64 compared exactly, floats as IEEE does: NaN equals nothing).
pub fn equal(a: &Initializer, b: &Initializer) -> Res<Initializer> {
    let (ia, ib, dims) = bcast(a, b)?;
    let values = match (ints(a), ints(b)) {
        (Some(x), Some(y)) => ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| i64::from(x[i] == y[j]))
            .collect(),
        _ => ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| i64::from(num(a, i) == num(b, j)))
            .collect(),
    };
    Ok(Initializer::Int64 {
        dims,
        values,
        bool: true,
    })
}

/// `Where(cond, x, y)`: x where cond holds, else y, all three broadcast together.
pub fn where_(cond: &Initializer, x: &Initializer, y: &Initializer) -> Res<Initializer> {
    let c = ints(cond).ok_or("the condition must be bool")?;
    if x.type_name() != y.type_name() {
        return Err(format!("x is {} but y is {}", x.type_name(), y.type_name()));
    }
    let xy = broadcast(x.dims(), y.dims())
        .ok_or_else(|| format!("{:?} and {:?} do not broadcast", x.dims(), y.dims()))?;
    let out = broadcast(cond.dims(), &xy).ok_or_else(|| {
        format!(
            "the condition {:?} does not broadcast to {xy:?}",
            cond.dims()
        )
    })?;
    check_size("Where", &out).map_err(|e| e.to_string())?;
    let (ic, ix, iy) = (
        broadcast_index(cond.dims(), &out),
        broadcast_index(x.dims(), &out),
        broadcast_index(y.dims(), &out),
    );
    // Pick from x and y laid end to end: one index map, one take.
    let n = x.dims().iter().product::<usize>();
    let joined = match (x, y) {
        (
            Initializer::Int64 {
                values: a, bool, ..
            },
            Initializer::Int64 { values: b, .. },
        ) => Initializer::Int64 {
            dims: vec![n + b.len()],
            values: a.iter().chain(b).copied().collect(),
            bool: *bool,
        },
        (Initializer::Tensor(a), Initializer::Tensor(b)) if a.dtype() == b.dtype() => {
            let bits = (0..a.numel())
                .map(|i| a.data().bits_at(i))
                .chain((0..b.numel()).map(|i| b.data().bits_at(i)));
            let data = TensorData::from_bits(a.dtype(), bits);
            Initializer::Tensor(
                Tensor::new(Shape::new([data.len()]), data).map_err(|e| e.to_string())?,
            )
        }
        _ => return Err(format!("x is {} but y is {}", x.type_name(), y.type_name())),
    };
    let idx: Vec<usize> = (0..ic.len())
        .map(|k| if c[ic[k]] != 0 { ix[k] } else { n + iy[k] })
        .collect();
    take(&joined, &idx, out).map_err(|e| e.to_string())
}

/// `Range(start, limit, delta)` of scalars: int64 exactly, floats computed as `start + i * delta` in f32.
pub fn range(start: &Initializer, limit: &Initializer, delta: &Initializer) -> Res<Initializer> {
    let scalar = |v: &Initializer, what: &str| {
        if v.dims().iter().product::<usize>() == 1 {
            Ok(num(v, 0))
        } else {
            Err(format!("{what} must be a scalar, got {:?}", v.dims()))
        }
    };
    let (s, l, d) = (
        scalar(start, "start")?,
        scalar(limit, "limit")?,
        scalar(delta, "delta")?,
    );
    if d == 0.0 || !(s.is_finite() && l.is_finite() && d.is_finite()) {
        return Err(format!("Range({s}, {l}, {d}) has no finite length"));
    }
    let n = ((l - s) / d).ceil().max(0.0);
    check_size("Range", &[n as usize]).map_err(|e| e.to_string())?;
    let n = n as usize;
    match (ints(start), ints(limit), ints(delta)) {
        (Some(s), Some(_), Some(d)) => Ok(Initializer::Int64 {
            dims: vec![n],
            values: (0..n as i64)
                .map(|i| s[0].wrapping_add(i.wrapping_mul(d[0])))
                .collect(),
            bool: false,
        }),
        _ => {
            let (s, d) = (s as f32, d as f32);
            let v = (0..n).map(|i| s + i as f32 * d).collect();
            Ok(Initializer::Tensor(
                Tensor::from_f32([n], v).map_err(|e| e.to_string())?,
            ))
        }
    }
}

/// `ConstantOfShape`: `dims` filled with the one element of `value` (float 0 when absent).
pub fn constant_of_shape(dims: &[i64], value: Option<Initializer>) -> Res<Initializer> {
    let dims: Vec<usize> = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d} is negative")))
        .collect::<Res<_>>()?;
    let value = value.unwrap_or(Initializer::Tensor(
        Tensor::from_f32([1], vec![0.0]).expect("one"),
    ));
    if value.dims().iter().product::<usize>() != 1 {
        return Err(format!(
            "its value must hold one element, got {:?}",
            value.dims()
        ));
    }
    let n = check_size("ConstantOfShape", &dims).map_err(|e| e.to_string())?;
    take(&value, &vec![0; n], dims).map_err(|e| e.to_string())
}

/// `Trilu`: the lower (or upper) triangle of the last two axes, from diagonal `k`; the rest zeroed.
pub fn trilu(v: &Initializer, upper: bool, k: i64) -> Res<Initializer> {
    let d = v.dims();
    if d.len() < 2 {
        return Err(format!("the input must have rank >= 2, got {d:?}"));
    }
    let (rows, cols) = (d[d.len() - 2], d[d.len() - 1]);
    let keep = |i: usize| {
        let (r, c) = (((i / cols) % rows) as i64, (i % cols) as i64);
        if upper { c - r >= k } else { c - r <= k }
    };
    Ok(match v {
        Initializer::Int64 { dims, values, bool } => Initializer::Int64 {
            dims: dims.clone(),
            values: values
                .iter()
                .enumerate()
                .map(|(i, &x)| if keep(i) { x } else { 0 })
                .collect(),
            bool: *bool,
        },
        Initializer::Tensor(t) => {
            // Zero is the all-zero bit pattern in every element type.
            let bits = (0..t.numel()).map(|i| if keep(i) { t.data().bits_at(i) } else { 0 });
            let data = TensorData::from_bits(t.dtype(), bits);
            Initializer::Tensor(Tensor::new(t.shape().clone(), data).map_err(|e| e.to_string())?)
        }
    })
}
