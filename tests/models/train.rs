//! Training as a user runs it: GPU = CPU bit for bit for whole training steps (forward, every backward
//! rule, the optimizer), the demo's loss falling and reproducible to the bit, loss scaling, SGD, the step's
//! timing, and clear errors for bad input.

use crate::common;
use davinci::exec::Executor;
use davinci::train::demo::{DemoConfig, predict_step, train};
use davinci::train::tiny::TinyConfig;
use davinci::train::{AdamW, Optimizer, Params, Sgd, Tape, Trainer};
use davinci::{CpuExecutor, DType, Tensor};

/// A small decoder whose step uses every backward rule the model has.
fn small_decoder() -> TinyConfig {
    TinyConfig {
        vocab: 11,
        hidden: 32,
        heads: 4,
        kv_heads: 2,
        ffn: 48,
        copy_len: 5,
        batch: 2,
        ..TinyConfig::default()
    }
}

/// A small decoder step (every backward rule the model uses) in `dt`, all outputs of both executors.
fn step_outputs_agree(dt: DType, gpu: &dyn Executor) {
    let c = small_decoder();
    let trainer = Trainer::new(c.init(5).unwrap(), AdamW::new(1e-3).unwrap(), dt).keep_grads(true);
    let (tokens, targets) = c.batch_at(9, 0);
    let tape = trainer.record(|t| c.loss(t, &tokens, &targets)).unwrap();
    let g = tape.graph.run(gpu).unwrap();
    let cpu = tape.graph.run(&CpuExecutor).unwrap();
    assert_eq!(g.len(), cpu.len());
    for ((name, a), (_, b)) in g.iter().zip(&cpu) {
        assert!(
            common::bits_equal_named(name, a, b),
            "{dt}: {name}: GPU and CPU differ"
        );
    }
}

/// The parameters of a small decoder step under `opt`, and the lengths of the elementwise chains the
/// executors fuse in its recorded program.
fn chains_of(opt: impl Optimizer + 'static) -> (usize, Vec<usize>) {
    let c = small_decoder();
    let (tokens, targets) = c.batch_at(9, 0);
    let trainer = Trainer::new(c.init(5).unwrap(), opt, DType::Bf16);
    let tape = trainer.record(|t| c.loss(t, &tokens, &targets)).unwrap();
    let plans = CpuExecutor.fused_chains(&tape.graph.program);
    (
        trainer.params().len(),
        plans.iter().map(|p| p.len).collect(),
    )
}

#[test]
fn each_parameters_optimizer_update_runs_as_fused_chains() {
    // AdamW per parameter: m's two ops, v's three, and sqrt, + eps, /, * step as one chain each.
    let (params, lens) = chains_of(AdamW::new(1e-3).unwrap());
    let count = |lens: &[usize], n: usize| lens.iter().filter(|&&l| l == n).count();
    let (threes, fours) = (count(&lens, 3), count(&lens, 4));
    assert!(
        threes >= params && fours >= params,
        "adamw: {threes} chains of 3 and {fours} of 4 for {params} parameters: {lens:?}"
    );
    // SGD with weight decay: the decay into the momentum's sum (three), the update (two).
    let (params, lens) = chains_of(Sgd::new(0.1, 0.9, 1e-4).unwrap());
    let threes = count(&lens, 3);
    assert!(
        threes >= params,
        "sgd: {threes} chains of 3 for {params} parameters: {lens:?}"
    );
}

#[test]
fn training_steps_are_bit_identical_on_gpu_and_cpu() {
    let Some(gpu) = common::gpu() else { return };
    step_outputs_agree(DType::Bf16, &gpu);
    step_outputs_agree(DType::F32, &gpu);
}

#[test]
fn demo_loss_curves_are_identical_on_both_executors() {
    let Some(gpu) = common::gpu() else { return };
    let cfg = DemoConfig {
        steps: 2,
        ..DemoConfig::default()
    };
    let g = train(&cfg, &gpu, &mut davinci::progress::Silent).unwrap();
    let c = train(&cfg, &CpuExecutor, &mut davinci::progress::Silent).unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&g.losses),
        bits(&c.losses),
        "gpu {:?} cpu {:?}",
        g.losses,
        c.losses
    );
}

