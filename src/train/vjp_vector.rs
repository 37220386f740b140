//! Backward rules of the Vector unit's ops, each a short composition of recorded Vector ops (so GPU = CPU
//! holds for them as for any op): intermediates in f32, the result rounded once to the gradient's dtype.
//!
//! - unary: `exp: dy y`, `log: dy / x`, `sqrt: 0.5 dy / y`, `rsqrt: -0.5 dy y / x`, `recip: -dy y y`,
//!   `tanh: dy (1 - y^2)`, `sigmoid: dy y (1 - y)`, `neg`, `abs`, and `relu`/`silu`/`gelu`/`gelu_tanh`
//!   through the Vector unit's `*_grad` binary functions of `(x, dy)`;
//! - binary: add, sub, mul, div; max and min route `dy` to the operand they picked (`relu_grad(x - y, dy)`,
//!   ties go to y as the forward's do); each operand's gradient is summed over the axes it was broadcast
//!   along (a permute that puts them last, then one `sum` reduction);
//! - reductions: `sum` and `mean` broadcast `dy` back, `sumsq` gives `2 x dy`; `amax` passes no gradient
//!   (detach its result, as [`cross_entropy`](super::cross_entropy) does);
//! - softmax: `y (dy - sum(dy y))`;
//! - layernorm: `rstd (g - mean(g) - xhat mean(g xhat))` with `g = dy gamma`, `xhat` and `rstd` recomputed
//!   from x in f32; `d gamma = sum over rows of dy xhat`, `d beta = sum over rows of dy`;
//! - rmsnorm: `rstd (g - xhat mean(g xhat))`, `d gamma` as layernorm's.

use super::Tape;
use crate::program::{BinaryFn, ReduceFn, TensorId, UnaryFn, VectorKind, VectorOp};
use crate::tensor::{DType, Shape};
use crate::{Error, Result};

const F32: DType = DType::F32;

impl Tape {
    pub(super) fn vjp_vector(
        &mut self,
        v: &VectorOp,
        dy: TensorId,
    ) -> Result<Vec<(TensorId, TensorId)>> {
        let x = v.x;
        let gx = self.gdt[x.index()];
        let mut out = Vec::new();
        match v.kind {
            VectorKind::Unary(f) => {
                if self.needs(x) {
                    out.push((x, self.unary_grad(f, x, v.out, dy, gx)?));
                }
            }
            VectorKind::Binary(f) => {
                let y =
                    v.y.ok_or_else(|| Error::Program("binary op without y".into()))?;
                out = self.binary_grad(f, x, y, dy)?;
            }
            VectorKind::Reduce(f) => {
                if self.needs(x) {
                    out.push((x, self.reduce_grad(f, x, dy, v.len, gx)?));
                }
            }
            VectorKind::Softmax => {
                let p = &mut self.graph.program;
                let t = p.binary(BinaryFn::Mul, dy, v.out, F32)?;
                let s = p.reduce(ReduceFn::Sum, t, F32)?;
                let s = self.keep_dim(s)?;
                let p = &mut self.graph.program;
                let d = p.binary(BinaryFn::Sub, dy, s, F32)?;
                let mask_needs = v.mask.is_some_and(|m| self.needs(m));
                let dt = if mask_needs { F32 } else { gx };
                let dx = self.graph.program.binary(BinaryFn::Mul, v.out, d, dt)?;
                if let Some(m) = v.mask.filter(|_| mask_needs) {
                    let gm = self.gdt[m.index()];
                    out.push((m, self.unbroadcast(dx, m, gm)?));
                }
                if self.needs(x) {
                    out.push((x, self.graph.program.cast(dx, gx)?));
                }
            }
            VectorKind::LayerNorm { eps } | VectorKind::RmsNorm { eps } => {
                let layer = matches!(v.kind, VectorKind::LayerNorm { .. });
                out = self.norm_grad(v, dy, eps, layer)?;
            }
        }
        Ok(out)
    }

