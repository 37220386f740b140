//! Ops along an axis in [`super::lower`]: reductions over any axes and Softmax/LogSoftmax on any axis,
//! each brought to the last axis (where the Vector unit's row ops work) by one rank-3 permute; and
//! gathers and slices of device tensors along any axis, brought to the front for one row gather, and
//! `Split` as slices.

use super::attrs;
use super::fold::{self, SliceAxis};
use super::lower::{Lowering, Val};
use crate::Result;
use crate::program::{BinaryFn, Program, ReduceFn, TensorId, UnaryFn};
use crate::tensor::{DType, Shape};

impl Lowering<'_> {
    /// A Transpose of any rank, recorded as the smallest permute that moves the same data: axes of size 1
    /// dropped, input axes that stay adjacent merged (so `[1, 1, 3, 3, 4, 4]` under PixelShuffle's
    /// `(0, 1, 4, 2, 5, 3)` is a rank-4 permute), and none at all when nothing moves.
    pub(super) fn transpose(&mut self, x: TensorId, perm: &[usize]) -> Result<TensorId> {
        let d = self.dims(x)?;
        let out: Vec<usize> = perm.iter().map(|&p| d[p]).collect();
        let (dims, cperm) = compact_perm(&d, perm);
        let p = &mut self.g.program;
        if cperm.iter().enumerate().all(|(i, &q)| i == q) {
            return p.reshape(x, Shape::new(out));
        }
        let t = p.reshape(x, Shape::new(dims))?;
        let t = p.permute(t, &cperm)?;
        p.reshape(t, Shape::new(out))
    }

    /// `x` indexed along `axis` by `rows` (a gather, a slice), as `out` dimensions: the axis is brought to
    /// the front (`[outer, len, inner]` permuted to `[len, outer, inner]`, rank 3 at most) so that one row
    /// gather picks the rows, then put back.
    pub(super) fn take_axis(
        &mut self,
        x: TensorId,
        axis: usize,
        rows: &[usize],
        out: &[usize],
    ) -> Result<TensorId> {
        let d = self.dims(x)?;
        let (outer, len, inner): (usize, usize, usize) = (
            d[..axis].iter().product(),
            d[axis],
            d[axis + 1..].iter().product(),
        );
        let ids: Vec<u32> = rows
            .iter()
            .map(|&r| {
                u32::try_from(r)
                    .map_err(|_| self.err(format!("index {r} is past what a gather takes")))
            })
            .collect::<Result<_>>()?;
        let p = &mut self.g.program;
        let y = if outer == 1 {
            let t = p.reshape(x, [len, inner])?;
            p.gather_rows(t, &ids)?
        } else {
            let t = p.reshape(x, [outer, len, inner])?;
            let t = p.permute(t, &[1, 0, 2])?;
            let t = p.reshape(t, [len, outer * inner])?;
            let g = p.gather_rows(t, &ids)?;
            let g = p.reshape(g, [ids.len(), outer, inner])?;
            p.permute(g, &[1, 0, 2])?
        };
        p.reshape(y, Shape::new(out.to_vec()))
    }

    /// ReduceMean/Sum/Max over any axes (from the attribute, or the input since opset 18 / 13 for
    /// ReduceSum; all axes when none are given), one axis at a time, each brought last; keepdims as asked.
    pub(super) fn reduce(&mut self, op: &str) -> Result<TensorId> {
        let n = self.node;
        let mut x = self.arg(0)?;
        let dims = self.dims(x)?;
        if dims.is_empty() {
            return Err(self.err("the input is a scalar: there is nothing to reduce"));
        }
        let axes = match attrs::ints(n, "axes") {
            Some(a) => Some(a),
            None => self.host_ints(1)?,
        };
        let mut axes: Vec<usize> = match axes {
            Some(a) if !a.is_empty() => a
                .iter()
                .map(|&v| attrs::axis(n, v, dims.len()))
                .collect::<Result<_>>()?,
            Some(_) if attrs::int(n, "noop_with_empty_axes") == Some(1) => return Ok(x),
            _ => (0..dims.len()).collect(),
        };
        axes.sort_unstable();
        axes.dedup();
        let f = match op {
            "ReduceMean" => ReduceFn::Mean,
            "ReduceSum" => ReduceFn::Sum,
            _ => ReduceFn::Amax,
        };
        // From the last axis back, so that the earlier axes keep their positions; each reduced axis is
        // kept as 1 until the end.
        let mut cur = dims.clone();
        for &a in axes.iter().rev() {
            // The maximum is exact in any dtype (graylist); sums and means keep f32 (blocklist).
            let dt = match f {
                ReduceFn::Amax => self.gray(&[x])?,
                _ => self.act,
            };
            let r = self.along_last(x, a, |p, t| p.reduce(f, t, dt))?;
            cur[a] = 1;
            x = self.g.program.reshape(r, Shape::new(cur.clone()))?;
        }
        if attrs::int(n, "keepdims").unwrap_or(1) == 1 {
            return Ok(x);
        }
        let kept: Vec<usize> = (0..dims.len())
            .filter(|k| !axes.contains(k))
            .map(|k| dims[k])
            .collect();
        self.g.program.reshape(x, Shape::new(kept))
    }

    /// `Split` into the node's outputs along `axis`: sizes from the attribute (before opset 13) or the
    /// input, else equal parts (the last smaller, since opset 18). Each part is a slice.
    pub(super) fn split(&mut self) -> Result<()> {
        let n = self.node;
        let d = self.dims_of(0)?;
        let axis = attrs::axis(n, attrs::int(n, "axis").unwrap_or(0), d.len())?;
        let parts = n.output.len();
        let sizes = match attrs::ints(n, "split") {
            Some(s) if self.opset < 13 => s,
            _ => match self.host_ints(1)? {
                Some(s) => s,
                None => {
                    let each = d[axis].div_ceil(parts.max(1));
                    (0..parts)
                        .map(|k| (each.min(d[axis].saturating_sub(k * each))) as i64)
                        .collect()
                }
            },
        };
        if sizes.len() != parts
            || sizes.iter().any(|&s| s < 0)
            || sizes.iter().sum::<i64>() != d[axis] as i64
        {
            return Err(self.err(format!(
                "sizes {sizes:?} do not split an axis of {} into {parts} outputs",
                d[axis]
            )));
        }
        let mut start = 0usize;
        for (k, &len) in sizes.iter().enumerate() {
            let len = len as usize;
            let rows: Vec<usize> = (start..start + len).collect();
            let mut out = d.clone();
            out[axis] = len;
            let name = n.output[k].clone();
            let v = if self.is_host(0) {
                let plan: Vec<SliceAxis> = d
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| {
                        if i == axis {
                            SliceAxis {
                                start,
                                step: 1,
                                len,
                            }
                        } else {
                            SliceAxis {
                                start: 0,
                                step: 1,
                                len: l,
                            }
                        }
                    })
                    .collect();
                let (od, idx) = fold::slice_index(&d, &plan);
                Val::Host(fold::take(&self.host(0, "input")?, &idx, od)?)
            } else {
                let x = self.arg(0)?;
                Val::Dev(self.take_axis(x, axis, &rows, &out)?)
            };
            self.vals.insert(name, v);
            start += len;
        }
        Ok(())
    }

    /// Applies `f`, an op over the last axis, to `x` along `axis`: `[outer, len, inner]` is permuted to
    /// `[outer, inner, len]` (rank 3, whatever x's rank) when the axis is not already last; a result of
    /// `len` along it is permuted back, a reduction (of 1 along it) needs only a reshape.
    pub(super) fn along_last(
        &mut self,
        x: TensorId,
        axis: usize,
        f: impl FnOnce(&mut Program, TensorId) -> Result<TensorId>,
    ) -> Result<TensorId> {
        let d = self.dims(x)?;
        if axis + 1 == d.len() {
            return f(&mut self.g.program, x);
        }
        let (outer, len, inner): (usize, usize, usize) = (
            d[..axis].iter().product(),
            d[axis],
            d[axis + 1..].iter().product(),
        );
        let p = &mut self.g.program;
        let t = p.reshape(x, [outer, len, inner])?;
        let t = p.permute(t, &[0, 2, 1])?;
        let r = f(p, t)?;
        let mut out = d.clone();
        if p.desc(r)?.shape.rank() == 3 {
            let r = p.permute(r, &[0, 2, 1])?;
            return p.reshape(r, Shape::new(out));
        }
        // A reduction's `[outer, inner]` is already in the order of `[outer, 1, inner]`: no permute back.
        out[axis] = 1;
        p.reshape(r, Shape::new(out))
    }
}

