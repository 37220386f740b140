//! What the subcommands share: the error and outcome types, the option enums that map onto the library's
//! types, the chip and prediction arguments, and the library's progress callback as a bar on stderr.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use davinci::report::predict_run::PredictTarget;
use davinci::{Accumulation, Activation, DType, ExecutorChoice, MatmulOptions};
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
    /// Rounded once to fp16 (matmul results; the Vector ops give f32 or bf16).
    F16,
    /// The raw int32 accumulator of an int8 matmul.
    I32,
}

impl From<DTypeArg> for DType {
    fn from(d: DTypeArg) -> Self {
        match d {
            DTypeArg::F32 => DType::F32,
            DTypeArg::Bf16 => DType::Bf16,
            DTypeArg::F16 => DType::F16,
            DTypeArg::I32 => DType::I32,
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

/// The options of `cube_matmul`, shared by `davinci matmul` and `davinci op matmul`.
#[derive(Args, Debug)]
pub struct MatmulFlags {
    /// Output dtype: the f32 accumulator, or bf16 rounded once (FixPipe).
    #[arg(long, value_enum, default_value_t)]
    pub dtype_out: DTypeArg,
    /// Accumulation model: tree16 or sequential (the order of the additions, part of the numerics
    /// contract), or the experiment bf16-everyN / f16-everyN (the accumulator rounded to that format after
    /// every N fractals of 16 along K).
    #[arg(long, default_value = "tree16", value_name = "MODEL")]
    pub accumulate: Accumulation,
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
            accumulate: self.accumulate,
            format: None,
            tiling: Default::default(),
        }
    }
}

/// `--dtype` of a model run: the compute dtype of weights, activations and every op's result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ComputeArg {
    /// bf16 operands with f32 accumulation, results rounded to bf16 (Ascend inference).
    #[default]
    Bf16,
    /// f32 throughout, the Cube in its fp32 mode.
    F32,
}

impl From<ComputeArg> for DType {
    fn from(d: ComputeArg) -> Self {
        match d {
            ComputeArg::Bf16 => DType::Bf16,
            ComputeArg::F32 => DType::F32,
        }
    }
}

/// `--activation` of a fused matmul epilogue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    #[default]
    None,
    Relu,
    Gelu,
    #[value(name = "gelu_tanh", alias = "gelu-tanh")]
    GeluTanh,
    Silu,
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Self {
        match a {
            ActivationArg::None => Activation::None,
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Gelu => Activation::Gelu,
            ActivationArg::GeluTanh => Activation::GeluTanh,
            ActivationArg::Silu => Activation::Silu,
        }
    }
}

/// The chip a prediction is for and its trace file: the one set of these arguments, used by every
/// subcommand that predicts.
#[derive(Args, Debug, Clone)]
pub struct ChipArgs {
    /// The chip: a preset (see `davinci chips`; default 910c) or a chip .toml file.
    #[arg(long, value_name = "NAME|FILE")]
    pub chip: Option<String>,
    /// Write the predicted timeline as Chrome trace JSON (ui.perfetto.dev, chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Who launches the kernels: device (a captured graph, the default) or framework (op by op from the
    /// host, as torch_npu eager does: the chip's framework_dispatch_us per kernel, which short ops wait on).
    #[arg(long, default_value = "device", value_name = "MODE")]
    pub launch: davinci::LaunchMode,
    /// Draw the roofline of the predicted ops (achieved TFLOPS against FLOP per HBM byte, under the chip's
    /// compute and HBM roofs) as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Draw one op's predicted per-core timeline (MTE2/MTE1/Cube/FixPipe or MTE2/Vector/MTE3 per core)
    /// as SVG: op --plot-op, else the longest.
    #[arg(long, value_name = "FILE.svg")]
    pub plot_timeline: Option<PathBuf>,
    /// The op (its index in the program) --plot-timeline draws.
    #[arg(long, value_name = "N", requires = "plot_timeline")]
    pub plot_op: Option<usize>,
}

impl ChipArgs {
    /// The chip's name or file (910c by default).
    pub fn chip(&self) -> &str {
        self.chip.as_deref().unwrap_or("910c")
    }

    /// The NVIDIA GPU preset `--chip` names, if it names one; a trace or framework launches are refused
    /// for it (the GPU model has no per-SM timeline or host-dispatch figure yet).
    pub fn gpu(&self) -> Result<Option<davinci::gpu::GpuSpec>, CliError> {
        let Some(g) = self.chip.as_deref().and_then(davinci::gpu::GpuSpec::preset) else {
            return Ok(None);
        };
        if self.trace.is_some()
            || self.plot.is_some()
            || self.plot_timeline.is_some()
            || self.launch != davinci::LaunchMode::Device
        {
            return Err(CliError::usage(format!(
                "--trace, --plot, --plot-timeline and --launch framework are for Ascend chips; {} is \
                 timed without a per-SM timeline or a host-dispatch figure",
                g.name
            )));
        }
        Ok(Some(g))
    }

    pub fn target(&self) -> Result<PredictTarget, CliError> {
        let mut t = PredictTarget::resolve(self.chip(), self.trace.clone())?;
        t.launch = self.launch;
        t.plots = self.plots();
        Ok(t)
    }

    /// The plots `--plot`, `--plot-timeline` and `--plot-op` ask for.
    pub fn plots(&self) -> davinci::report::plots::PredictionPlots {
        davinci::report::plots::PredictionPlots {
            roofline: self.plot.clone(),
            timeline: self.plot_timeline.clone(),
            op: self.plot_op,
        }
    }

    /// Refuses the plot flags for `cmd`, which draws none.
    pub fn refuse_plots(&self, cmd: &str, why: &str) -> Result<(), CliError> {
        if self.plots().is_empty() {
            return Ok(());
        }
        Err(CliError::usage(format!(
            "{cmd} draws no --plot or --plot-timeline: {why}"
        )))
    }
}

/// `--predict` with the chip arguments, for the subcommands that run on this host: the prediction goes
/// beside the host's time. `--trace` implies `--predict`; `--chip` alone is a usage error.
#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// Also predict the time on an Ascend chip (the timing model) and show it beside the host's.
    #[arg(long)]
    pub predict: bool,
    #[command(flatten)]
    pub chip: ChipArgs,
}

impl PredictArgs {
    pub fn target(&self) -> Result<Option<PredictTarget>, CliError> {
        let drawn = self.chip.plot.is_some() || self.chip.plot_timeline.is_some();
        if !self.predict && self.chip.trace.is_none() && !drawn {
            if self.chip.chip.is_some() {
                return Err(CliError::usage(
                    "--chip names the chip of a prediction; add --predict (or --trace FILE)",
                ));
            }
            return Ok(None);
        }
        self.chip.target().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
