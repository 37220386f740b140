//! The training loop's driver: one [`Trainer::step`] records forward, backward and the optimizer's update
//! into one program, runs it on an executor, and keeps the new f32 master weights and optimizer state.
//! Optional dynamic loss scaling: the loss gradient is seeded with the scale, gradients are unscaled before
//! the update, and a step whose gradients overflow is skipped and the scale halved (doubled again after
//! `growth_interval` good steps).

use std::collections::HashMap;

use super::{Optimizer, Params, Tape};
use crate::exec::Executor;
use crate::program::{BinaryFn, ReduceFn, TensorId};
use crate::tensor::{DType, Tensor};
use crate::{Error, Result};

/// Dynamic loss scaling's state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossScale {
    pub scale: f32,
    pub growth_interval: u32,
    good_steps: u32,
}

/// What one step did.
#[derive(Clone, Debug)]
pub struct StepReport {
    /// Updates applied so far, this one included.
    pub step: u64,
    pub loss: f32,
    /// The L2 norm of the (unscaled) gradients over all parameters.
    pub grad_norm: f32,
    /// Whether the update was skipped (loss scaling found an overflow).
    pub skipped: bool,
    /// The loss scale used for this step, if any.
    pub loss_scale: Option<f32>,
    /// `(name, gradient)` of every parameter, when [`Trainer::keep_grads`] is set.
    pub grads: Vec<(String, Tensor)>,
}

/// Parameters, an optimizer and its state, and the step count.
pub struct Trainer {
    params: Params,
    optimizer: Box<dyn Optimizer>,
    state: Vec<Vec<Tensor>>,
    step: u64,
    compute: DType,
    loss_scale: Option<LossScale>,
    keep_grads: bool,
}

impl Trainer {
    /// A trainer whose forward passes compute in `compute` (bf16: mixed precision; f32: fp32 throughout).
    pub fn new(params: Params, optimizer: impl Optimizer + 'static, compute: DType) -> Self {
        let state = params
            .iter()
            .map(|(_, t)| {
                let zeros = vec![0f32; t.numel()];
                let z = Tensor::from_f32(t.shape().clone(), zeros).expect("shape of a parameter");
                vec![z; optimizer.state_names().len()]
            })
            .collect();
        Trainer {
            params,
            optimizer: Box::new(optimizer),
            state,
            step: 0,
            compute,
            loss_scale: None,
            keep_grads: false,
        }
    }

    /// Turns on dynamic loss scaling starting at `initial` (a power of two is customary).
    pub fn with_loss_scale(mut self, initial: f32, growth_interval: u32) -> Result<Self> {
        if !(initial.is_finite() && initial > 0.0) || growth_interval == 0 {
            return Err(Error::Invalid(format!(
                "trainer: the loss scale must be finite and > 0 with a growth interval >= 1, got {initial} \
                 and {growth_interval}"
            )));
        }
        self.loss_scale = Some(LossScale {
            scale: initial,
            growth_interval,
            good_steps: 0,
        });
        Ok(self)
    }