/// `log(softmax(x))` over the last axis, as `x - max - log(sum(exp(x - max)))`: finite wherever the
/// result is (a softmax that underflows to 0 would give -inf).
pub(super) fn log_softmax(p: &mut Program, x: TensorId, f32: DType) -> Result<TensorId> {
    let mut kd = p.desc(x)?.shape.dims().to_vec();
    *kd.last_mut().expect("rank >= 1") = 1;
    let m = p.reduce(ReduceFn::Amax, x, f32)?;
    let m = p.reshape(m, Shape::new(kd.clone()))?;
    let shifted = p.binary(BinaryFn::Sub, x, m, f32)?;
    let e = p.unary(UnaryFn::Exp, shifted, f32)?;
    let s = p.reduce(ReduceFn::Sum, e, f32)?;
    let l = p.unary(UnaryFn::Log, s, f32)?;
    let l = p.reshape(l, Shape::new(kd))?;
    p.binary(BinaryFn::Sub, shifted, l, f32)
}

/// The smallest permutation equivalent to `perm` on `dims`: `(compact input dims, compact perm)`.
pub fn compact_perm(dims: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<usize>) {
    // Without the axes of size 1, renumbered in input order.
    let kept: Vec<usize> = (0..dims.len()).filter(|&a| dims[a] != 1).collect();
    let p: Vec<usize> = perm
        .iter()
        .filter(|&&a| dims[a] != 1)
        .map(|a| kept.iter().position(|k| k == a).expect("kept"))
        .collect();
    // Runs of consecutive input axes in output order, each one axis.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &a in &p {
        match groups.last_mut() {
            Some(g) if *g.last().expect("non-empty") + 1 == a => g.push(a),
            _ => groups.push(vec![a]),
        }
    }
    let mut by_input: Vec<usize> = (0..groups.len()).collect();
    by_input.sort_by_key(|&g| groups[g][0]);
    let cdims = by_input
        .iter()
        .map(|&g| groups[g].iter().map(|&a| dims[kept[a]]).product())
        .collect();
    let cperm = (0..groups.len())
        .map(|g| by_input.iter().position(|&h| h == g).expect("a group"))
        .collect();
    (cdims, cperm)
}
