//! `davinci._native.Recorder`: a program being recorded, op by op, as the library's [`Program`] (for
//! `davinci.Program`) or as a training [`Tape`] (for the `forward` of `davinci.Trainer.step`). Both
//! share every recording method here; Python refers to tensors by handles, indices into this recorder's
//! table of ids, so a handle from one recorder cannot name a tensor of another.

use std::path::PathBuf;

use davinci::Program;
use davinci::program::{Epilogue, MatmulOptions, TensorId};
use davinci::train::Tape;
use pyo3::prelude::*;

use crate::arrays::{self, dtype, tag};
use crate::errors::{ProgramError, guard, to_py, usage};
use crate::{executors, names};

/// What the recorder records into.
pub enum Mode {
    Program(Program),
    // Boxed: a tape is several times a program's size, and recorders are moved around.
    Tape(Box<Tape>),
    /// The tape was handed back to the trainer (the forward pass is over).
    Done,
}

#[pyclass(module = "davinci._native")]
pub struct Recorder {
    pub mode: Mode,
    pub handles: Vec<TensorId>,
}

impl Recorder {
    pub fn tape(t: Tape) -> Self {
        Recorder {
            mode: Mode::Tape(Box::new(t)),
            handles: Vec::new(),
        }
    }

    pub fn program(&mut self) -> PyResult<&mut Program> {
        match &mut self.mode {
            Mode::Program(p) => Ok(p),
            Mode::Tape(t) => Ok(&mut t.graph.program),
            Mode::Done => Err(ProgramError::new_err(
                "this tape's forward pass is over; record on the tape handed to the next step",
            )),
        }
    }

    pub fn tape_mut(&mut self, what: &str) -> PyResult<&mut Tape> {
        match &mut self.mode {
            Mode::Tape(t) => Ok(t),
            _ => Err(usage(format!(
                "{what} belongs to a training tape (the argument of a Trainer.step forward), not to a Program"
            ))),
        }
    }

    pub fn id(&self, h: usize) -> PyResult<TensorId> {
        self.handles.get(h).copied().ok_or_else(|| {
            ProgramError::new_err(format!(
                "tensor handle {h} does not belong to this program (it holds {})",
                self.handles.len()
            ))
        })
    }

    fn opt(&self, h: Option<usize>) -> PyResult<Option<TensorId>> {
        h.map(|h| self.id(h)).transpose()
    }

    pub fn push(&mut self, id: TensorId) -> usize {
        self.handles.push(id);
        self.handles.len() - 1
    }

    /// Records with `f` on the program and returns the new tensor's handle.
    fn record(
        &mut self,
        f: impl FnOnce(&mut Program) -> davinci::Result<TensorId>,
    ) -> PyResult<usize> {
        let p = self.program()?;
        let id = guard(|| f(p))?;
        Ok(self.push(id))
    }

    fn finished(&self) -> PyResult<&Program> {
        match &self.mode {
            Mode::Program(p) => Ok(p),
            Mode::Tape(t) => Ok(t.program()),
            Mode::Done => Err(ProgramError::new_err("this tape's forward pass is over")),
        }
    }
}

#[pymethods]
impl Recorder {
    #[new]
    fn new() -> Self {
        Recorder {
            mode: Mode::Program(Program::new()),
            handles: Vec::new(),
        }
    }

    /// Declares an input fed at run time.
    fn input(&mut self, name: &str, shape: Vec<usize>, dtype_tag: &str) -> PyResult<usize> {
        let d = dtype(dtype_tag)?;
        let Mode::Program(p) = &mut self.mode else {
            return Err(usage(
                "a training tape takes values, not placeholders: use tape.input(name, array)",
            ));
        };
        let id = p.input(name, davinci::Shape::new(shape), d);
        Ok(self.push(id))
    }

    fn output(&mut self, h: usize) -> PyResult<()> {
        let id = self.id(h)?;
        self.program()?.output(id).map_err(to_py)
    }

