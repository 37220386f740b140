//! The plan search: every plan that the model and cluster allow (data, tensor, pipeline and expert parallel
//! degrees, a rank per chip or per die; for training also recompute and ZeRO stage 1, and sequence
//! parallelism wherever tp > 1), predicted with shared
//! kernel timers, the ones that fit in HBM ranked by tokens per second.

use super::models::ModelSpec;
use super::plan::{Plan, Workload};
use super::step::{StepPrediction, Timers, predict_step_with};
use super::topology::ClusterSpec;
use crate::Result;

fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|d| n % d == 0).collect()
}

/// Every plan that passes the checks of [`Plan::check`] and [`Workload::check`].
pub fn candidates(model: &ModelSpec, cluster: &ClusterSpec, w: &Workload) -> Vec<Plan> {
    let mut out = Vec::new();
    let mut counts = vec![cluster.chips()];
    if cluster.dies() != cluster.chips() {
        counts.push(cluster.dies());
    }
    let options: &[(bool, u8)] = if w.is_train() {
        &[(false, 0), (false, 1), (true, 0), (true, 1)]
    } else {
        &[(false, 0)]
    };
    for ranks in counts {
        for tp in divisors(ranks) {
            for pp in divisors(ranks / tp) {
                let dp = ranks / tp / pp;
                let eps = match model.moe {
                    Some(_) => divisors(dp * tp),
                    None => vec![1],
                };
                for ep in eps {
                    for &(recompute, zero) in options {
                        let p = Plan {
                            dp,
                            tp,
                            pp,
                            ep,
                            micro_batches: None,
                            recompute,
                            zero,
                            // Sequence parallelism costs nothing and saves activation memory wherever
                            // there is tensor parallelism to train with (Megatron's recommendation).
                            sp: tp > 1 && w.is_train(),
                            grad_add: false,
                        };
                        if p.check(model, cluster).is_ok() && w.check(model, &p).is_ok() {
                            out.push(p);
                        }
                    }
                }
            }
        }
    }
    out
}

/// Predicts `plans` (calling `progress(done, total)` after each) and returns the ones that fit, fastest
/// (most tokens per second) first, and the ones that do not fit (for plots of the whole space).
pub fn sweep(
    model: &ModelSpec,
    cluster: &ClusterSpec,
    w: &Workload,
    plans: &[Plan],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<StepPrediction>, Vec<StepPrediction>)> {
    let mut timers = Timers::default();
    let mut fit = Vec::new();
    let mut rejected = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let pred = predict_step_with(&mut timers, model, cluster, p, w)?;
        if pred.fits {
            fit.push(pred);
        } else {
            rejected.push(pred);
        }
        progress(i + 1, plans.len());
    }
    fit.sort_by(|a, b| b.tokens_per_s.total_cmp(&a.tokens_per_s));
    Ok((fit, rejected))
}