#[test]
fn demo_learns_and_repeats_to_the_bit() {
    let cfg = DemoConfig::default();
    let a = train(&cfg, &CpuExecutor, &mut davinci::progress::Silent).unwrap();
    let (first, last) = (a.losses[0], *a.losses.last().unwrap());
    eprintln!(
        "demo on the CPU: loss {first} -> {last} in {} steps",
        cfg.steps
    );
    assert!(
        first > 2.5 && last < 0.3,
        "loss {first} -> {last}: {:?}",
        a.losses
    );
    // The same seed on the same executor: the same curve, bit for bit (first steps again).
    let b = train(
        &DemoConfig { steps: 4, ..cfg },
        &CpuExecutor,
        &mut davinci::progress::Silent,
    )
    .unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&b.losses), bits(&a.losses[..4]));
    // Another seed, another curve.
    let c = train(
        &DemoConfig {
            steps: 1,
            seed: 1,
            ..cfg
        },
        &CpuExecutor,
        &mut davinci::progress::Silent,
    )
    .unwrap();
    assert_ne!(c.losses[0].to_bits(), a.losses[0].to_bits());
}

fn tiny() -> (TinyConfig, Params) {
    let c = TinyConfig {
        vocab: 7,
        hidden: 16,
        heads: 2,
        kv_heads: 1,
        ffn: 24,
        copy_len: 3,
        batch: 2,
        ..TinyConfig::default()
    };
    let p = c.init(2).unwrap();
    (c, p)
}

#[test]
fn sgd_and_loss_scaling_train() {
    let (c, p) = tiny();
    let (tokens, targets) = c.batch_at(4, 0);
    let mut sgd = Trainer::new(p.clone(), Sgd::new(0.2, 0.9, 1e-4).unwrap(), DType::Bf16);
    let losses: Vec<f32> = (0..8)
        .map(|_| {
            sgd.step(&CpuExecutor, |t| c.loss(t, &tokens, &targets))
                .unwrap()
                .loss
        })
        .collect();
    assert!(losses[7] < 0.8 * losses[0], "sgd on one batch: {losses:?}");

    // A power-of-two scale changes no bit of the (unscaled) gradients when nothing overflows or underflows.
    let mut plain =
        Trainer::new(p.clone(), AdamW::new(1e-2).unwrap(), DType::Bf16).keep_grads(true);
    let mut scaled = Trainer::new(p.clone(), AdamW::new(1e-2).unwrap(), DType::Bf16)
        .keep_grads(true)
        .with_loss_scale(1024.0, 100)
        .unwrap();
    let a = plain
        .step(&CpuExecutor, |t| c.loss(t, &tokens, &targets))
        .unwrap();
    let b = scaled
        .step(&CpuExecutor, |t| c.loss(t, &tokens, &targets))
        .unwrap();
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    assert_eq!(b.loss_scale, Some(1024.0));
    for ((n, x), (_, y)) in a.grads.iter().zip(&b.grads) {
        let err = x
            .to_f32_vec()
            .iter()
            .zip(y.to_f32_vec())
            .fold(0f32, |m, (u, v)| m.max((u - v).abs()));
        let scale = x.to_f32_vec().iter().fold(0f32, |m, u| m.max(u.abs()));
        assert!(
            err <= 1e-2 * scale,
            "{n}: scaled gradients differ by {err} (max {scale})"
        );
    }
    // Gradients that overflow under the scale: the step is skipped, the weights kept, the scale halved.
    let mut q = Params::new();
    q.add("w", Tensor::from_f32([2], vec![1.0, 2.0]).unwrap())
        .unwrap();
    let mut huge = Trainer::new(q.clone(), Sgd::new(0.1, 0.0, 0.0).unwrap(), DType::F32)
        .with_loss_scale(65536.0, 10)
        .unwrap();
    let loss = |t: &mut Tape| {
        let w = t.param("w")?;
        let x = t.input("x", Tensor::from_f32([2], vec![1e38, 1.0])?);
        let p = &mut t.graph.program;
        let y = p.binary(davinci::BinaryFn::Mul, w, x, DType::F32)?;
        let y = p.reshape(y, [1, 2])?;
        p.reduce(davinci::ReduceFn::Sum, y, DType::F32)
    };
    let r = huge.step(&CpuExecutor, loss).unwrap();
    assert!(
        r.skipped && !r.grad_norm.is_finite() && r.loss.is_finite(),
        "{r:?}"
    );
    assert_eq!(huge.steps_done(), 0);
    assert_eq!(huge.params(), &q);
    let r = huge.step(&CpuExecutor, loss).unwrap();
    assert_eq!(r.loss_scale, Some(32768.0));
}

#[test]
fn a_training_step_is_timed_on_a_chip_and_a_cluster() {
    let cfg = DemoConfig::default();
    let tape = cfg.step_tape().unwrap();
    let forward_only = {
        let mut t = Tape::with_params(&cfg.model.init(0).unwrap(), DType::Bf16);
        let (tokens, targets) = cfg.model.batch_at(0, 0);
        cfg.model.loss(&mut t, &tokens, &targets).unwrap();
        t.program().ops().len()
    };
    assert!(tape.program().ops().len() > 3 * forward_only);
    let t = predict_step(&cfg, "910c", Some("cloudmatrix384")).unwrap();
    assert!(t.chip.total.0 > 0.0 && t.chip.flops.0 > 6.0 * 2.5e5 * 128.0);
    let c = t.cluster.unwrap();
    assert_eq!(c.chips, 384);
    assert!(c.step_ns > t.chip.total.0 && c.all_reduce_ns > 0.0);
}