    fn shape(&mut self, h: usize) -> PyResult<Vec<usize>> {
        let id = self.id(h)?;
        Ok(self
            .program()?
            .desc(id)
            .map_err(to_py)?
            .shape
            .dims()
            .to_vec())
    }

    fn dtype(&mut self, h: usize) -> PyResult<&'static str> {
        let id = self.id(h)?;
        Ok(tag(self.program()?.desc(id).map_err(to_py)?.dtype))
    }

    /// The kernel of every recorded op, in order.
    fn ops(&mut self) -> PyResult<Vec<&'static str>> {
        Ok(self
            .program()?
            .ops()
            .iter()
            .map(|o| o.kernel_name())
            .collect())
    }

    #[pyo3(signature = (a, b, trans_a, trans_b, accumulate, out_dtype, format, scale, bias, activation, residual))]
    #[allow(clippy::too_many_arguments)]
    fn matmul(
        &mut self,
        a: usize,
        b: usize,
        trans_a: bool,
        trans_b: bool,
        accumulate: &str,
        out_dtype: &str,
        format: Option<&str>,
        scale: Option<f32>,
        bias: Option<usize>,
        activation: Option<&str>,
        residual: Option<usize>,
    ) -> PyResult<usize> {
        let opts = MatmulOptions {
            trans_a,
            trans_b,
            dtype_out: dtype(out_dtype)?,
            accumulate: names::accumulation(accumulate)?,
            format: names::format(format)?,
            ..MatmulOptions::default()
        };
        let epilogue = Epilogue {
            scale,
            bias: self.opt(bias)?,
            activation: names::activation(activation)?,
            residual: self.opt(residual)?,
        };
        let (a, b) = (self.id(a)?, self.id(b)?);
        self.record(|p| p.cube_matmul_fused(a, b, opts, epilogue))
    }

    fn unary(&mut self, f: &str, x: usize, out_dtype: &str) -> PyResult<usize> {
        let (f, x, d) = (names::unary(f)?, self.id(x)?, dtype(out_dtype)?);
        self.record(|p| p.unary(f, x, d))
    }

    fn binary(&mut self, f: &str, x: usize, y: usize, out_dtype: &str) -> PyResult<usize> {
        let (f, x, y, d) = (
            names::binary(f)?,
            self.id(x)?,
            self.id(y)?,
            dtype(out_dtype)?,
        );
        self.record(|p| p.binary(f, x, y, d))
    }

    fn reduce(&mut self, f: &str, x: usize, out_dtype: &str) -> PyResult<usize> {
        let (f, x, d) = (names::reduce(f)?, self.id(x)?, dtype(out_dtype)?);
        self.record(|p| p.reduce(f, x, d))
    }

    #[pyo3(signature = (x, mask, out_dtype))]
    fn softmax(&mut self, x: usize, mask: Option<usize>, out_dtype: &str) -> PyResult<usize> {
        let (x, m, d) = (self.id(x)?, self.opt(mask)?, dtype(out_dtype)?);
        self.record(|p| p.softmax(x, m, d))
    }

    #[pyo3(signature = (x, gamma, beta, eps, out_dtype))]
    fn layernorm(
        &mut self,
        x: usize,
        gamma: Option<usize>,
        beta: Option<usize>,
        eps: f32,
        out_dtype: &str,
    ) -> PyResult<usize> {
        let (x, g, b, d) = (
            self.id(x)?,
            self.opt(gamma)?,
            self.opt(beta)?,
            dtype(out_dtype)?,
        );
        self.record(|p| p.layernorm(x, g, b, eps, d))
    }

    #[pyo3(signature = (x, gamma, eps, out_dtype))]
    fn rmsnorm(
        &mut self,
        x: usize,
        gamma: Option<usize>,
        eps: f32,
        out_dtype: &str,
    ) -> PyResult<usize> {
        let (x, g, d) = (self.id(x)?, self.opt(gamma)?, dtype(out_dtype)?);
        self.record(|p| p.rmsnorm(x, g, eps, d))
    }

    fn cast(&mut self, x: usize, to: &str) -> PyResult<usize> {
        let (x, d) = (self.id(x)?, dtype(to)?);
        self.record(|p| p.cast(x, d))
    }

    fn reshape(&mut self, x: usize, shape: Vec<usize>) -> PyResult<usize> {
        let x = self.id(x)?;
        self.record(|p| p.reshape(x, davinci::Shape::new(shape)))
    }

    fn permute(&mut self, x: usize, perm: Vec<usize>) -> PyResult<usize> {
        let x = self.id(x)?;
        self.record(|p| p.permute(x, &perm))
    }

    fn concat(&mut self, a: usize, b: usize, axis: usize) -> PyResult<usize> {
        let (a, b) = (self.id(a)?, self.id(b)?);
        self.record(|p| p.concat(a, b, axis))
    }

    fn gather_rows(&mut self, table: usize, ids: Vec<u32>) -> PyResult<usize> {
        let t = self.id(table)?;
        self.record(|p| p.gather_rows(t, &ids))
    }

    /// Runs the program on `inputs` (array, dtype tag) in declaration order; returns (array, tag) per
    /// output.
    fn run(
        &mut self,
        py: Python<'_>,
        inputs: Vec<(Bound<'_, PyAny>, String)>,
        executor: &str,
    ) -> PyResult<Vec<(Py<PyAny>, &'static str)>> {
        let choice = executors::parse(executor)?;
        let Mode::Program(p) = &self.mode else {
            return Err(usage(
                "a training tape runs through Trainer.step, not run()",
            ));
        };
        let names: Vec<String> = p
            .inputs()
            .iter()
            .map(|&i| p.desc(i).map(|d| d.name.clone()).unwrap_or_default())
            .collect();
        if inputs.len() != names.len() {
            return Err(ProgramError::new_err(format!(
                "the program takes {} inputs ({}) but was given {}",
                names.len(),
                names.join(", "),
                inputs.len()
            )));
        }
        let tensors = inputs
            .iter()
            .zip(&names)
            .map(|((a, t), n)| arrays::to_tensor(a, t, n))
            .collect::<PyResult<Vec<_>>>()?;
        let out = executors::run(py, p, &tensors, choice)?;
        out.into_iter().map(|t| arrays::to_numpy(py, t)).collect()
    }

    /// The prediction on `chip` (an Ascend preset or chip file, or an NVIDIA GPU preset) as the CLI's JSON.
    #[pyo3(signature = (chip, launch, title))]
    fn predict(
        &mut self,
        py: Python<'_>,
        chip: &str,
        launch: &str,
        title: &str,
    ) -> PyResult<(String, String)> {
        let p = self.finished()?;
        py.detach(|| guard(|| crate::predict::json(p, chip, launch, title)))
    }

    /// Draws the prediction on `chip` as SVG: `roofline`, or `timeline` of op `op` (the longest by
    /// default).
    #[pyo3(signature = (path, kind, chip, launch, op))]
    fn plot(
        &mut self,
        py: Python<'_>,
        path: PathBuf,
        kind: &str,
        chip: &str,
        launch: &str,
        op: Option<usize>,
    ) -> PyResult<()> {
        let p = self.finished()?;
        py.detach(|| guard(|| crate::predict::plot(p, kind, chip, launch, op, &path)))
    }

    /// Writes the prediction's timeline on `chip` as a Chrome trace; returns the events written.
    fn trace(
        &mut self,
        py: Python<'_>,
        path: PathBuf,
        chip: &str,
        launch: &str,
    ) -> PyResult<usize> {
        let p = self.finished()?;
        py.detach(|| guard(|| crate::predict::trace(p, chip, launch, &path)))
    }
}

/// The compute dtype of a tape, as Python names it.
pub fn compute_tag(t: &Tape) -> &'static str {
    tag(t.compute_dtype())
}
