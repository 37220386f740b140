//! Optimizers as Vector-unit ops on the f32 master weights and f32 state: [`Sgd`] (with momentum, as
//! `torch.optim.SGD`) and [`AdamW`] (decoupled weight decay, as `torch.optim.AdamW`). Each records its
//! update into the step's program, so the update runs on the executor and the timing model counts it.
//! Hyperparameters enter as `[1]` f32 constants (bias corrections computed in f64 on the host, rounded
//! once); every op is one f32 rounding.

use super::Tape;
use crate::program::{BinaryFn, TensorId, UnaryFn};
use crate::tensor::DType;
use crate::{Error, Result};

const F32: DType = DType::F32;

/// An update rule over one parameter at a time.
/// `Send + Sync` so that a trainer can move between threads (the Python module runs steps with the GIL
/// released).
pub trait Optimizer: Send + Sync {
    fn name(&self) -> &'static str;
    /// Names of the per-parameter state tensors (f32, the parameter's shape, zero at the start).
    fn state_names(&self) -> &'static [&'static str];
    fn learning_rate(&self) -> f32;
    /// Changes the learning rate (a schedule); refuses NaN, infinities and negative values.
    fn set_learning_rate(&mut self, lr: f32) -> Result<()>;
    /// Records the update of `param` (f32 master) by `grad` at `step` (1 for the first), with `state` in
    /// the order of [`Optimizer::state_names`]; returns the new parameter and the new state.
    fn record(
        &self,
        tape: &mut Tape,
        step: u64,
        param: TensorId,
        grad: TensorId,
        state: &[TensorId],
    ) -> Result<(TensorId, Vec<TensorId>)>;
}

fn check(name: &str, what: &str, v: f32, lo: f32, hi_exclusive: Option<f32>) -> Result<()> {
    let ok = v.is_finite() && v >= lo && hi_exclusive.is_none_or(|h| v < h);
    if ok {
        return Ok(());
    }
    let range = match hi_exclusive {
        Some(h) => format!("in [{lo}, {h})"),
        None => format!(">= {lo}"),
    };
    Err(Error::Invalid(format!(
        "{name}: the {what} must be a finite number {range}, got {v}"
    )))
}

/// Checks that `grad` fits `param` (same shape, f32 master weight).
fn check_pair(
    tape: &Tape,
    name: &str,
    param: TensorId,
    grad: TensorId,
    state: &[TensorId],
    n: usize,
) -> Result<()> {
    let (p, g) = (tape.program().desc(param)?, tape.program().desc(grad)?);
    if p.dtype != F32 {
        return Err(Error::dtype(
            "optimizer",
            format!(
                "{name}: the master weight '{}' must be f32, got {}",
                p.name, p.dtype
            ),
        ));
    }
    if p.shape != g.shape {
        return Err(Error::shape(
            "optimizer",
            format!(
                "{name}: the gradient '{}' has shape {} but the parameter '{}' has shape {}",
                g.name, g.shape, p.name, p.shape
            ),
        ));
    }
    if state.len() != n {
        return Err(Error::Invalid(format!(
            "{name}: expected {n} state tensors for '{}', got {}",
            p.name,
            state.len()
        )));
    }
    for &s in state {
        let d = tape.program().desc(s)?;
        if d.shape != p.shape || d.dtype != F32 {
            return Err(Error::shape(
                "optimizer",
                format!(
                    "{name}: state '{}' is {} {} but the parameter '{}' is f32 {}",
                    d.name, d.dtype, d.shape, p.name, p.shape
                ),
            ));
        }
    }
    Ok(())
}

/// Stochastic gradient descent with momentum: `b = mu b + (g + wd p)`, `p = p - lr b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
}

impl Sgd {
    pub fn new(lr: f32, momentum: f32, weight_decay: f32) -> Result<Self> {
        check("sgd", "learning rate", lr, 0.0, None)?;
        check("sgd", "momentum", momentum, 0.0, Some(1.0))?;
        check("sgd", "weight decay", weight_decay, 0.0, None)?;
        Ok(Sgd {
            lr,
            momentum,
            weight_decay,
        })
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }
    fn state_names(&self) -> &'static [&'static str] {
        &["momentum"]
    }
    fn learning_rate(&self) -> f32 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        check("sgd", "learning rate", lr, 0.0, None)?;
        self.lr = lr;
        Ok(())
    }
    fn record(
        &self,
        tape: &mut Tape,
        _step: u64,
        param: TensorId,
        grad: TensorId,
        state: &[TensorId],
    ) -> Result<(TensorId, Vec<TensorId>)> {
        check_pair(tape, "sgd", param, grad, state, 1)?;
        let (mu, wd, lr) = (
            tape.scalar(self.momentum)?,
            tape.scalar(self.weight_decay)?,
            tape.scalar(self.lr)?,
        );
        let p = &mut tape.graph.program;
        // Recorded so that the gradient's decay feeds the momentum's sum right after it (one pass in the
        // executors: `exec::chain_plan`); each op reads what it read before, so no bit changes.
        let b = p.binary(BinaryFn::Mul, state[0], mu, F32)?;
        let mut g = grad;
        if self.weight_decay != 0.0 {
            let d = p.binary(BinaryFn::Mul, param, wd, F32)?;
            g = p.binary(BinaryFn::Add, g, d, F32)?;
        }
        let b = p.binary(BinaryFn::Add, b, g, F32)?;
        let u = p.binary(BinaryFn::Mul, b, lr, F32)?;
        let np = p.binary(BinaryFn::Sub, param, u, F32)?;
        Ok((np, vec![b]))
    }
}

