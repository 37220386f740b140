//! The training API's core for Python: a [`Trainer`] over named f32 parameters with AdamW or SGD, whose
//! `step` calls a Python `forward(tape)` to record the loss on a [`Tape`] (with the GIL held: it runs
//! Python), then runs forward, backward and the update with the GIL released. The tape-only recording
//! calls (bound inputs, parameters, the loss) are functions over a `Recorder` in tape mode.

use davinci::train::Params;
use davinci::train::{AdamW, Sgd, Tape, Trainer, cross_entropy};
use davinci::{DType, Error, ExecutorChoice};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{self, dtype};
use crate::errors::{guard, to_py, usage};
use crate::executors;
use crate::program::{Mode, Recorder, compute_tag};

/// Binds a value to the tape as an input (it needs no gradient).
#[pyfunction]
pub fn tape_input(
    rec: &mut Recorder,
    name: &str,
    array: &Bound<'_, PyAny>,
    tag: &str,
) -> PyResult<usize> {
    let t = arrays::to_tensor(array, tag, name)?;
    let id = rec.tape_mut("input(name, array)")?.input(name, t);
    Ok(rec.push(id))
}

/// Parameter `name` in the tape's compute dtype (bf16 under mixed precision), recorded once.
#[pyfunction]
pub fn tape_param(rec: &mut Recorder, name: &str) -> PyResult<usize> {
    let id = rec.tape_mut("param(name)")?.param(name).map_err(to_py)?;
    Ok(rec.push(id))
}

/// The mean cross-entropy of `logits` `[T, V]` against `targets` (T ids below V), an f32 `[1]`.
#[pyfunction]
pub fn tape_cross_entropy(rec: &mut Recorder, logits: usize, targets: Vec<u32>) -> PyResult<usize> {
    let l = rec.id(logits)?;
    let tape = rec.tape_mut("cross_entropy")?;
    let id = guard(|| cross_entropy(tape, l, &targets))?;
    Ok(rec.push(id))
}

/// The tape's compute dtype tag (`bf16` or `f32`).
#[pyfunction]
pub fn tape_compute_dtype(rec: &mut Recorder) -> PyResult<&'static str> {
    Ok(compute_tag(rec.tape_mut("compute_dtype")?))
}

#[pyclass(module = "davinci._native")]
pub struct NativeTrainer {
    inner: Trainer,
    compute: DType,
}

#[pymethods]
impl NativeTrainer {
    /// `params`: (name, array, tag) in order; `optimizer`: ("adamw", lr, beta1, beta2, eps, weight_decay)
    /// or ("sgd", lr, momentum, weight_decay).
    #[new]
    #[pyo3(signature = (params, optimizer, hyper, compute, loss_scale, keep_grads))]
    fn new(
        params: Vec<(String, Bound<'_, PyAny>, String)>,
        optimizer: &str,
        hyper: Vec<f32>,
        compute: &str,
        loss_scale: Option<(f32, u32)>,
        keep_grads: bool,
    ) -> PyResult<Self> {
        let compute = dtype(compute)?;
        if !matches!(compute, DType::Bf16 | DType::F32) {
            return Err(usage(
                "compute must be bfloat16 (mixed precision) or float32",
            ));
        }
        let mut p = Params::new();
        for (name, array, tag) in &params {
            let t = arrays::to_tensor(array, tag, name)?;
            p.add(name.clone(), t).map_err(to_py)?;
        }
        let h = |i: usize| hyper.get(i).copied();
        let trainer = match (optimizer, hyper.len()) {
            ("adamw", 5) => guard(|| {
                let o = AdamW::with(hyper[0], hyper[1], hyper[2], hyper[3], hyper[4])?;
                Ok(Trainer::new(p, o, compute))
            })?,
            ("sgd", 3) => guard(|| {
                let o = Sgd::new(hyper[0], hyper[1], hyper[2])?;
                Ok(Trainer::new(p, o, compute))
            })?,
            _ => {
                return Err(usage(format!(
                    "unknown optimizer '{optimizer}' with {} numbers (lr {:?}): expected adamw (lr, \
                     beta1, beta2, eps, weight_decay) or sgd (lr, momentum, weight_decay)",
                    hyper.len(),
                    h(0)
                )));
            }
        };
        let trainer = match loss_scale {
            Some((s, every)) => trainer.with_loss_scale(s, every).map_err(to_py)?,
            None => trainer,
        };
        Ok(NativeTrainer {
            inner: trainer.keep_grads(keep_grads),
            compute,
        })
    }

    /// One step: `forward(recorder)` records the loss and returns its handle; the whole step then runs on
    /// `executor`. Returns (step, loss, grad_norm, skipped, loss_scale, [(name, array, tag)] gradients).
    #[allow(clippy::type_complexity)]
    fn step(
        &mut self,
        py: Python<'_>,
        forward: Bound<'_, PyAny>,
        executor: &str,
    ) -> PyResult<(
        u64,
        f32,
        f32,
        bool,
        Option<f32>,
        Vec<(String, Py<PyAny>, &'static str)>,
    )> {
        let choice = executors::parse(executor)?;
        if choice == ExecutorChoice::Both {
            return Err(usage(
                "a training step commits its update once: run it on executor 'gpu' or 'cpu' (compare \
                 the two by training twice from the same parameters)",
            ));
        }
        let mut failure: Option<PyErr> = None;
        let compute = self.compute;
        let tape = self.inner.record(|tape| {
            let rec = Py::new(
                py,
                Recorder::tape(std::mem::replace(tape, Tape::new(compute))),
            )
            .map_err(|e| keep(&mut failure, e))?;
            let result = forward.call1((rec.clone_ref(py),));
            let mut r = rec.borrow_mut(py);
            if let Mode::Tape(t) = std::mem::replace(&mut r.mode, Mode::Done) {
                *tape = *t;
            }
            let handle: usize = result
                .and_then(|v| v.extract())
                .map_err(|e| keep(&mut failure, e))?;
            r.id(handle).map_err(|e| keep(&mut failure, e))
        });
        let tape = match (tape, failure) {
            (_, Some(e)) => return Err(e),
            (t, None) => t.map_err(to_py)?,
        };
        let report = executors::with_one(py, choice, |exec| self.inner.run_recorded(exec, &tape))?;
        let grads = report
            .grads
            .into_iter()
            .map(|(n, t)| arrays::to_numpy(py, t).map(|(a, tag)| (n, a, tag)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok((
            report.step,
            report.loss,
            report.grad_norm,
            report.skipped,
            report.loss_scale,
            grads,
        ))
    }

    /// The f32 master weights, by name.
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, t) in self.inner.params().iter() {
            d.set_item(name, arrays::to_numpy(py, t.clone())?.0)?;
        }
        Ok(d)
    }

    fn set_learning_rate(&mut self, lr: f32) -> PyResult<()> {
        self.inner
            .optimizer_mut()
            .set_learning_rate(lr)
            .map_err(to_py)
    }

    fn learning_rate(&mut self) -> f32 {
        self.inner.optimizer_mut().learning_rate()
    }

    fn steps_done(&self) -> u64 {
        self.inner.steps_done()
    }
}

/// Keeps the first Python error of a forward pass and gives the library a placeholder error to unwind
/// with (the trainer returns it, and the Python error is raised instead).
fn keep(slot: &mut Option<PyErr>, e: PyErr) -> Error {
    let msg = e.to_string();
    slot.get_or_insert(e);
    Error::Invalid(format!("forward failed: {msg}"))
}
