//! Reverse-mode gradients recorded into the same [`Program`]: a [`Tape`] is a [`Graph`] plus which tensors
//! require gradients. [`Tape::backward`] walks the recorded forward ops in reverse and appends, for each, the
//! ops of its vector-Jacobian product (`vjp_matmul.rs`, `vjp_vector.rs`), so both executors run the backward
//! pass and the timing model times it like any other op.
//!
//! # Precision (Ascend's mixed-precision training)
//! - A gradient has its tensor's dtype (bf16 activations get bf16 gradients), except the compute copy of an
//!   f32 tensor (`cast` f32 -> bf16, what [`Tape::param`] records), whose gradient stays f32: weight
//!   gradients leave the Cube's f32 accumulator unrounded and reach the f32 master weights as they are.
//! - Intermediates of a backward rule are f32; only its result is rounded, once, to the gradient's dtype.
//! - Contributions to one gradient from several consumers are added in reverse op order, so the result
//!   is the same bits run after run, on either executor (no atomics anywhere).

use std::collections::{HashMap, HashSet};

use super::Params;
use crate::model::Graph;
use crate::program::{Op, Program, TensorId};
use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// A forward graph under construction plus the tensors whose gradients are wanted.
pub struct Tape {
    /// The graph that model layers record into (`&mut tape.graph`).
    pub graph: Graph,
    compute: DType,
    /// `(name, f32 master, compute copy once asked for)`.
    params: Vec<(String, TensorId, Option<TensorId>)>,
    leaves: Vec<TensorId>,
    detached: HashSet<TensorId>,
    consts: HashMap<(u32, Vec<usize>), TensorId>,
    recorded_backward: bool,
    /// During backward: whether each tensor carries a gradient, and the gradient's dtype.
    pub(super) needs: Vec<bool>,
    pub(super) gdt: Vec<DType>,
}

/// The gradients [`Tape::backward`] recorded: handles of tensors of the same program.
#[derive(Clone, Debug)]
pub struct Gradients {
    of: HashMap<TensorId, TensorId>,
    params: Vec<(String, TensorId)>,
    names: Vec<String>,
}

impl Gradients {
    /// The gradient of `t`; an error if `t` was not marked as requiring one.
    pub fn get(&self, t: TensorId) -> Result<TensorId> {
        self.of.get(&t).copied().ok_or_else(|| {
            let name = self.names.get(t.index()).map_or("?", |s| s.as_str());
            Error::Invalid(format!(
                "backward: a gradient was asked of tensor '{name}', which does not require one; make it a \
                 parameter or mark it with Tape::requires_grad before backward"
            ))
        })
    }

    /// The gradient of the f32 master weight `name`.
    pub fn param(&self, name: &str) -> Result<TensorId> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, g)| g)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "backward: no parameter named '{name}' was bound to the tape"
                ))
            })
    }

    /// `(name, gradient)` of every bound parameter, in the order of [`Params`].
    pub fn params(&self) -> &[(String, TensorId)] {
        &self.params
    }
}

impl Tape {
    /// An empty tape whose forward pass computes in `compute` (bf16: the Cube's bf16 mode; f32: fp32 mode).
    pub fn new(compute: DType) -> Self {
        Tape {
            graph: Graph::new(),
            compute,
            params: Vec::new(),
            leaves: Vec::new(),
            detached: HashSet::new(),
            consts: HashMap::new(),
            recorded_backward: false,
            needs: Vec::new(),
            gdt: Vec::new(),
        }
    }

    /// A tape with every parameter of `params` bound as an f32 input that requires a gradient.
    pub fn with_params(params: &Params, compute: DType) -> Self {
        let mut t = Tape::new(compute);
        for (name, value) in params.iter() {
            let id = t.graph.constant(name.to_string(), value.clone());
            t.leaves.push(id);
            t.params.push((name.to_string(), id, None));
        }
        t
    }

    /// The forward pass's compute dtype.
    pub fn compute_dtype(&self) -> DType {
        self.compute
    }

    pub fn program(&self) -> &Program {
        &self.graph.program
    }