/// Adam with decoupled weight decay: `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`,
/// `p = p (1 - lr wd) - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamW {
    lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl AdamW {
    /// torch's defaults for the rest: betas (0.9, 0.999), eps 1e-8, weight decay 0.01.
    pub fn new(lr: f32) -> Result<Self> {
        Self::with(lr, 0.9, 0.999, 1e-8, 0.01)
    }

    pub fn with(lr: f32, beta1: f32, beta2: f32, eps: f32, weight_decay: f32) -> Result<Self> {
        check("adamw", "learning rate", lr, 0.0, None)?;
        check("adamw", "beta1", beta1, 0.0, Some(1.0))?;
        check("adamw", "beta2", beta2, 0.0, Some(1.0))?;
        check("adamw", "eps", eps, 0.0, None)?;
        check("adamw", "weight decay", weight_decay, 0.0, None)?;
        Ok(AdamW {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        })
    }
}

impl Optimizer for AdamW {
    fn name(&self) -> &'static str {
        "adamw"
    }
    fn state_names(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
    fn learning_rate(&self) -> f32 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        check("adamw", "learning rate", lr, 0.0, None)?;
        self.lr = lr;
        Ok(())
    }
    fn record(
        &self,
        tape: &mut Tape,
        step: u64,
        param: TensorId,
        grad: TensorId,
        state: &[TensorId],
    ) -> Result<(TensorId, Vec<TensorId>)> {
        check_pair(tape, "adamw", param, grad, state, 2)?;
        // lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps) = (lr sqrt(bc2) / bc1) * m / (sqrt(v) + eps sqrt(bc2)):
        // the bias corrections folded into two constants (f64, rounded once), one op fewer per tensor.
        let t = step.max(1) as i32;
        let (b1, b2) = (self.beta1 as f64, self.beta2 as f64);
        let sqrt_bc2 = (1.0 - b2.powi(t)).sqrt();
        let k = [
            self.beta1,
            (1.0 - b1) as f32,
            self.beta2,
            (1.0 - b2) as f32,
            (self.eps as f64 * sqrt_bc2) as f32,
            (self.lr as f64 * sqrt_bc2 / (1.0 - b1.powi(t))) as f32,
            (1.0 - self.lr as f64 * self.weight_decay as f64) as f32,
        ];
        let mut c = [param; 7];
        for (ci, &v) in c.iter_mut().zip(&k) {
            *ci = tape.scalar(v)?;
        }
        let [b1, one_b1, b2, one_b2, eps, step_size, decay] = c;
        use BinaryFn::{Add, Div, Mul, Sub};
        let p = &mut tape.graph.program;
        // Recorded so that each value feeds the op right after it where it can: the executors run such
        // runs of elementwise ops as one pass (`exec::chain_plan`). Each op reads what it read before,
        // so the order changes no bit.
        let gs = p.binary(Mul, grad, one_b1, F32)?;
        let m = p.binary(Mul, state[0], b1, F32)?;
        let m = p.binary(Add, m, gs, F32)?;
        let vb = p.binary(Mul, state[1], b2, F32)?;
        let g2 = p.binary(Mul, grad, grad, F32)?;
        let g2 = p.binary(Mul, g2, one_b2, F32)?;
        let v = p.binary(Add, vb, g2, F32)?;
        let pd = if self.weight_decay != 0.0 {
            p.binary(Mul, param, decay, F32)?
        } else {
            param
        };
        let den = p.unary(UnaryFn::Sqrt, v, F32)?;
        let den = p.binary(Add, den, eps, F32)?;
        let r = p.binary(Div, m, den, F32)?;
        let u = p.binary(Mul, r, step_size, F32)?;
        let np = p.binary(Sub, pd, u, F32)?;
        Ok((np, vec![m, v]))
    }
}
