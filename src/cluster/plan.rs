//! Parallel plans and workloads.
//!
//! A [`Plan`] splits a model over `dp x tp x pp` ranks: data parallel replicas, tensor parallel shards
//! (Megatron: column-parallel q/k/v/up, row-parallel o/down, one all-reduce after each), pipeline stages
//! (layers split evenly, micro-batches, a fill-and-drain bubble) and expert parallel groups of `ep` ranks
//! carved from the `dp x tp` ranks of a stage (routed experts spread evenly over them). Ranks are numbered
//! with tp innermost, then dp, then pp, so a tensor-parallel group sits on neighbouring dies and chips.
//! Options: activation recompute, optimizer-state sharding (ZeRO stage 1: optimizer states; 2: and
//! gradients; 3: and weights) over the data-parallel group, and sequence parallelism (`sp`, Megatron's
//! `--sequence-parallel`: Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer
//! Models", section 4.2.2): the norms and the activations between the tensor-parallel blocks are split over
//! the tp ranks by tokens, and each block's all-reduce becomes an all-gather before it and a reduce-scatter
//! after it (the same bytes on the links).

use super::models::{Attn, ModelSpec};
use super::topology::{ClusterSpec, RankUnit};
use crate::{Error, Result};

/// How a model is split over the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Plan {
    pub dp: usize,
    pub tp: usize,
    pub pp: usize,
    pub ep: usize,
    /// Micro-batches per step (per data-parallel replica); `None` for the workload's default.
    pub micro_batches: Option<usize>,
    pub recompute: bool,
    /// ZeRO stage over the data-parallel group: 0 none, 1 optimizer states, 2 and gradients, 3 and weights.
    pub zero: u8,
    /// Sequence parallelism over the tensor-parallel group (no effect at tp=1).
    pub sp: bool,
    /// Gradient accumulation as its own pass (Megatron's `--no-gradient-accumulation-fusion`): each
    /// micro-batch's bf16 weight gradients are added into the fp32 main gradients by the Vector unit,
    /// instead of by the weight-gradient matmul itself ([`super::zero`]).
    pub grad_add: bool,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            dp: 1,
            tp: 1,
            pp: 1,
            ep: 1,
            micro_batches: None,
            recompute: false,
            zero: 0,
            sp: false,
            grad_add: false,
        }
    }
}

impl Plan {
    /// Parses `dp=48,tp=8,pp=1,ep=8` (any order; missing degrees are 1), with optional `mb=N` (micro-batches),
    /// `zero=0..3`, `recompute` (or `recompute=1`), `sp` (sequence parallelism, or `sp=1`) and `grad_add`
    /// (gradient accumulation as its own pass, or `grad_add=1`).
    pub fn parse(text: &str) -> Result<Plan> {
        let mut p = Plan::default();
        let bad = |msg: String| Error::Invalid(format!("plan '{text}': {msg}"));
        let mut seen: Vec<&str> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, "1"));
            if seen.contains(&key.trim()) {
                return Err(bad(format!("'{}' is given twice", key.trim())));
            }
            seen.push(key.trim());
            let n: usize = value
                .trim()
                .parse()
                .map_err(|_| bad(format!("'{part}' needs a whole number, e.g. tp=8")))?;
            match key.trim() {
                "dp" => p.dp = n,
                "tp" => p.tp = n,
                "pp" => p.pp = n,
                "ep" => p.ep = n,
                "mb" | "micro" => p.micro_batches = Some(n),
                "zero" => {
                    p.zero = u8::try_from(n)
                        .ok()
                        .filter(|z| *z <= 3)
                        .ok_or_else(|| bad("zero must be 0, 1, 2 or 3".into()))?
                }
                "recompute" => p.recompute = n != 0,
                "sp" => p.sp = n != 0,
                "grad_add" => p.grad_add = n != 0,
                other => {
                    return Err(bad(format!(
                        "unknown key '{other}'; use dp, tp, pp, ep, mb, zero, recompute, sp, grad_add"
                    )));
                }
            }
        }
        for (k, v) in [("dp", p.dp), ("tp", p.tp), ("pp", p.pp), ("ep", p.ep)] {
            if v == 0 {
                return Err(bad(format!("{k} must be at least 1")));
            }
        }
        if p.micro_batches == Some(0) {
            return Err(bad("mb must be at least 1".into()));
        }
        Ok(p)
    }

    /// Devices the plan spans.
    pub fn ranks(&self) -> usize {
        self.dp * self.tp * self.pp
    }

    /// Checks the plan against a model and a cluster and says what a rank is.
    pub fn check(&self, model: &ModelSpec, cluster: &ClusterSpec) -> Result<RankUnit> {
        let bad = |msg: String| Err(Error::Invalid(format!("plan {self}: {msg}")));
        let unit = cluster.rank_unit(self.ranks())?;
        if model.heads % self.tp != 0 {
            return bad(format!(
                "tp={} does not divide the {} attention heads of {}; use a divisor of {}",
                self.tp, model.heads, model.name, model.heads
            ));
        }
        if model.ffn % self.tp != 0 {
            return bad(format!(
                "tp={} does not divide the FFN width {} of {}",
                self.tp, model.ffn, model.name
            ));
        }
        if let Attn::Mha { kv_heads, .. } = model.attn
            && kv_heads % self.tp != 0
            && self.tp % kv_heads != 0
        {
            return bad(format!(
                "tp={} neither divides nor is a multiple of the {kv_heads} key/value heads",
                self.tp
            ));
        }
        if self.pp > model.layers {
            return bad(format!(
                "pp={} exceeds the {} layers of {}",
                self.pp, model.layers, model.name
            ));
        }
        match model.moe {
            None if self.ep > 1 => {
                return bad(format!(
                    "ep={} but {} has no experts; use ep=1",
                    self.ep, model.name
                ));
            }
            Some(m) if self.ep > m.experts => {
                return bad(format!(
                    "ep={} is larger than the {} routed experts of {}",
                    self.ep, m.experts, model.name
                ));
            }
            _ => {}
        }
        if (self.dp * self.tp) % self.ep != 0 {
            return bad(format!(
                "ep={} must divide dp x tp = {} (expert groups are carved from the ranks of one stage)",
                self.ep,
                self.dp * self.tp
            ));
        }
        Ok(unit)
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "dp={},tp={},pp={},ep={}",
            self.dp, self.tp, self.pp, self.ep
        )?;
        if let Some(m) = self.micro_batches {
            write!(f, ",mb={m}")?;
        }
        if self.zero > 0 {
            write!(f, ",zero={}", self.zero)?;
        }
        if self.recompute {
            write!(f, ",recompute")?;
        }
        if self.sp {
            write!(f, ",sp")?;
        }
        if self.grad_add {
            write!(f, ",grad_add")?;
        }
        Ok(())
    }
}