    fn unary_grad(
        &mut self,
        f: UnaryFn,
        x: TensorId,
        y: TensorId,
        dy: TensorId,
        dt: DType,
    ) -> Result<TensorId> {
        use BinaryFn::{Add, Div, Mul, Sub};
        let c = |t: &mut Tape, v: f32| t.scalar(v);
        Ok(match f {
            UnaryFn::Neg => self.graph.program.unary(UnaryFn::Neg, dy, dt)?,
            UnaryFn::Abs => {
                let p = &mut self.graph.program;
                let r = p.binary(BinaryFn::ReluGrad, x, dy, F32)?;
                let r2 = p.binary(Add, r, r, F32)?;
                p.binary(Sub, r2, dy, dt)?
            }
            UnaryFn::Exp => self.graph.program.binary(Mul, dy, y, dt)?,
            UnaryFn::Log => self.graph.program.binary(Div, dy, x, dt)?,
            UnaryFn::Sqrt => {
                let half = c(self, 0.5)?;
                let t = self.graph.program.binary(Div, dy, y, F32)?;
                self.graph.program.binary(Mul, t, half, dt)?
            }
            UnaryFn::Rsqrt => {
                let k = c(self, -0.5)?;
                let p = &mut self.graph.program;
                let t = p.binary(Mul, dy, y, F32)?;
                let t = p.binary(Div, t, x, F32)?;
                p.binary(Mul, t, k, dt)?
            }
            UnaryFn::Recip => {
                let p = &mut self.graph.program;
                let t = p.binary(Mul, dy, y, F32)?;
                let t = p.binary(Mul, t, y, F32)?;
                p.unary(UnaryFn::Neg, t, dt)?
            }
            UnaryFn::Tanh => {
                let one = c(self, 1.0)?;
                let p = &mut self.graph.program;
                let t = p.binary(Mul, y, y, F32)?;
                let t = p.binary(Sub, one, t, F32)?;
                p.binary(Mul, dy, t, dt)?
            }
            UnaryFn::Sigmoid => {
                let one = c(self, 1.0)?;
                let p = &mut self.graph.program;
                let t = p.binary(Sub, one, y, F32)?;
                let t = p.binary(Mul, y, t, F32)?;
                p.binary(Mul, dy, t, dt)?
            }
            UnaryFn::Relu => self.graph.program.binary(BinaryFn::ReluGrad, x, dy, dt)?,
            UnaryFn::Silu => self.graph.program.binary(BinaryFn::SiluGrad, x, dy, dt)?,
            UnaryFn::Gelu => self.graph.program.binary(BinaryFn::GeluGrad, x, dy, dt)?,
            UnaryFn::GeluTanh => self
                .graph
                .program
                .binary(BinaryFn::GeluTanhGrad, x, dy, dt)?,
            // d erf(x) / dx = 2 / sqrt(pi) * exp(-x^2)
            UnaryFn::Erf => {
                let k = c(self, std::f32::consts::FRAC_2_SQRT_PI)?;
                let p = &mut self.graph.program;
                let sq = p.binary(Mul, x, x, F32)?;
                let neg = p.unary(UnaryFn::Neg, sq, F32)?;
                let e = p.unary(UnaryFn::Exp, neg, F32)?;
                let t = p.binary(Mul, e, k, F32)?;
                p.binary(Mul, dy, t, dt)?
            }
        })
    }

    fn binary_grad(
        &mut self,
        f: BinaryFn,
        x: TensorId,
        y: TensorId,
        dz: TensorId,
    ) -> Result<Vec<(TensorId, TensorId)>> {
        use BinaryFn::*;
        let (nx, ny) = (self.needs(x), self.needs(y));
        let p = &mut self.graph.program;
        // Each operand's gradient at the result's shape, in f32.
        let (dx, dyv) = match f {
            Add => (dz, dz),
            Sub => (dz, p.unary(UnaryFn::Neg, dz, F32)?),
            Mul => (
                if nx { p.binary(Mul, dz, y, F32)? } else { dz },
                if ny { p.binary(Mul, dz, x, F32)? } else { dz },
            ),
            Div => {
                let t = p.binary(Div, dz, y, F32)?;
                let g = if ny {
                    let q = p.binary(Div, x, y, F32)?;
                    let g = p.binary(Mul, t, q, F32)?;
                    p.unary(UnaryFn::Neg, g, F32)?
                } else {
                    t
                };
                (t, g)
            }
            Max | Min => {
                let d = if f == Max {
                    p.binary(Sub, x, y, F32)?
                } else {
                    p.binary(Sub, y, x, F32)?
                };
                let gx = p.binary(ReluGrad, d, dz, F32)?;
                (gx, p.binary(Sub, dz, gx, F32)?)
            }
            ReluGrad | SiluGrad | GeluGrad | GeluTanhGrad => {
                return Err(Error::Invalid(format!(
                    "backward: {} is itself a gradient; second derivatives are not supported",
                    f.name()
                )));
            }
        };
        let mut out = Vec::new();
        for (t, g, need) in [(x, dx, nx), (y, dyv, ny)] {
            if need {
                let dt = self.gdt[t.index()];
                out.push((t, self.unbroadcast(g, t, dt)?));
            }
        }
        Ok(out)
    }

    fn reduce_grad(
        &mut self,
        f: ReduceFn,
        x: TensorId,
        dy: TensorId,
        len: usize,
        dt: DType,
    ) -> Result<TensorId> {
        let d1 = self.keep_dim(dy)?;
        match f {
            ReduceFn::Sum | ReduceFn::Mean => {
                let v = if f == ReduceFn::Sum {
                    1.0
                } else {
                    (1.0 / len as f64) as f32
                };
                let k = self.fill(v, &[len])?;
                self.graph.program.binary(BinaryFn::Mul, d1, k, dt)
            }
            ReduceFn::SumSq => {
                let p = &mut self.graph.program;
                let t = p.binary(BinaryFn::Mul, d1, x, F32)?;
                p.binary(BinaryFn::Add, t, t, dt)
            }
            ReduceFn::Amax => Err(Error::Invalid(
                "backward: amax passes no gradient; detach its result (Tape::detach) where it only \
                 shifts values, as cross_entropy does"
                    .into(),
            )),
        }
    }

