//! Whole-step predictions: counting devices, data-parallel weak scaling, MFU bounds, the HBM check, the
//! pipeline bubble, and the trace.

use davinci::cluster::sweep::{candidates, sweep};
use davinci::cluster::trace::chrome_trace;
use davinci::cluster::{ClusterSpec, ModelSpec, Plan, RankUnit, Workload, predict_step};

fn cm384() -> ClusterSpec {
    ClusterSpec::preset("cloudmatrix384").unwrap()
}

fn nodes(n: usize) -> ClusterSpec {
    ClusterSpec::from_toml(
        &format!("name = \"cm{n}\"\nbase = \"cloudmatrix384\"\nnodes = {n}\n"),
        "test",
    )
    .unwrap()
}

#[test]
fn data_parallel_weak_scaling_keeps_compute_per_chip_constant() {
    let m = ModelSpec::preset("llama3-8b").unwrap();
    let mut base = None;
    for n in [1, 2, 4, 8, 48] {
        let c = nodes(n);
        let dp = c.chips();
        let w = Workload::Train {
            batch: 2 * dp,
            seq: 2048,
        };
        let p = predict_step(&m, &c, &Plan::parse(&format!("dp={dp}")).unwrap(), &w).unwrap();
        let r = &p.roles[0];
        assert_eq!(r.devices, dp);
        let per_chip = (r.fwd_compute + r.bwd_compute, r.flops, p.compute);
        match base {
            None => base = Some(per_chip),
            Some(b) => assert_eq!(per_chip, b, "{dp} chips"),
        }
        // Only the gradient all-reduce grows with the replicas, and the step never gets shorter.
        assert!(p.step.0 >= p.compute.0);
        assert!(p.mfu > 0.0 && p.mfu <= 1.0);
    }
}

#[test]
fn mfu_never_exceeds_one_and_the_breakdown_adds_up() {
    let cm = cm384();
    let a2 = ClusterSpec::preset("atlas800-a2").unwrap();
    for (model, cluster, w) in [
        (
            "llama3-8b",
            &a2,
            Workload::Train {
                batch: 64,
                seq: 2048,
            },
        ),
        (
            "llama3-70b",
            &cm,
            Workload::Prefill {
                batch: 384,
                prompt: 2048,
            },
        ),
        (
            "deepseek-v3",
            &cm,
            Workload::Decode {
                batch: 768 * 8,
                kv: 2048,
                mtp: None,
            },
        ),
        (
            "minilm",
            &a2,
            Workload::Prefill {
                batch: 64,
                prompt: 128,
            },
        ),
    ] {
        let m = ModelSpec::preset(model).unwrap();
        let plans = candidates(&m, cluster, &w);
        assert!(!plans.is_empty(), "{model}");
        let step = plans.len().div_ceil(60);
        for p in plans.iter().step_by(step) {
            let r = predict_step(&m, cluster, p, &w).unwrap();
            assert!(r.mfu > 0.0 && r.mfu <= 1.0, "{model} {p}: MFU {}", r.mfu);
            let parts = r.compute.0 + r.comm.0 + r.bubble.0;
            assert!(
                (parts / r.step.0 - 1.0).abs() < 1e-9,
                "{model} {p}: {parts} vs {}",
                r.step.0
            );
            let devices: usize = r.roles.iter().map(|x| x.devices).sum();
            assert_eq!(devices, p.ranks());
            assert!(
                r.tokens_per_s_per_chip * r.chips as f64 - r.tokens_per_s < 1e-6 * r.tokens_per_s
            );
        }
    }
}

#[test]
fn a_plan_that_needs_more_than_64_gb_per_die_is_flagged() {
    let a2 = ClusterSpec::preset("atlas800-a2").unwrap();
    let w = Workload::Train {
        batch: 8,
        seq: 2048,
    };
    // LLaMA-3 70B replicated on 8 chips: 16 bytes per parameter is over 1 TB per chip.
    let m = ModelSpec::preset("llama3-70b").unwrap();
    let r = predict_step(&m, &a2, &Plan::parse("dp=8").unwrap(), &w).unwrap();
    assert!(!r.fits);
    assert!(r.roles[0].memory.per_die.0 > 64.0 * (1u64 << 30) as f64);
    assert!(
        r.warnings[0].contains("does not fit") && r.warnings[0].contains("per die"),
        "{:?}",
        r.warnings
    );
    // The flag is exactly "per die over the die's HBM": check it over a sweep of DeepSeek-V3 decode plans.
    let cm = cm384();
    let ds = ModelSpec::preset("deepseek-v3").unwrap();
    let w = Workload::Decode {
        batch: 768 * 16,
        kv: 4096,
        mtp: None,
    };
    let die = 64.0 * (1u64 << 30) as f64;
    let (mut fit, mut not) = (0, 0);
    for p in candidates(&ds, &cm, &w).iter().step_by(7) {
        let r = predict_step(&ds, &cm, p, &w).unwrap();
        let over = r.roles.iter().any(|x| x.memory.per_die.0 > die);
        assert_eq!(r.fits, !over, "{p}");
        if r.fits {
            fit += 1
        } else {
            not += 1
        }
        // A rank of a chip spreads its bytes over both dies.
        if r.unit == RankUnit::Chip {
            let m = &r.roles[0].memory;
            assert!((m.per_die.0 * 2.0 / m.total.0 - 1.0).abs() < 1e-12);
        }
    }
    assert!(fit > 0 && not > 0, "{fit} fit, {not} do not");
}

