//! The shape and data-movement ops of [`super::lower`]: on host values they fold ([`super::fold`]), on
//! device tensors they record MTE moves (a reshape, a permute, a row gather). `Shape`, `Gather`,
//! `Unsqueeze`, `Squeeze`, `Flatten`, `Reshape`, `Concat`, `Slice`, `Expand`, `Where`, `Equal`,
//! `ConstantOfShape`, `Range`, `Cast` and `Trilu`. Indices, shapes and conditions must be known on the
//! host (they are, in PyTorch's exports of encoders and decoders); one computed on the device is refused
//! by name.

use super::attrs;
use super::fold::{self, SliceAxis};
use super::fold_ops;
use super::initializer::{Initializer, decode};
use super::lower::{Lowering, Val};
use crate::Result;
use crate::program::{BinaryFn, TensorId};
use crate::tensor::{DType, Shape, Tensor};

impl Lowering<'_> {
    /// The value of input `i`, which must be on the host.
    pub(super) fn host(&self, i: usize, what: &str) -> Result<Initializer> {
        let name = self
            .input_name(i)
            .ok_or_else(|| self.err(format!("its {what} (input {i}) is missing")))?;
        match self.val(name)? {
            Val::Host(v) => Ok(v),
            Val::Dev(_) => Err(self.err(format!(
                "its {what} '{name}' is computed on the device; the importer needs it known on the host"
            ))),
        }
    }

    /// The dimensions of a value, host or device.
    pub(super) fn dims_of(&self, i: usize) -> Result<Vec<usize>> {
        let name = self
            .input_name(i)
            .ok_or_else(|| self.err(format!("input {i} is missing")))?;
        match self.val(name)? {
            Val::Host(v) => Ok(v.dims().to_vec()),
            Val::Dev(id) => self.dims(id),
        }
    }

    pub(super) fn is_host(&self, i: usize) -> bool {
        self.input_name(i)
            .is_some_and(|n| matches!(self.vals.get(n), Some(Val::Host(_))))
    }

    pub(super) fn set_host(&mut self, v: Initializer) {
        let name = self.node.output.first().cloned().unwrap_or_default();
        self.vals.insert(name, Val::Host(v));
    }

    fn host_r<T>(&self, r: std::result::Result<T, String>) -> Result<T> {
        r.map_err(|e| self.err(e))
    }

    /// Axes from the attribute `axes` or (since opset 13) input `i`, resolved against `rank`.
    fn axes(&self, i: usize, rank: usize) -> Result<Option<Vec<usize>>> {
        self.raw_axes(i)?
            .map(|a| a.iter().map(|&v| attrs::axis(self.node, v, rank)).collect())
            .transpose()
    }

    fn raw_axes(&self, i: usize) -> Result<Option<Vec<i64>>> {
        match attrs::ints(self.node, "axes") {
            Some(a) => Ok(Some(a)),
            None => self.host_ints(i),
        }
    }

    /// The shape and movement ops; `Ok(false)` if `op` is not one of them.
    /// Device tensor `x` broadcast to `out` (numpy rules, checked by the caller): a broadcast copy,
    /// recorded as x * 1 against ones of the dimensions x lacks, which is exact for every value and costs
    /// what the Vector unit takes to write the result; `x` itself where nothing grows.
    pub(super) fn expand_dev(&mut self, x: TensorId, out: &[usize]) -> Result<TensorId> {
        let d = self.dims(x)?;
        if out == d {
            return Ok(x);
        }
        let pad = out.len() - d.len();
        let ones_dims: Vec<usize> = (0..out.len())
            .map(|k| {
                if k >= pad && d[k - pad] == out[k] {
                    1
                } else {
                    out[k]
                }
            })
            .collect();
        let numel = fold::check_size("Expand", &ones_dims)?;
        let ones = Tensor::from_f32(Shape::new(ones_dims), vec![1.0; numel])?;
        let ones = self.g.constant(
            format!("{} (ones)", self.node.name.as_deref().unwrap_or("Expand")),
            ones,
        );
        let dt = self.gray(&[x])?;
        self.g.program.binary(BinaryFn::Mul, x, ones, dt)
    }

    pub(super) fn lower_shape(&mut self, op: &str) -> Result<bool> {
        let n = self.node;
        match op {
            "Shape" => {
                let d = self.dims_of(0)?;
                let r = d.len() as i64;
                let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let s = clamp(attrs::int(n, "start").unwrap_or(0));
                let e = clamp(attrs::int(n, "end").unwrap_or(r)).max(s);
                let values: Vec<i64> = d[s..e].iter().map(|&x| x as i64).collect();
                self.set_host(Initializer::Int64 {
                    dims: vec![values.len()],
                    values,
                    bool: false,
                });
            }
            "Unsqueeze" | "Squeeze" | "Flatten" | "Reshape" => {
                let d = self.dims_of(0)?;
                let out = match op {
                    "Unsqueeze" => {
                        let rank = d.len() + self.raw_axes(1)?.map_or(0, |a| a.len());
                        let axes = self
                            .axes(1, rank)?
                            .ok_or_else(|| self.err("it has no axes"))?;
                        let mut out = Vec::with_capacity(rank);
                        let mut src = d.iter();
                        for k in 0..rank {
                            out.push(if axes.contains(&k) {
                                1
                            } else {
                                *src.next().unwrap_or(&1)
                            });
                        }
                        out
                    }
                    "Squeeze" => {
                        let axes = self.axes(1, d.len())?;
                        if let Some(a) = axes.as_ref().and_then(|a| a.iter().find(|&&a| d[a] != 1))
                        {
                            return Err(self.err(format!("axis {a} of {d:?} is not of size 1")));
                        }
                        (0..d.len())
                            .filter(|k| match &axes {
                                Some(a) => !a.contains(k),
                                None => d[*k] != 1,
                            })
                            .map(|k| d[k])
                            .collect()
                    }
                    "Flatten" => {
                        let a = attrs::int(n, "axis").unwrap_or(1);
                        let a = if a == d.len() as i64 {
                            d.len()
                        } else {
                            attrs::axis(n, a, d.len())?
                        };
                        vec![d[..a].iter().product(), d[a..].iter().product()]
                    }
                    _ => {
                        let shape = self
                            .host_ints(1)?
                            .ok_or_else(|| self.err("its shape input is missing"))?;
                        let zero = attrs::int(n, "allowzero") == Some(1);
                        let t = super::lower_ops::reshape_dims(&d, &shape, zero);
                        self.host_r(t)?
                    }
                };
                if self.is_host(0) {
                    let v = fold::with_dims(&self.host(0, "data")?, out)?;
                    self.set_host(v);
                } else {
                    let x = self.arg(0)?;
                    let y = self.g.program.reshape(x, Shape::new(out))?;
                    self.set(0, y)?;
                }
            }
            "Gather" => {
                let d = self.dims_of(0)?;
                let axis = attrs::axis(n, attrs::int(n, "axis").unwrap_or(0), d.len())?;
                let (idims, ids) = match self.host(1, "indices")? {
                    Initializer::Int64 {
                        dims,
                        values,
                        bool: false,
                    } => (dims, values),
                    Initializer::Tensor(t) if t.dtype() == DType::I32 => (
                        t.shape().dims().to_vec(),
                        (0..t.numel())
                            .map(|i| t.data().bits_at(i) as i32 as i64)
                            .collect(),
                    ),
                    v => {
                        return Err(self.err(format!(
                            "its indices are {}, not int64 or int32",
                            v.type_name()
                        )));
                    }
                };
                let (out, idx) = self.host_r(fold::gather_index(&d, axis, &ids, &idims))?;
                match self.val(self.input_name(0).unwrap_or(""))? {
                    // Shapes and int64 tables fold; float tables (embeddings) are a gather on the chip.
                    Val::Host(v @ Initializer::Int64 { .. }) => {
                        let v = fold::take(&v, &idx, out)?;
                        self.set_host(v);
                    }
                    _ => {
                        let x = self.arg(0)?;
                        let len = d[axis] as i64;
                        let rows: Vec<usize> = ids
                            .iter()
                            .map(|&i| (if i < 0 { i + len } else { i }) as usize)
                            .collect();
                        let y = self.take_axis(x, axis, &rows, &out)?;
                        self.set(0, y)?;
                    }
                }
            }
            "Slice" => {
                let d = self.dims_of(0)?;
                // Before opset 10 the bounds are attributes.
                let bound = |k: &str, i: usize| match attrs::ints(n, k) {
                    Some(v) if self.opset < 10 => Ok(Some(v)),
                    _ => self.host_ints(i),
                };
                let starts =
                    bound("starts", 1)?.ok_or_else(|| self.err("its starts are missing"))?;
                let ends = bound("ends", 2)?.ok_or_else(|| self.err("its ends are missing"))?;
                let axes = match bound("axes", 3)? {
                    Some(a) => a
                        .iter()
                        .map(|&v| attrs::axis(n, v, d.len()))
                        .collect::<Result<Vec<_>>>()?,
                    None => (0..starts.len()).collect(),
                };
                let steps = if self.opset < 10 {
                    None
                } else {
                    self.host_ints(4)?
                };
                let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
                if ends.len() != starts.len()
                    || axes.len() != starts.len()
                    || steps.len() != starts.len()
                {
                    return Err(self.err("starts, ends, axes and steps differ in length"));
                }
                let mut plan: Vec<SliceAxis> = d
                    .iter()
                    .map(|&len| SliceAxis {
                        start: 0,
                        step: 1,
                        len,
                    })
                    .collect();
                for k in 0..starts.len() {
                    plan[axes[k]] =
                        self.host_r(fold::slice_axis(d[axes[k]], starts[k], ends[k], steps[k]))?;
                }
                if self.is_host(0) {
                    let lens: Vec<usize> = plan.iter().map(|a| a.len).collect();
                    fold::check_size("Slice", &lens)?;
                    let (out, idx) = fold::slice_index(&d, &plan);
                    let v = fold::take(&self.host(0, "data")?, &idx, out)?;
                    self.set_host(v);
                } else {
                    let mut x = self.arg(0)?;
                    let mut cur = d.clone();
                    for (axis, a) in plan.iter().enumerate() {
                        if a.start == 0 && a.step == 1 && a.len == d[axis] {
                            continue;
                        }
                        let rows: Vec<usize> = (0..a.len)
                            .map(|k| (a.start as i64 + k as i64 * a.step) as usize)
                            .collect();
                        cur[axis] = a.len;
                        x = self.take_axis(x, axis, &rows, &cur)?;
                    }
                    self.set(0, x)?;
                }
            }
            "Split" => self.split()?,
            "Concat" => {
                let axis = attrs::int(n, "axis").ok_or_else(|| self.err("it has no axis"))?;
                let rank = self.dims_of(0)?.len();
                let axis = attrs::axis(n, axis, rank)?;
                if n.input.len() == 1 {
                    // One input: the value itself, wherever it is.
                    let v = self.val(self.input_name(0).unwrap_or(""))?;
                    let name = n.output.first().cloned().unwrap_or_default();
                    self.vals.insert(name, v);
                    return Ok(true);
                }
                if (0..n.input.len()).all(|i| self.is_host(i)) {
                    let vals = (0..n.input.len())
                        .map(|i| self.host(i, "input"))
                        .collect::<Result<Vec<_>>>()?;
                    let v = self.host_r(fold::concat(&vals, axis))?;
                    self.set_host(v);
                } else {
                    // On the device: pairwise concats, the axes before `axis` taken as rows.
                    let ids = (0..n.input.len())
                        .map(|i| self.arg(i))
                        .collect::<Result<Vec<_>>>()?;
                    // One dtype for all parts (the graylist's: bf16 only if every computed part is).
                    let dt = self.gray(&ids)?;
                    let mut acc = self.in_dtype(ids[0], dt)?;
                    for &b in &ids[1..] {
                        let b = self.in_dtype(b, dt)?;
                        acc = self.g.program.concat(acc, b, axis)?;
                    }
                    self.set(0, acc)?;
                }
            }
            "Expand" => {
                let shape = self
                    .host_ints(1)?
                    .ok_or_else(|| self.err("its shape is missing"))?;
                let target = shape
                    .iter()
                    .map(|&s| {
                        usize::try_from(s).map_err(|_| {
                            self.err(format!("shape {shape:?} has a negative dimension"))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                if self.is_host(0) {
                    let v = self.host_r(fold::expand(&self.host(0, "input")?, &target))?;
                    self.set_host(v);
                } else {
                    let x = self.arg(0)?;
                    let d = self.dims(x)?;
                    let out = fold::broadcast(&d, &target).ok_or_else(|| {
                        self.err(format!("{d:?} does not broadcast to {target:?}"))
                    })?;
                    let y = self.expand_dev(x, &out)?;
                    self.set(0, y)?;
                }
            }
            "Where" => {
                let (c, x, y) = (
                    self.host(0, "condition")?,
                    self.host(1, "X")?,
                    self.host(2, "Y")?,
                );
                let v = self.host_r(fold_ops::where_(&c, &x, &y))?;
                self.set_host(v);
            }
            "Equal" => {
                let (a, b) = (self.host(0, "A")?, self.host(1, "B")?);
                let v = self.host_r(fold_ops::equal(&a, &b))?;
                self.set_host(v);
            }
            "ConstantOfShape" => {
                let shape = self
                    .host_ints(0)?
                    .ok_or_else(|| self.err("its shape is missing"))?;
                let value = attrs::tensor(n, "value")
                    .map(|t| decode(t, &self.dir))
                    .transpose()?;
                let v = self.host_r(fold_ops::constant_of_shape(&shape, value))?;
                self.set_host(v);
            }
            "Range" => {
                let (s, l, d) = (
                    self.host(0, "start")?,
                    self.host(1, "limit")?,
                    self.host(2, "delta")?,
                );
                let v = self.host_r(fold_ops::range(&s, &l, &d))?;
                self.set_host(v);
            }
            "Trilu" => {
                let k = match self.host_ints(1)? {
                    Some(k) if k.len() == 1 => k[0],
                    Some(k) => return Err(self.err(format!("k must be one value, got {k:?}"))),
                    None => 0,
                };
                let v = self.host(0, "input")?;
                let v = self.host_r(fold_ops::trilu(
                    &v,
                    attrs::int(n, "upper").unwrap_or(1) == 1,
                    k,
                ))?;
                self.set_host(v);
            }
            "Cast" => {
                let to = attrs::int(n, "to").ok_or_else(|| self.err("it has no 'to'"))? as i32;
                if self.is_host(0) {
                    let v = self.host_r(fold::cast(&self.host(0, "input")?, to))?;
                    self.set_host(v);
                } else if to == super::proto::tensor_proto::DataType::Float as i32 {
                    // Device values are float throughout the lowered graph (f32, or bf16 under force_bf16):
                    // a cast to float keeps the value as it is.
                    let x = self.arg(0)?;
                    self.set(0, x)?;
                } else {
                    return Err(self.err(format!(
                        "a cast of a device value to {} (device values are float; only a cast to float is taken)",
                        super::initializer::type_code_name(to)
                    )));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}
