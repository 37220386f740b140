//! The chip, cluster and model presets, the cluster model's step prediction, the NVIDIA comparison and
//! the validation table, for Python: each calls the report the CLI prints and hands back its JSON (the
//! Python side parses it into dicts), so the two can never disagree.

use davinci::progress::Silent;
use davinci::report::cluster_run::{StepKind, StepRequest};
use davinci::report::compare::CompareRequest;
use davinci::report::{self, Report};
use davinci::{Error, Result};
use pyo3::prelude::*;

use crate::errors::guard;

fn json(r: Report) -> Result<String> {
    if let Some(f) = r.failure {
        return Err(Error::Invalid(f));
    }
    serde_json::to_string(&r.json).map_err(|e| Error::Invalid(format!("report JSON: {e}")))
}

fn kind(name: &str) -> Result<StepKind> {
    match name {
        "train" => Ok(StepKind::Train),
        "prefill" => Ok(StepKind::Prefill),
        "decode" => Ok(StepKind::Decode),
        other => Err(Error::Usage(format!(
            "unknown step '{other}': expected train, prefill or decode"
        ))),
    }
}

/// `davinci chips [NAME]` as JSON.
#[pyfunction]
#[pyo3(signature = (name=None))]
pub fn chips(name: Option<&str>) -> PyResult<String> {
    guard(|| json(report::chips::named(name)?))
}

/// `davinci clusters [NAME]` as JSON.
#[pyfunction]
#[pyo3(signature = (name=None))]
pub fn clusters(name: Option<&str>) -> PyResult<String> {
    guard(|| json(report::listing::clusters(name)?))
}

/// `davinci models [NAME]` as JSON.
#[pyfunction]
#[pyo3(signature = (name=None))]
pub fn models(name: Option<&str>) -> PyResult<String> {
    guard(|| json(report::listing::models(name)?))
}

/// `davinci cluster train|prefill|decode` as JSON.
#[pyfunction]
#[pyo3(signature = (step, model, cluster, plan, batch, seq, kv, mtp, routing, quant, sweep, top, plot=None))]
#[allow(clippy::too_many_arguments)]
pub fn cluster_step(
    py: Python<'_>,
    step: &str,
    model: String,
    cluster: String,
    plan: Option<String>,
    batch: Option<usize>,
    seq: usize,
    kv: usize,
    mtp: Option<(usize, f64)>,
    routing: Option<String>,
    quant: Option<String>,
    sweep: bool,
    top: usize,
    plot: Option<std::path::PathBuf>,
) -> PyResult<String> {
    let step = guard(|| kind(step))?;
    let req = StepRequest {
        kind: step,
        model,
        cluster,
        plan,
        batch,
        seq,
        kv,
        trace: None,
        plot,
        sweep,
        top,
        mtp,
        routing,
        quant,
        execute: None,
    };
    py.detach(|| guard(|| json(report::cluster_run::run(&req, &mut Silent)?)))
}

/// `davinci compare` as JSON.
#[pyfunction]
#[pyo3(signature = (step, model, systems, plans, batch, batch_per_chip, seq, kv, quant, top))]
#[allow(clippy::too_many_arguments)]
pub fn compare(
    py: Python<'_>,
    step: &str,
    model: String,
    systems: Vec<String>,
    plans: Vec<String>,
    batch: Option<usize>,
    batch_per_chip: Option<usize>,
    seq: usize,
    kv: usize,
    quant: Option<String>,
    top: usize,
) -> PyResult<String> {
    let step = guard(|| kind(step))?;
    let req = CompareRequest {
        kind: step,
        model,
        systems,
        plans,
        batch,
        batch_per_chip,
        seq,
        kv,
        quant,
        top,
    };
    py.detach(|| guard(|| json(report::compare::run(&req, &mut Silent)?)))
}

/// `davinci validate [--filter WORD] [--plot FILE.svg]` as JSON (the rows outside their tolerance are in
/// the JSON; no error is raised for them).
#[pyfunction]
#[pyo3(signature = (filter=None, plot=None))]
pub fn validate(filter: Option<&str>, plot: Option<std::path::PathBuf>) -> PyResult<String> {
    guard(|| {
        let r = match &plot {
            Some(path) => report::validate_run::run_with_plot(None, filter, path)?,
            None => report::validate_run::run(None, filter)?,
        };
        serde_json::to_string(&r.json).map_err(|e| Error::Invalid(format!("report JSON: {e}")))
    })
}