    fn norm_grad(
        &mut self,
        v: &VectorOp,
        dy: TensorId,
        eps: f32,
        layer: bool,
    ) -> Result<Vec<(TensorId, TensorId)>> {
        use BinaryFn::{Add, Mul, Sub};
        let (x, len) = (v.x, v.len);
        let inv_len = self.scalar((1.0 / len as f64) as f32)?;
        let eps = self.scalar(eps)?;
        let p = &mut self.graph.program;
        let xc = if layer {
            let mu = p.reduce(ReduceFn::Mean, x, F32)?;
            let mu = self.keep_dim(mu)?;
            self.graph.program.binary(Sub, x, mu, F32)?
        } else {
            x
        };
        let p = &mut self.graph.program;
        let ss = p.reduce(ReduceFn::SumSq, xc, F32)?;
        let var = p.binary(Mul, ss, inv_len, F32)?;
        let var = p.binary(Add, var, eps, F32)?;
        let rstd = p.unary(UnaryFn::Rsqrt, var, F32)?;
        let rstd = self.keep_dim(rstd)?;
        let p = &mut self.graph.program;
        let xhat = p.binary(Mul, xc, rstd, F32)?;
        let mut out = Vec::new();
        if self.needs(x) {
            let p = &mut self.graph.program;
            let g = match v.gamma {
                Some(gm) => p.binary(Mul, dy, gm, F32)?,
                None => dy,
            };
            let gx = p.binary(Mul, g, xhat, F32)?;
            let b = p.reduce(ReduceFn::Mean, gx, F32)?;
            let b = self.keep_dim(b)?;
            let p = &mut self.graph.program;
            let xb = p.binary(Mul, xhat, b, F32)?;
            let mut t = p.binary(Sub, g, xb, F32)?;
            if layer {
                let a = p.reduce(ReduceFn::Mean, g, F32)?;
                let a = self.keep_dim(a)?;
                t = self.graph.program.binary(Sub, t, a, F32)?;
            }
            let dt = self.gdt[x.index()];
            out.push((x, self.graph.program.binary(Mul, t, rstd, dt)?));
        }
        if let Some(gm) = v.gamma.filter(|&g| self.needs(g)) {
            let t = self.graph.program.binary(Mul, dy, xhat, F32)?;
            let dt = self.gdt[gm.index()];
            out.push((gm, self.sum_rows(t, dt)?));
        }
        if let Some(bt) = v.beta.filter(|&b| self.needs(b)) {
            let dt = self.gdt[bt.index()];
            out.push((bt, self.sum_rows(dy, dt)?));
        }
        Ok(out)
    }

    /// `t` (`[..]`) as `[.., 1]`, to broadcast along a reduced last axis.
    pub(super) fn keep_dim(&mut self, t: TensorId) -> Result<TensorId> {
        let mut dims = self.graph.program.desc(t)?.shape.dims().to_vec();
        dims.push(1);
        self.graph.program.reshape(t, Shape::new(dims))
    }

    /// `g` (`[.., n]`) summed over every axis but the last: `[n]`, in `dt`.
    pub(super) fn sum_rows(&mut self, g: TensorId, dt: DType) -> Result<TensorId> {
        let shape = self.graph.program.desc(g)?.shape.clone();
        let n = *shape.dims().last().unwrap_or(&1);
        let rows = shape.numel() / n.max(1);
        let p = &mut self.graph.program;
        let g2 = p.reshape(g, [rows, n])?;
        if rows == 1 {
            let g = p.reshape(g2, [n])?;
            return p.cast(g, dt);
        }
        let t = p.permute(g2, &[1, 0])?;
        p.reduce(ReduceFn::Sum, t, dt)
    }

    /// `g`, of a broadcast result's shape, summed over the axes along which `target` was broadcast, in
    /// `dt` and `target`'s shape.
    pub(super) fn unbroadcast(
        &mut self,
        g: TensorId,
        target: TensorId,
        dt: DType,
    ) -> Result<TensorId> {
        let from = self.graph.program.desc(g)?.shape.clone();
        let to = self.graph.program.desc(target)?.shape.clone();
        let p = &mut self.graph.program;
        if from == to {
            return p.cast(g, dt);
        }
        let r = from.rank();
        let mut padded = vec![1; r - to.rank()];
        padded.extend_from_slice(to.dims());
        let (mut keep, mut sum) = (Vec::new(), Vec::new());
        for (i, (&f, &t)) in from.dims().iter().zip(&padded).enumerate() {
            if f == t { keep.push(i) } else { sum.push(i) }
        }
        let mut t = g;
        if sum.is_empty() {
            t = p.reshape(t, to)?;
            return p.cast(t, dt);
        }
        let perm: Vec<usize> = keep.iter().chain(&sum).copied().collect();
        if perm.iter().enumerate().any(|(i, &q)| i != q) {
            t = p.permute(t, &perm)?;
        }
        let nk: usize = keep.iter().map(|&i| from.dims()[i]).product();
        let ns: usize = sum.iter().map(|&i| from.dims()[i]).product();
        let t = p.reshape(t, [nk, ns])?;
        let t = p.reduce(ReduceFn::Sum, t, dt)?;
        p.reshape(t, to)
    }
}