    /// The compute copy of parameter `name`: its f32 master cast to the compute dtype (one cast per step,
    /// recorded on first use).
    pub fn param(&mut self, name: &str) -> Result<TensorId> {
        let i = self.param_index(name)?;
        if let Some(c) = self.params[i].2 {
            return Ok(c);
        }
        let c = self.graph.program.cast(self.params[i].1, self.compute)?;
        self.params[i].2 = Some(c);
        Ok(c)
    }

    /// The f32 master weight of parameter `name` (the optimizer's operand).
    pub fn master(&self, name: &str) -> Result<TensorId> {
        Ok(self.params[self.param_index(name)?].1)
    }

    /// An input that needs no gradient (data, masks, tables).
    pub fn input(&mut self, name: impl Into<String>, value: Tensor) -> TensorId {
        self.graph.constant(name, value)
    }

    /// Marks `t` (an input or an intermediate) as requiring a gradient.
    pub fn requires_grad(&mut self, t: TensorId) -> Result<()> {
        self.graph.program.desc(t)?;
        if !self.leaves.contains(&t) {
            self.leaves.push(t);
        }
        Ok(())
    }

    /// Stops gradients at `t`: nothing flows back through it (e.g. the max subtracted before an exp).
    pub fn detach(&mut self, t: TensorId) -> Result<()> {
        self.graph.program.desc(t)?;
        self.detached.insert(t);
        Ok(())
    }

    /// A constant f32 tensor of `shape` filled with `v` (one input per distinct value and shape).
    pub fn fill(&mut self, v: f32, shape: &[usize]) -> Result<TensorId> {
        let key = (v.to_bits(), shape.to_vec());
        if let Some(&id) = self.consts.get(&key) {
            return Ok(id);
        }
        let n: usize = shape.iter().product();
        let t = Tensor::from_f32(Shape::new(shape.to_vec()), vec![v; n])?;
        let id = self.graph.constant(format!("const_{v:e}"), t);
        self.consts.insert(key, id);
        Ok(id)
    }

    /// A constant `[1]` f32 tensor holding `v` (broadcasts against anything).
    pub fn scalar(&mut self, v: f32) -> Result<TensorId> {
        self.fill(v, &[1])
    }

    /// Records the gradients of `loss` (a tensor of one element) with respect to every parameter and every
    /// tensor marked with [`Tape::requires_grad`].
    pub fn backward(&mut self, loss: TensorId) -> Result<Gradients> {
        self.backward_scaled(loss, 1.0)
    }

    /// As [`Tape::backward`], seeding the loss's gradient with `scale` (loss scaling): every gradient comes
    /// out multiplied by `scale`.
    pub fn backward_scaled(&mut self, loss: TensorId, scale: f32) -> Result<Gradients> {
        if self.recorded_backward {
            return Err(Error::Invalid(
                "backward: this tape already holds a backward pass; record a new tape per step"
                    .into(),
            ));
        }
        if !(scale.is_finite() && scale > 0.0) {
            return Err(Error::Invalid(format!(
                "backward: the loss scale must be finite and > 0, got {scale}"
            )));
        }
        let ld = self.graph.program.desc(loss)?.clone();
        if ld.shape.numel() != 1 {
            return Err(Error::shape(
                "backward",
                format!(
                    "the loss '{}' must hold one element, got {}",
                    ld.name, ld.shape
                ),
            ));
        }
        if self.leaves.is_empty() {
            return Err(Error::Invalid(
                "backward: no tensor requires a gradient (bind parameters or use Tape::requires_grad)"
                    .into(),
            ));
        }
        self.recorded_backward = true;
        let ops: Vec<Op> = self.graph.program.ops().to_vec();
        self.plan(&ops);
        if !self.needs[loss.index()] {
            return Err(Error::Invalid(format!(
                "backward: the loss '{}' does not depend on any tensor that requires a gradient",
                ld.name
            )));
        }
        let mut grads: Vec<Option<TensorId>> = vec![None; self.gdt.len()];
        grads[loss.index()] = Some(self.fill(scale, ld.shape.dims())?);
        for op in ops.iter().rev() {
            let out = op_out(op);
            let Some(dy) = grads[out.index()] else {
                continue;
            };
            if !self.needs[out.index()] {
                continue;
            }
            let contributions = self.vjp(op, dy)?;
            for (input, g) in contributions {
                let slot = &mut grads[input.index()];
                *slot = Some(match *slot {
                    None => g,
                    Some(prev) => {
                        let dt = self.gdt[input.index()];
                        self.graph
                            .program
                            .binary(crate::BinaryFn::Add, prev, g, dt)?
                    }
                });
            }
        }
        let mut of = HashMap::new();
        for &leaf in &self.leaves.clone() {
            let g = match grads[leaf.index()] {
                Some(g) => g,
                None => {
                    let shape = self.graph.program.desc(leaf)?.shape.clone();
                    self.fill(0.0, shape.dims())?
                }
            };
            of.insert(leaf, g);
        }
        let params = self
            .params
            .iter()
            .map(|(n, m, _)| (n.clone(), of[m]))
            .collect();
        let names = self
            .graph
            .program
            .tensors()
            .iter()
            .map(|d| d.name.clone())
            .collect();
        Ok(Gradients { of, params, names })
    }

