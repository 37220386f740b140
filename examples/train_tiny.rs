//! A 2-layer decoder (hidden 128) learns to copy token sequences on the emulated 910C: AdamW in mixed
//! precision (bf16 Cube operands, f32 master weights and state), the loss of every step on stderr (through
//! the library's progress callback), then the predicted time of one training step on a 910C and on a CloudMatrix 384.
//!
//! `cargo run --release --example train_tiny [STEPS]` (auto executor: the GPU if an adapter opens).

use davinci::train::demo::{DemoConfig, predict_step, train};
use davinci::{ExecutorChoice, select};

/// Progress as plain lines on stderr.
struct Lines;

impl davinci::progress::Progress for Lines {
    fn start(&mut self, what: &str, total: u64) {
        eprintln!("{what}: {total} steps");
    }
    fn step(&mut self, line: Option<&str>, _status: &str) {
        if let Some(line) = line {
            eprintln!("{line}");
        }
    }
    fn finish(&mut self) {}
    fn notice(&mut self, text: &str) {
        eprintln!("{text}");
    }
}

fn main() -> davinci::Result<()> {
    let mut cfg = DemoConfig::default();
    if let Some(steps) = std::env::args().nth(1) {
        cfg.steps = steps.parse().map_err(|_| {
            davinci::Error::Invalid(format!("STEPS must be a number, got '{steps}'"))
        })?;
    }
    let selected = select(ExecutorChoice::Auto)?;
    if let Some(notice) = &selected.notice {
        eprintln!("{notice}");
    }
    let run = train(&cfg, selected.executors[0].as_ref(), &mut Lines)?;
    let (first, last) = (run.losses[0], *run.losses.last().unwrap_or(&f32::NAN));
    println!(
        "{} steps on {} in {:.1} s: loss {first:.4} -> {last:.4} ({:.1}% of the start)",
        cfg.steps,
        run.executor,
        run.seconds,
        100.0 * last / first
    );
    let t = predict_step(&cfg, "910c", Some("cloudmatrix384"))?;
    println!(
        "one training step on one 910C: {:.1} us predicted ({} ops, bound by {})",
        t.chip.total.0 / 1e3,
        t.chip.ops.len(),
        t.chip.bound.name()
    );
    if let Some(c) = t.cluster {
        println!(
            "data parallel on {} ({} chips): {:.1} us per step ({:.1} us {} all-reduce of {:.2} MB of f32 \
             gradients), {:.3e} tokens/s",
            c.name,
            c.chips,
            c.step_ns / 1e3,
            c.all_reduce_ns / 1e3,
            c.algorithm,
            c.grad_bytes / 1e6,
            c.tokens_per_s
        );
    }
    Ok(())
}