/// What the cluster is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Workload {
    /// One training step: forward, backward and optimizer over `batch` sequences of `seq` tokens.
    Train { batch: usize, seq: usize },
    /// A prefill of `batch` prompts of `prompt` tokens.
    Prefill { batch: usize, prompt: usize },
    /// One decode step: one new token for each of `batch` sequences with `kv` cached tokens.
    Decode {
        batch: usize,
        kv: usize,
        /// Multi-token prediction: speculative tokens drafted per step and verified with it.
        mtp: Option<Mtp>,
    },
}

/// Multi-token prediction in decode: an MTP head drafts `k` tokens per sequence and step, the model
/// verifies them with the next token (so each step processes `1 + k` tokens per sequence), and draft
/// `i` survives only if it and every draft before it is accepted, each with probability `accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Mtp {
    pub k: usize,
    /// The acceptance probability in thousandths (an integer, so that workloads stay hashable).
    pub accept_permille: u16,
}

impl Mtp {
    /// `k` drafts (1 to 8) accepted with probability `accept` (0 to 1) each.
    pub fn new(k: usize, accept: f64) -> Result<Mtp> {
        if !(1..=8).contains(&k) {
            return Err(Error::Usage(format!(
                "--mtp {k}: the MTP head drafts 1 to 8 tokens per step"
            )));
        }
        if !(accept.is_finite() && (0.0..=1.0).contains(&accept)) {
            return Err(Error::Usage(format!(
                "--mtp-accept {accept}: a probability from 0 to 1"
            )));
        }
        Ok(Mtp {
            k,
            accept_permille: (accept * 1000.0).round() as u16,
        })
    }

    pub fn accept(&self) -> f64 {
        f64::from(self.accept_permille) / 1000.0
    }

    /// Tokens each sequence gains per step: the verified token plus the expected accepted drafts
    /// (`1 + p + p^2 + ... + p^k`).
    pub fn tokens_per_step(&self) -> f64 {
        let p = self.accept();
        1.0 + (1..=self.k).map(|i| p.powi(i as i32)).sum::<f64>()
    }
}