    /// Whether [`StepReport::grads`] carries every parameter's gradient.
    pub fn keep_grads(mut self, keep: bool) -> Self {
        self.keep_grads = keep;
        self
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn optimizer_mut(&mut self) -> &mut dyn Optimizer {
        self.optimizer.as_mut()
    }

    /// Updates applied so far.
    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Records one whole training step without running it: `forward` records the loss on the tape (use
    /// [`Tape::param`] for weights), then backward and the optimizer's update are appended. The timing
    /// model can time the result (`sched::predict(tape.program(), chip)`).
    pub fn record<F>(&self, forward: F) -> Result<Tape>
    where
        F: FnOnce(&mut Tape) -> Result<TensorId>,
    {
        let mut tape = Tape::with_params(&self.params, self.compute);
        let loss = forward(&mut tape)?;
        let scale = self.loss_scale.map_or(1.0, |l| l.scale);
        let grads = tape.backward_scaled(loss, scale)?;
        tape.graph.output("loss", loss)?;
        self.record_update(&mut tape, grads.params(), scale)?;
        Ok(tape)
    }

    /// One training step on `exec`; the update is kept unless loss scaling found an overflow.
    pub fn step<F>(&mut self, exec: &dyn Executor, forward: F) -> Result<StepReport>
    where
        F: FnOnce(&mut Tape) -> Result<TensorId>,
    {
        let tape = self.record(forward)?;
        self.run_and_commit(exec, &tape)
    }

    /// Applies gradients computed elsewhere (one per parameter, by name; e.g. averaged over replicas). The
    /// report's loss is NaN (there is none).
    pub fn apply_gradients(
        &mut self,
        exec: &dyn Executor,
        grads: &[(&str, Tensor)],
    ) -> Result<StepReport> {
        let mut tape = Tape::with_params(&self.params, self.compute);
        for (name, _) in grads {
            self.params.get(name)?;
        }
        let mut ids = Vec::new();
        for (name, p) in self.params.iter() {
            let g = grads.iter().find(|(n, _)| *n == name).ok_or_else(|| {
                Error::Invalid(format!(
                    "apply_gradients: no gradient was given for parameter '{name}'"
                ))
            })?;
            if g.1.shape() != p.shape() {
                return Err(Error::shape(
                    "apply_gradients",
                    format!(
                        "the gradient of '{name}' is {} but the parameter is {}",
                        g.1.shape(),
                        p.shape()
                    ),
                ));
            }
            ids.push((
                name.to_string(),
                tape.input(format!("grad.{name}"), g.1.clone()),
            ));
        }
        self.record_update(&mut tape, &ids, 1.0)?;
        self.run_and_commit(exec, &tape)
    }

    fn record_update(
        &self,
        tape: &mut Tape,
        grads: &[(String, TensorId)],
        scale: f32,
    ) -> Result<()> {
        let inv = if scale != 1.0 {
            Some(tape.scalar((1.0 / scale as f64) as f32)?)
        } else {
            None
        };
        let mut norm2: Option<TensorId> = None;
        for (i, (name, g)) in grads.iter().enumerate() {
            let master = tape.master(name)?;
            let p = &mut tape.graph.program;
            let g = match inv {
                Some(k) => p.binary(BinaryFn::Mul, *g, k, DType::F32)?,
                None => *g,
            };
            let n = p.desc(g)?.shape.numel();
            let flat = p.reshape(g, [1, n])?;
            let sq = p.reduce(ReduceFn::SumSq, flat, DType::F32)?;
            norm2 = Some(match norm2 {
                None => sq,
                Some(acc) => p.binary(BinaryFn::Add, acc, sq, DType::F32)?,
            });
            if self.keep_grads {
                tape.graph.output(format!("grad.{name}"), g)?;
            }
            let names = self.optimizer.state_names();
            let state: Vec<TensorId> = names
                .iter()
                .zip(&self.state[i])
                .map(|(s, t)| tape.input(format!("{name}.{s}"), t.clone()))
                .collect();
            let (np, ns) = self
                .optimizer
                .record(tape, self.step + 1, master, g, &state)?;
            tape.graph.output(format!("param.{name}"), np)?;
            for (s, t) in names.iter().zip(ns) {
                tape.graph.output(format!("state.{name}.{s}"), t)?;
            }
        }
        let norm2 = norm2
            .ok_or_else(|| Error::Invalid("trainer: there are no parameters to train".into()))?;
        tape.graph.output("grad_norm_sq", norm2)
    }

    /// Runs a step recorded by [`Trainer::record`] (nothing else on the tape since) and keeps its update:
    /// [`Trainer::step`] in two halves, for callers that record in one place and run in another (the
    /// Python module records with the GIL held and runs without it).
    pub fn run_recorded(&mut self, exec: &dyn Executor, tape: &Tape) -> Result<StepReport> {
        self.run_and_commit(exec, tape)
    }

    fn run_and_commit(&mut self, exec: &dyn Executor, tape: &Tape) -> Result<StepReport> {
        let out: HashMap<String, Tensor> = tape.graph.run(exec)?.into_iter().collect();
        let scalar = |k: &str| out.get(k).map_or(f32::NAN, |t| t.to_f32_vec()[0]);
        let (loss, norm2) = (scalar("loss"), scalar("grad_norm_sq"));
        let used_scale = self.loss_scale.map(|l| l.scale);
        let skipped = self.loss_scale.is_some() && !norm2.is_finite();
        if let Some(ls) = &mut self.loss_scale {
            if skipped {
                ls.scale *= 0.5;
                ls.good_steps = 0;
            } else {
                ls.good_steps += 1;
                if ls.good_steps >= ls.growth_interval {
                    ls.scale *= 2.0;
                    ls.good_steps = 0;
                }
            }
        }
        let mut grads = Vec::new();
        let names: Vec<String> = self.params.names().map(str::to_string).collect();
        for (i, name) in names.iter().enumerate() {
            if let Some(g) = out.get(&format!("grad.{name}")) {
                grads.push((name.clone(), g.clone()));
            }
            if skipped {
                continue;
            }
            let take = |k: String| {
                out.get(&k)
                    .cloned()
                    .ok_or_else(|| Error::Program(format!("trainer: missing output {k}")))
            };
            self.params.set(name, take(format!("param.{name}"))?)?;
            for (j, s) in self.optimizer.state_names().iter().enumerate() {
                self.state[i][j] = take(format!("state.{name}.{s}"))?;
            }
        }
        if !skipped {
            self.step += 1;
        }
        Ok(StepReport {
            step: self.step,
            loss,
            grad_norm: norm2.sqrt(),
            skipped,
            loss_scale: used_scale,
            grads,
        })
    }
}
