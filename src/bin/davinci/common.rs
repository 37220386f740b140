//! What the subcommands share: the error and outcome types, the option enums that map onto the library's
//! types, executor selection (with the `auto` fallback notice on stderr), timed runs with a progress bar
//! on stderr, and a host-memory check that turns absurd sizes into an error instead of an abort.

use std::fmt;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use davinci::{Accumulation, DType, Executor, ExecutorChoice, MatmulOptions, Program, Tensor};
use indicatif::{ProgressBar, ProgressStyle};

/// Exit code of a runtime failure or of a GPU/CPU mismatch.
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code of a usage error (clap's own errors use it too).
pub const EXIT_USAGE: u8 = 2;

/// An error for the user: a message that says what to do, and the exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    pub fn runtime(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_RUNTIME,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }
}

impl From<davinci::Error> for CliError {
    fn from(e: davinci::Error) -> Self {
        match e {
            // A malformed request to a report is the user's usage, as clap's own errors are.
            davinci::Error::Usage(m) => CliError::usage(m),
            e => CliError::runtime(e.to_string()),
        }
    }
}

/// What a subcommand hands back to `main`: the library's report (JSON and table) and, when a promised
/// check failed (GPU and CPU disagree), the reason, which makes the exit code 1 while the report is still
/// printed.
pub type Outcome = davinci::report::Report;

/// `--dtype-out`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DTypeArg {
    /// The f32 accumulator as is (L0C).
    #[default]
    F32,
    /// Rounded once to bf16, as FixPipe does.
    Bf16,
}

impl From<DTypeArg> for DType {
    fn from(d: DTypeArg) -> Self {
        match d {
            DTypeArg::F32 => DType::F32,
            DTypeArg::Bf16 => DType::Bf16,
        }
    }
}

/// `--accumulate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AccumulateArg {
    /// Pairwise tree within each 16-wide K fractal, fractals in ascending k.
    #[default]
    Tree16,
    /// One f32 accumulator, k ascending.
    Sequential,
}

impl From<AccumulateArg> for Accumulation {
    fn from(a: AccumulateArg) -> Self {
        match a {
            AccumulateArg::Tree16 => Accumulation::Tree16,
            AccumulateArg::Sequential => Accumulation::Sequential,
        }
    }
}

/// `--executor`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ExecutorArg {
    /// The faster by measurement: a hardware GPU; the CPU twin without an adapter or where it beats a
    /// software rasterizer (with a notice on stderr).
    #[default]
    Auto,
    /// The GPU only; fails without an adapter.
    Gpu,
    /// The CPU twin only.
    Cpu,
    /// GPU and CPU, and compare their bits.
    Both,
}

impl From<ExecutorArg> for ExecutorChoice {
    fn from(e: ExecutorArg) -> Self {
        match e {
            ExecutorArg::Auto => ExecutorChoice::Auto,
            ExecutorArg::Gpu => ExecutorChoice::Gpu,
            ExecutorArg::Cpu => ExecutorChoice::Cpu,
            ExecutorArg::Both => ExecutorChoice::Both,
        }
    }
}

/// The executors a run uses (GPU first when present) and the GPU adapter's name.
pub struct Executors {
    pub list: Vec<Box<dyn Executor>>,
    pub adapter: Option<String>,
}

/// Resolves `--executor`; prints the fallback notice of `auto` on stderr.
pub fn select_executors(choice: ExecutorArg) -> Result<Executors, CliError> {
    let selected = davinci::select(choice.into())?;
    if let Some(notice) = &selected.notice {
        eprintln!("notice: {notice}");
    }
    Ok(Executors {
        list: selected.executors,
        adapter: selected.gpu.as_ref().map(|g| g.description().name.clone()),
    })
}

/// The result of one executor's runs: the output of the last run and the wall times.
pub struct Timed {
    pub output: Tensor,
    /// The first run, which also builds pipelines and warms caches; not part of the statistics.
    pub warmup_ms: Option<f64>,
    /// The timed runs, in order.
    pub times_ms: Vec<f64>,
}

impl Timed {
    /// The median of the timed runs.
    pub fn median_ms(&self) -> f64 {
        median(&self.times_ms)
    }
}