impl Workload {
    pub fn name(&self) -> &'static str {
        match self {
            Workload::Train { .. } => "train",
            Workload::Prefill { .. } => "prefill",
            Workload::Decode { .. } => "decode",
        }
    }

    pub fn batch(&self) -> usize {
        match *self {
            Workload::Train { batch, .. }
            | Workload::Prefill { batch, .. }
            | Workload::Decode { batch, .. } => batch,
        }
    }

    /// New tokens per sequence (the query length) and the attention context length.
    pub fn lengths(&self) -> (usize, usize) {
        match *self {
            Workload::Train { seq, .. } => (seq, seq),
            Workload::Prefill { prompt, .. } => (prompt, prompt),
            Workload::Decode { kv, mtp, .. } => {
                let q = 1 + mtp.map_or(0, |m| m.k);
                (q, kv.saturating_add(q))
            }
        }
    }

    /// Tokens the step processes (for tokens per second).
    pub fn tokens(&self) -> usize {
        self.batch() * self.lengths().0
    }

    /// Tokens the step yields: those it processes, except that a decode step with multi-token
    /// prediction yields its expected accepted tokens (for tokens per second and per joule).
    pub fn output_tokens(&self) -> f64 {
        match *self {
            Workload::Decode {
                batch,
                mtp: Some(m),
                ..
            } => batch as f64 * m.tokens_per_step(),
            _ => self.tokens() as f64,
        }
    }

    /// The MTP head's runs per step (its drafts), 0 without multi-token prediction.
    pub fn mtp_layers(&self) -> usize {
        match *self {
            Workload::Decode { mtp: Some(m), .. } => m.k,
            _ => 0,
        }
    }

    pub fn is_train(&self) -> bool {
        matches!(self, Workload::Train { .. })
    }

    /// Checks the sizes alone, whatever the plan: at least 1, and within the bounds below.
    pub fn check_sizes(&self) -> Result<()> {
        let (q, ctx) = self.lengths();
        if self.batch() == 0 || q == 0 || ctx == 0 {
            return Err(Error::Invalid(format!(
                "{}: batch and lengths must be at least 1",
                self.name()
            )));
        }
        // Far above any published step (DeepSeek-V3 decode: 12288 sequences x 4096 cached tokens), and low
        // enough that tokens x widths x layers stays inside 64 bits in the step model.
        const MAX_LEN: usize = 1 << 24;
        const MAX_TOKENS: usize = 1 << 32;
        if self.batch() > MAX_LEN || q > MAX_LEN || ctx > MAX_LEN {
            return Err(Error::Invalid(format!(
                "{}: batch {}, new tokens {q}, context {ctx}: each may be at most {MAX_LEN}",
                self.name(),
                self.batch()
            )));
        }
        if self.batch().saturating_mul(ctx) > MAX_TOKENS {
            return Err(Error::Invalid(format!(
                "{}: {} sequences of {ctx} tokens is more than {MAX_TOKENS} tokens in one step",
                self.name(),
                self.batch()
            )));
        }
        Ok(())
    }

    pub fn check(&self, model: &ModelSpec, plan: &Plan) -> Result<()> {
        self.check_sizes()?;
        if self.batch() < plan.dp {
            return Err(Error::Invalid(format!(
                "{}: a batch of {} sequences cannot feed dp={} replicas; give --batch of at least {}",
                self.name(),
                self.batch(),
                plan.dp,
                plan.dp
            )));
        }
        if matches!(self, Workload::Decode { .. }) && model.arch == super::models::Arch::Encoder {
            return Err(Error::Invalid(format!(
                "decode: {} is an encoder and generates no tokens; use prefill (a forward pass) or train",
                model.name
            )));
        }
        Ok(())
    }

    /// Sequences per data-parallel replica (the busiest one), micro-batches, and sequences per micro-batch.
    /// Defaults: training uses micro-batches of one sequence (gradient accumulation); inference splits the
    /// replica's sequences into `pp` micro-batches to keep the pipeline busy.
    pub fn micro(&self, plan: &Plan) -> (usize, usize, usize) {
        let local = self.batch().div_ceil(plan.dp);
        let m = plan
            .micro_batches
            .unwrap_or(if self.is_train() { local } else { plan.pp })
            .clamp(1, local);
        (local, m, local.div_ceil(m))
    }
}

#[cfg(test)]
mod mtp_tests {
    use super::*;

    #[test]
    fn mtp_yields_the_expected_accepted_tokens_and_refuses_bad_values() {
        let m = Mtp::new(2, 0.5).unwrap();
        assert!((m.tokens_per_step() - 1.75).abs() < 1e-12);
        let w = Workload::Decode {
            batch: 4,
            kv: 10,
            mtp: Some(m),
        };
        assert_eq!(w.lengths(), (3, 13));
        assert!((w.output_tokens() - 7.0).abs() < 1e-12);
        assert_eq!(w.mtp_layers(), 2);
        assert!(Mtp::new(0, 0.5).is_err() && Mtp::new(9, 0.5).is_err());
        assert!(Mtp::new(1, -0.1).is_err() && Mtp::new(1, f64::NAN).is_err());
    }
}