    /// Which tensors carry gradients, and in which dtype.
    fn plan(&mut self, ops: &[Op]) {
        let descs = self.graph.program.tensors();
        self.needs = vec![false; descs.len()];
        self.gdt = descs.iter().map(|d| d.dtype).collect();
        for &l in &self.leaves {
            self.needs[l.index()] = true;
        }
        for op in ops {
            let out = op_out(op);
            if let Op::Cast(c) = op
                && c.from == DType::F32
            {
                self.gdt[out.index()] = DType::F32;
            }
            if !self.detached.contains(&out) && op_inputs(op).iter().any(|i| self.needs[i.index()])
            {
                self.needs[out.index()] = true;
            }
        }
        for d in &self.detached {
            self.needs[d.index()] = false;
        }
    }

    /// The gradient contributions of one op, given its output's gradient `dy`.
    fn vjp(&mut self, op: &Op, dy: TensorId) -> Result<Vec<(TensorId, TensorId)>> {
        match op {
            Op::CubeMatmul(mm) => self.vjp_matmul(mm, dy),
            Op::Cast(c) => {
                let dt = self.gdt[c.input.index()];
                Ok(vec![(c.input, self.graph.program.cast(dy, dt)?)])
            }
            Op::Vector(v) => self.vjp_vector(v, dy),
            Op::Move(m) => self.vjp_move(m, dy),
            Op::Rope(r) => self.vjp_rope(r, dy),
        }
    }

    /// Whether `t` carries a gradient in the backward pass being recorded.
    pub(super) fn needs(&self, t: TensorId) -> bool {
        self.needs.get(t.index()).copied().unwrap_or(false)
    }

    fn param_index(&self, name: &str) -> Result<usize> {
        self.params
            .iter()
            .position(|(n, _, _)| n == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.params.iter().map(|(n, _, _)| n.as_str()).collect();
                Error::Invalid(format!(
                    "tape: no parameter named '{name}' (bound: {})",
                    known.join(", ")
                ))
            })
    }
}

/// The tensor an op writes.
pub(super) fn op_out(op: &Op) -> TensorId {
    match op {
        Op::CubeMatmul(m) => m.out,
        Op::Cast(c) => c.out,
        Op::Vector(v) => v.out,
        Op::Move(m) => m.out,
        Op::Rope(r) => r.out,
    }
}

/// Every tensor an op reads.
pub(super) fn op_inputs(op: &Op) -> Vec<TensorId> {
    match op {
        Op::CubeMatmul(m) => [Some(m.a), Some(m.b), m.epilogue.bias, m.epilogue.residual]
            .into_iter()
            .flatten()
            .collect(),
        Op::Cast(c) => vec![c.input],
        Op::Vector(v) => v.inputs(),
        Op::Move(m) => m.inputs(),
        Op::Rope(r) => vec![r.x, r.cos, r.sin],
    }
}