/// Runs `program` once to warm up (when `warmup`), then `repeat` timed times. A spinner and, when the timed
/// runs will take over about a second, a progress bar show on stderr (hidden when it is not a terminal).
pub fn time_runs(
    exec: &dyn Executor,
    program: &Program,
    inputs: &[&Tensor],
    warmup: bool,
    repeat: usize,
) -> Result<Timed, CliError> {
    let name = exec.name();
    let mut warmup_ms = None;
    let mut last = None;
    if warmup {
        let spinner = ProgressBar::new_spinner().with_message(format!("{name}: warm-up run"));
        spinner.enable_steady_tick(Duration::from_millis(120));
        let (out, ms) = timed_run(exec, program, inputs);
        spinner.finish_and_clear();
        last = Some(out?);
        warmup_ms = Some(ms);
    }
    let expected_ms = warmup_ms.unwrap_or(0.0) * repeat as f64;
    let bar = if expected_ms > 1000.0 {
        let bar = ProgressBar::new(repeat as u64).with_message(format!("{name}: timed runs"));
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} (eta {eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut times_ms = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let (out, ms) = timed_run(exec, program, inputs);
        last = Some(out.inspect_err(|_| bar.abandon())?);
        times_ms.push(ms);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let output =
        last.ok_or_else(|| CliError::usage("nothing was run: --repeat must be at least 1"))?;
    Ok(Timed {
        output,
        warmup_ms,
        times_ms,
    })
}

fn timed_run(
    exec: &dyn Executor,
    program: &Program,
    inputs: &[&Tensor],
) -> (Result<Tensor, CliError>, f64) {
    let start = Instant::now();
    let result = exec.run(program, inputs);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let out = result.map_err(CliError::from).and_then(|mut outs| {
        if outs.is_empty() {
            Err(CliError::runtime(format!(
                "the {} executor returned no output",
                exec.name()
            )))
        } else {
            Ok(outs.swap_remove(0))
        }
    });
    (out, ms)
}

/// The library's progress callback as an indicatif bar on stderr, with each step's line printed above it
/// (nothing is drawn when stderr is not a terminal).
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new() -> Self {
        Bar(ProgressBar::hidden())
    }
}

impl davinci::progress::Progress for Bar {
    fn start(&mut self, what: &str, total: u64) {
        if total == 0 {
            // One step of unknown length: a spinner with the elapsed time.
            self.0 = ProgressBar::new_spinner().with_message(what.to_string());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
                self.0.set_style(style);
            }
            self.0.enable_steady_tick(Duration::from_millis(120));
            return;
        }
        self.0 = ProgressBar::new(total).with_prefix(what.to_string());
        if let Ok(style) =
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps {msg} ({elapsed})")
        {
            self.0.set_style(style.progress_chars("=> "));
        }
    }

    fn step(&mut self, line: Option<&str>, status: &str) {
        if let Some(line) = line {
            self.0.println(line);
        }
        self.0.set_message(status.to_string());
        self.0.inc(1);
    }

    fn finish(&mut self) {
        self.0.finish_and_clear();
    }

    fn notice(&mut self, text: &str) {
        self.0.suspend(|| eprintln!("notice: {text}"));
    }
}

/// The median of some values (the mean of the two middle ones for an even count; NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Host memory a run is about to need, for a clear error instead of an allocation abort.
pub struct HostBytes(pub u128);

impl fmt::Display for HostBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&davinci::report::fmt_bytes(self.0))
    }
}

/// Fails when `need` bytes exceed what the host has available ([`davinci::files::check_host_memory`]).
pub fn check_host_memory(need: HostBytes, what: &str) -> Result<(), CliError> {
    Ok(davinci::files::check_host_memory(what, need.0)?)
}

/// The options of `cube_matmul`, shared by `davinci matmul` and `davinci op matmul`.
#[derive(Args, Debug)]
pub struct MatmulFlags {
    /// Output dtype: the f32 accumulator, or bf16 rounded once (FixPipe).
    #[arg(long, value_enum, default_value_t)]
    pub dtype_out: DTypeArg,
    /// Accumulation model (the order of the additions, part of the numerics contract).
    #[arg(long, value_enum, default_value_t)]
    pub accumulate: AccumulateArg,
    /// A is stored transposed, as [K, M].
    #[arg(long)]
    pub trans_a: bool,
    /// B is stored transposed, as [N, K] (a torch Linear weight).
    #[arg(long)]
    pub trans_b: bool,
}

impl MatmulFlags {
    pub fn options(&self) -> MatmulOptions {
        MatmulOptions {
            trans_a: self.trans_a,
            trans_b: self.trans_b,
            dtype_out: self.dtype_out.into(),
            accumulate: self.accumulate.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn a_lost_device_is_a_runtime_error_that_suggests_the_cpu() {
        let e = CliError::from(davinci::Error::DeviceLost(
            "running a program on the GPU (destroyed)".into(),
        ));
        assert_eq!(e.code, EXIT_RUNTIME);
        assert!(
            e.message.contains("lost") && e.message.contains("--executor cpu"),
            "{}",
            e.message
        );
    }

    #[test]
    fn absurd_memory_is_refused() {
        let err = check_host_memory(HostBytes(u128::MAX), "cube_matmul").unwrap_err();
        assert_eq!(err.code, EXIT_RUNTIME);
        assert!(err.message.contains("use smaller sizes"), "{}", err.message);
    }
}
