//! The CPU executor: runs each op with its reference twin (`src/reference/`).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use super::chain_plan::{self, ChainPlan, FusionLimits, Step};
use super::{Executor, cpu_chain, cpu_vector};
use crate::program::{Op, Program};
use crate::reference;
use crate::tensor::{Tensor, TensorData};
use crate::{Error, Result};

/// Runs programs on the host with the CPU twins of the shaders.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuExecutor;

impl Executor for CpuExecutor {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn run(&self, program: &Program, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        run_timed(program, inputs, |_, _| {})
    }
}

impl CpuExecutor {
    /// The elementwise chains this executor runs as one pass each in `program` (see
    /// [`super::chain_plan::plan`]).
    pub fn fused_chains(&self, program: &Program) -> Vec<ChainPlan> {
        chain_plan::plan(program, FusionLimits::CPU)
    }

    /// [`Executor::run`] with every op on its own, no chain fused (for tests and benches that compare the
    /// two; the bits are the same).
    pub fn run_unfused(&self, program: &Program, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        run_with(program, inputs, false, |_, _| {})
    }
}

/// Runs `program` with the CPU twins, telling `on_op` each op and the host time it took (the ops of a
/// fused chain share its time evenly).
pub(super) fn run_timed(
    program: &Program,
    inputs: &[&Tensor],
    on_op: impl FnMut(&Op, Duration),
) -> Result<Vec<Tensor>> {
    run_with(program, inputs, true, on_op)
}

/// [`run_timed`], with elementwise chains fused or every op run on its own (`fuse`).
pub(super) fn run_with(
    program: &Program,
    inputs: &[&Tensor],
    fuse: bool,
    mut on_op: impl FnMut(&Op, Duration),
) -> Result<Vec<Tensor>> {
    program.check_inputs(inputs)?;
    program.check_host_memory(true)?;
    let mut values: Vec<Option<Cow<'_, Tensor>>> = vec![None; program.tensors().len()];
    for (id, t) in program.inputs().iter().zip(inputs) {
        values[id.index()] = Some(Cow::Borrowed(*t));
    }
    let plans = if fuse {
        chain_plan::plan(program, FusionLimits::CPU)
    } else {
        Vec::new()
    };
    for step in chain_plan::steps(program, plans) {
        let start = Instant::now();
        let op = match step {
            Step::Op(op) => op,
            Step::Chain(c) => {
                let out = cpu_chain::run(program, c, &|id| get(&values, id.index()))?;
                let ops = &program.ops()[c.first..c.first + c.len];
                values[ops[c.len - 1].out().index()] = Some(Cow::Owned(out));
                let share = start.elapsed() / c.len as u32;
                for op in ops {
                    on_op(op, share);
                }
                continue;
            }
        };
        match op {
            Op::CubeMatmul(mm) => {
                let a = get(&values, mm.a.index())?;
                let b = get(&values, mm.b.index())?;
                let (g, acc) = (&mm.geometry, mm.options.accumulate);
                let c = reference::cube_matmul::cube_matmul_format(g, acc, a.data(), b.data());
                let out = cpu_vector::finish_matmul(mm, c, &|id| get(&values, id.index()))?;
                values[mm.out.index()] = Some(Cow::Owned(out));
            }
            Op::Move(m) => {
                let shape = program.desc(m.out)?.shape.clone();
                let out = cpu_vector::run_move(m, shape, &|id| get(&values, id.index()))?;
                values[m.out.index()] = Some(Cow::Owned(out));
            }
            Op::Rope(r) => {
                let out = cpu_vector::run_rope(r, &|id| get(&values, id.index()))?;
                values[r.out.index()] = Some(Cow::Owned(out));
            }
            Op::Vector(v) => {
                let lookup = |id: crate::program::TensorId| get(&values, id.index());
                if let Some(out) = cpu_chain::run_broadcast(program, op, &lookup) {
                    values[v.out.index()] = Some(Cow::Owned(out?));
                    on_op(op, start.elapsed());
                    continue;
                }
                let shape = program.desc(v.out)?.shape.clone();
                let out = cpu_vector::run_vector(v, shape, &|id| get(&values, id.index()))?;
                values[v.out.index()] = Some(Cow::Owned(out));
            }
            Op::Cast(c) => {
                let x = get(&values, c.input.index())?;
                let shape = x.shape().clone();
                let out = match x.data() {
                    TensorData::F32(v) if c.is_bf16_f32() => {
                        Tensor::from_bf16(shape, reference::cast_f32_bf16::cast_f32_bf16(v))?
                    }
                    TensorData::Bf16(v) if c.is_bf16_f32() => {
                        Tensor::from_f32(shape, reference::cast_bf16_f32::cast_bf16_f32(v))?
                    }
                    data => Tensor::new(
                        shape,
                        reference::cast_formats::cast_formats(data, c.to, c.rounding, 0),
                    )?,
                };
                values[c.out.index()] = Some(Cow::Owned(out));
            }
        }
        on_op(op, start.elapsed());
    }
    // An output computed here is moved out, not copied; an input returned as an output, or a tensor
    // listed twice, is cloned.
    let outputs = program.outputs();
    let mut result = Vec::with_capacity(outputs.len());
    for (k, id) in outputs.iter().enumerate() {
        let i = id.index();
        let again = outputs[k + 1..].iter().any(|o| o.index() == i);
        result.push(match values[i].take() {
            Some(Cow::Owned(t)) if !again => t,
            Some(v) => {
                let t = v.clone().into_owned();
                values[i] = Some(v);
                t
            }
            None => get(&values, i)?.clone(),
        });
    }
    Ok(result)
}

fn get<'v>(values: &'v [Option<Cow<'_, Tensor>>], i: usize) -> Result<&'v Tensor> {
    values[i]
        .as_deref()
        .ok_or_else(|| Error::Program(format!("tensor {i} is read before any op wrote it")))
}