#[test]
fn bad_input_gets_clear_errors() {
    let (c, p) = tiny();
    let (tokens, targets) = c.batch_at(4, 0);
    // A gradient asked of a tensor that does not require one.
    let mut tape = Tape::with_params(&p, DType::F32);
    let data = tape.input("data", Tensor::from_f32([2], vec![1.0, 2.0]).unwrap());
    let loss = c.loss(&mut tape, &tokens, &targets).unwrap();
    let grads = tape.backward(loss).unwrap();
    let e = grads.get(data).unwrap_err().to_string();
    assert!(
        e.contains("'data'") && e.contains("does not require"),
        "{e}"
    );
    assert!(grads.param("nope").is_err());
    assert!(
        tape.backward(loss)
            .unwrap_err()
            .to_string()
            .contains("already")
    );
    // A loss of many elements, a loss that depends on nothing trainable.
    let mut tape = Tape::with_params(&p, DType::F32);
    let logits = c.forward(&mut tape, &tokens).unwrap();
    assert!(
        tape.backward(logits)
            .unwrap_err()
            .to_string()
            .contains("one element")
    );
    let mut tape = Tape::with_params(&p, DType::F32);
    let x = tape.input("x", Tensor::from_f32([1], vec![1.0]).unwrap());
    let y = tape
        .graph
        .program
        .unary(davinci::UnaryFn::Exp, x, DType::F32)
        .unwrap();
    assert!(
        tape.backward(y)
            .unwrap_err()
            .to_string()
            .contains("does not depend")
    );

    // Mismatched parameter and gradient shapes.
    let mut trainer = Trainer::new(p.clone(), AdamW::new(1e-3).unwrap(), DType::Bf16);
    let mut grads: Vec<(&str, Tensor)> = p.iter().map(|(n, t)| (n, t.clone())).collect();
    grads[1].1 = Tensor::from_f32([3], vec![0.0; 3]).unwrap();
    let e = trainer
        .apply_gradients(&CpuExecutor, &grads)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the gradient of 'l0.attn_norm' is [3] but the parameter is [16]"),
        "{e}"
    );
    let mut tape = Tape::with_params(&p, DType::F32);
    let (m, g) = (tape.master("embed").unwrap(), tape.master("l0.q").unwrap());
    let st: Vec<_> = (0..2)
        .map(|i| tape.input(format!("s{i}"), p.get("embed").unwrap().clone()))
        .collect();
    let e = AdamW::new(1e-3)
        .unwrap()
        .record(&mut tape, 1, m, g, &st)
        .unwrap_err()
        .to_string();
    assert!(e.contains("has shape") && e.contains("embed"), "{e}");
    // Gradients that do apply: the step counts.
    let ok: Vec<(&str, Tensor)> = p.iter().map(|(n, t)| (n, t.clone())).collect();
    trainer.apply_gradients(&CpuExecutor, &ok).unwrap();
    assert_eq!(trainer.steps_done(), 1);

    // A learning rate that is NaN (or infinite, or negative).
    for lr in [f32::NAN, f32::INFINITY, -1.0] {
        let e = AdamW::new(lr).unwrap_err().to_string();
        assert!(
            e.contains("learning rate") && e.contains(&lr.to_string()),
            "{e}"
        );
        assert!(Sgd::new(lr, 0.9, 0.0).is_err());
    }
    let mut opt = AdamW::new(1e-3).unwrap();
    assert!(opt.set_learning_rate(f32::NAN).is_err());
    assert_eq!(opt.learning_rate(), 1e-3);
    assert!(AdamW::with(1e-3, 1.0, 0.999, 1e-8, 0.0).is_err());
    // Parameters: duplicates, unknown names, a shape change.
    let mut q = Params::new();
    q.add("w", Tensor::from_f32([2], vec![1.0, 2.0]).unwrap())
        .unwrap();
    assert!(
        q.add("w", Tensor::from_f32([2], vec![1.0, 2.0]).unwrap())
            .is_err()
    );
    assert!(q.get("v").unwrap_err().to_string().contains("known: w"));
    assert!(
        q.set("w", Tensor::from_f32([3], vec![0.0; 3]).unwrap())
            .is_err()
    );
    assert!(Tape::with_params(&q, DType::Bf16).param("v").is_err());
}
