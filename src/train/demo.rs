//! `davinci train-demo` and `examples/train_tiny.rs`: the [`tiny`](super::tiny) decoder learning the copy
//! task with AdamW in mixed precision, the loss of every step printed under a progress bar, and the
//! predicted time of one training step on a 910C and, with data parallelism, on a CloudMatrix 384.

use std::time::Instant;

use super::tiny::TinyConfig;
use super::{AdamW, Tape, Trainer};
use crate::Result;
use crate::chip::ChipSpec;
use crate::cluster::collectives::best_all_reduce;
use crate::cluster::{ClusterSpec, RankUnit};
use crate::exec::Executor;
use crate::progress::Progress;
use crate::sched::{Prediction, predict};
use crate::tensor::DType;
use crate::units::Bytes;

/// What the demo trains, and how long.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DemoConfig {
    pub model: TinyConfig,
    pub steps: u64,
    /// Seeds the weights and the data.
    pub seed: u64,
    pub lr: f32,
}

impl Default for DemoConfig {
    /// 30 steps of 8 sequences (16 tokens, vocabulary 16) at learning rate 5e-3: the loss falls from about
    /// 2.9 (ln 15 = 2.7 is chance) to about 0.1.
    fn default() -> Self {
        DemoConfig {
            model: TinyConfig {
                batch: 8,
                ..TinyConfig::default()
            },
            steps: 30,
            seed: 0,
            lr: 5e-3,
        }
    }
}

impl DemoConfig {
    /// The optimizer: AdamW with betas (0.9, 0.98), eps 1e-8, weight decay 0.01.
    pub fn optimizer(&self) -> Result<AdamW> {
        AdamW::with(self.lr, 0.9, 0.98, 1e-8, 0.01)
    }

    /// A trainer at step 0: seeded weights, bf16 compute, f32 masters and state.
    pub fn trainer(&self) -> Result<Trainer> {
        let params = self.model.init(self.seed)?;
        Ok(Trainer::new(params, self.optimizer()?, DType::Bf16))
    }

    /// One whole training step (forward, backward, AdamW) as recorded, for the timing model.
    pub fn step_tape(&self) -> Result<Tape> {
        let (tokens, targets) = self.model.batch_at(self.seed, 0);
        self.trainer()?
            .record(|tape| self.model.loss(tape, &tokens, &targets))
    }
}

/// A finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoRun {
    pub executor: &'static str,
    pub losses: Vec<f32>,
    pub seconds: f64,
}

/// Trains for `cfg.steps` steps on `exec`, reporting each step's loss to `progress`.
pub fn train(
    cfg: &DemoConfig,
    exec: &dyn Executor,
    progress: &mut dyn Progress,
) -> Result<DemoRun> {
    let mut trainer = cfg.trainer()?;
    progress.start(&format!("train on {}", exec.name()), cfg.steps);
    let start = Instant::now();
    let mut losses = Vec::new();
    for step in 0..cfg.steps {
        let (tokens, targets) = cfg.model.batch_at(cfg.seed, step);
        let r = trainer
            .step(exec, |tape| cfg.model.loss(tape, &tokens, &targets))
            .inspect_err(|_| progress.finish())?;
        let line = format!(
            "step {:>3}  loss {:.4}  grad norm {:.3}",
            step + 1,
            r.loss,
            r.grad_norm
        );
        progress.step(Some(&line), &format!("loss {:.4}", r.loss));
        losses.push(r.loss);
    }
    progress.finish();
    Ok(DemoRun {
        executor: exec.name(),
        losses,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The predicted time of one training step.
#[derive(Clone, Debug)]
pub struct StepTiming {
    /// One 910C running the whole step.
    pub chip: Prediction,
    /// Data parallelism over a cluster: the cluster's name, chips, the gradient all-reduce's time (ns),
    /// the step's time (compute then all-reduce, not overlapped) and tokens per second over the cluster.
    pub cluster: Option<ClusterTiming>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterTiming {
    pub name: String,
    pub chips: usize,
    pub grad_bytes: f64,
    pub all_reduce_ns: f64,
    pub algorithm: &'static str,
    pub step_ns: f64,
    pub tokens_per_s: f64,
}

/// Times one step of `cfg` on `chip`, and on `cluster` (a preset or file) with one replica per chip,
/// each with the demo's batch, gradients (f32) all-reduced after backward.
pub fn predict_step(cfg: &DemoConfig, chip: &str, cluster: Option<&str>) -> Result<StepTiming> {
    let tape = cfg.step_tape()?;
    let chip_pred = predict(tape.program(), &ChipSpec::resolve(chip)?)?;
    let cluster = match cluster {
        None => None,
        Some(name) => {
            let spec = ClusterSpec::resolve(name)?;
            let n = spec.chips();
            let compute = predict(tape.program(), spec.rank_chip(RankUnit::Chip).ascend()?)?;
            let grad_bytes = 4.0 * cfg.model.init(cfg.seed)?.numel() as f64;
            let group = spec.group(RankUnit::Chip, n, 1);
            let ar = best_all_reduce(&group, Bytes(grad_bytes));
            let step_ns = compute.total.0 + ar.time.0;
            let tokens = (n * cfg.model.batch * cfg.model.seq()) as f64;
            Some(ClusterTiming {
                name: spec.name.clone(),
                chips: n,
                grad_bytes,
                all_reduce_ns: ar.time.0,
                algorithm: ar.algorithm.name(),
                step_ns,
                tokens_per_s: tokens / (step_ns * 1e-9),
            })
        }
    };
    Ok(StepTiming {
        chip: chip_pred,
        cluster,
    })
}