#[test]
fn deepseek_v3_on_cloudmatrix384() {
    let cm = cm384();
    let ds = ModelSpec::preset("deepseek-v3").unwrap();
    let w = Workload::Train {
        batch: 1536,
        seq: 4096,
    };
    let p = Plan::parse("dp=96,tp=4,pp=2,ep=64,zero=1,recompute").unwrap();
    let r = predict_step(&ds, &cm, &p, &w).unwrap();
    // 768 ranks: a rank per die. Two pipeline stages hold different layers: two roles, each timed once,
    // 384 dies each.
    assert_eq!(r.unit, RankUnit::Die);
    assert_eq!(r.roles.len(), 2);
    assert!(r.roles.iter().all(|x| x.devices == 384));
    assert!(r.roles[0].embed && r.roles[1].head);
    assert!(r.bubble.0 > 0.0 && r.comm.0 > 0.0);
    // Far fewer distinct kernels than ranks x layers: identical work is counted, not re-simulated.
    assert!(r.kernels_timed < 60, "{}", r.kernels_timed);
    assert!(r.mfu > 0.05 && r.mfu < 0.8, "{}", r.mfu);
    eprintln!(
        "deepseek-v3 train {p}: step {:.2} s, MFU {:.3}, {:.0} tokens/s ({:.0} per chip), {:.1} GB per chip, {:.2} J/token",
        r.step.secs(),
        r.mfu,
        r.tokens_per_s,
        r.tokens_per_s_per_chip,
        r.hbm_per_chip.0 / 1e9,
        r.energy_per_token.0
    );
    // Decode: a rank per die, experts spread over 256 dies.
    let w = Workload::Decode {
        batch: 768 * 32,
        kv: 4096,
        mtp: None,
    };
    let r = predict_step(&ds, &cm, &Plan::parse("dp=768,ep=256").unwrap(), &w).unwrap();
    assert_eq!(r.unit, RankUnit::Die);
    let moe = r.moe.as_ref().unwrap();
    assert!(
        moe.steps
            .iter()
            .any(|(l, _, c)| *l == "moe dispatch" && c.is_some())
    );
    assert!(r.fits, "{:?}", r.warnings);
    eprintln!(
        "deepseek-v3 decode dp=768,ep=256 batch {}: step {:.2} ms, MFU {:.3}, {:.0} tokens/s per chip",
        w.batch(),
        r.step.millis(),
        r.mfu,
        r.tokens_per_s_per_chip
    );
}

#[test]
fn more_micro_batches_shrink_the_bubble_share() {
    let cm = nodes(4);
    let m = ModelSpec::preset("llama3-70b").unwrap();
    let w = Workload::Train {
        batch: 64,
        seq: 2048,
    };
    let share = |mb: usize| {
        let r = predict_step(
            &m,
            &cm,
            &Plan::parse(&format!("dp=2,tp=4,pp=4,mb={mb}")).unwrap(),
            &w,
        )
        .unwrap();
        r.bubble.0 / r.step.0
    };
    let (a, b) = (share(4), share(32));
    assert!(b < a, "{a} -> {b}");
    let r = predict_step(&m, &cm, &Plan::parse("dp=8,tp=4").unwrap(), &w).unwrap();
    assert_eq!(r.bubble.0, 0.0);
}

#[test]
fn the_sweep_ranks_plans_that_fit() {
    let a2 = ClusterSpec::preset("atlas800-a2").unwrap();
    let m = ModelSpec::preset("llama3-8b").unwrap();
    let w = Workload::Train {
        batch: 64,
        seq: 4096,
    };
    let plans = candidates(&m, &a2, &w);
    let mut calls = 0;
    let (ranked, rejected) = sweep(&m, &a2, &w, &plans, &mut |_, _| calls += 1).unwrap();
    assert_eq!(calls, plans.len());
    assert_eq!(ranked.len() + rejected.len(), plans.len());
    assert!(!ranked.is_empty() && !rejected.is_empty() && rejected.iter().all(|p| !p.fits));
    assert!(
        ranked
            .windows(2)
            .all(|p| p[0].tokens_per_s >= p[1].tokens_per_s)
    );
    assert!(ranked.iter().all(|p| p.fits));
}

#[test]
fn the_trace_has_a_track_per_role_with_the_collectives() {
    let cm = cm384();
    let ds = ModelSpec::preset("deepseek-v3").unwrap();
    let w = Workload::Train {
        batch: 384,
        seq: 1024,
    };
    let r = predict_step(
        &ds,
        &cm,
        &Plan::parse("dp=48,tp=2,pp=4,ep=32,recompute,zero=1").unwrap(),
        &w,
    )
    .unwrap();
    assert_eq!(
        r.roles.len(),
        3,
        "{:?}",
        r.roles.iter().map(|x| &x.name).collect::<Vec<_>>()
    );
    let t = chrome_trace(&r);
    let ev = t.as_array().unwrap();
    for (pid, role) in r.roles.iter().enumerate() {
        assert!(ev.iter().any(|e| e["ph"] == "M"
            && e["pid"] == pid
            && e["name"] == "process_name"
            && e["args"]["name"].as_str().unwrap().starts_with(&role.name)));
    }
    for name in [
        "moe dispatch",
        "moe combine",
        "tp all-reduce (attn)",
        "gradient all-reduce (dp)",
    ] {
        assert!(
            ev.iter().any(|e| e["name"] == name && e["tid"] == 1),
            "{name}"
        );
    }
    assert!(
        ev.iter()
            .all(|e| e["dur"].as_f64().unwrap() >= 0.0 && e["ts"].as_f64().unwrap() >= 0.0)
    );
    let end = ev
        .iter()
        .map(|e| e["ts"].as_f64().unwrap() + e["dur"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        end <= r.step.0 / 1e3 * 1.0001,
        "{end} us > {} us",
        r.step.0 / 1e3
    );
}
