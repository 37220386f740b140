//! The CPU executor: runs each op with its reference twin (`src/reference/`).

use std::borrow::Cow;

use super::{Executor, cpu_vector};
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
        program.check_inputs(inputs)?;
        let mut values: Vec<Option<Cow<'_, Tensor>>> = vec![None; program.tensors().len()];
        for (id, t) in program.inputs().iter().zip(inputs) {
            values[id.index()] = Some(Cow::Borrowed(*t));
        }
        for op in program.ops() {
            match op {
                Op::CubeMatmul(mm) => {
                    let a = get(&values, mm.a.index())?;
                    let b = get(&values, mm.b.index())?;
                    let (a, b) = (bf16_of(a)?, bf16_of(b)?);
                    let c = reference::cube_matmul::cube_matmul(
                        &mm.geometry,
                        mm.options.accumulate,
                        a,
                        b,
                    );
                    let out = cpu_vector::finish_matmul(mm, c, &|id| get(&values, id.index()))?;
                    values[mm.out.index()] = Some(Cow::Owned(out));
                }
                Op::Vector(v) => {
                    let shape = program.desc(v.out)?.shape.clone();
                    let out = cpu_vector::run_vector(v, shape, &|id| get(&values, id.index()))?;
                    values[v.out.index()] = Some(Cow::Owned(out));
                }
                Op::Cast(c) => {
                    let x = get(&values, c.input.index())?;
                    let shape = x.shape().clone();
                    let out = match x.data() {
                        TensorData::F32(v) => {
                            Tensor::from_bf16(shape, reference::cast_f32_bf16::cast_f32_bf16(v))?
                        }
                        TensorData::Bf16(v) => {
                            Tensor::from_f32(shape, reference::cast_bf16_f32::cast_bf16_f32(v))?
                        }
                    };
                    values[c.out.index()] = Some(Cow::Owned(out));
                }
            }
        }
        program
            .outputs()
            .iter()
            .map(|id| get(&values, id.index()).cloned())
            .collect()
    }
}

fn get<'v>(values: &'v [Option<Cow<'_, Tensor>>], i: usize) -> Result<&'v Tensor> {
    values[i]
        .as_deref()
        .ok_or_else(|| Error::Program(format!("tensor {i} is read before any op wrote it")))
}

fn bf16_of(t: &Tensor) -> Result<&[half::bf16]> {
    t.as_bf16().ok_or_else(|| {
        Error::dtype(
            "cube_matmul",
            format!("expected a bf16 operand, got {} {}", t.dtype(), t.shape()),
        )
    })
}
