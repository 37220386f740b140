//! Every backward rule of `davinci::train` against central finite differences of an f64 evaluation of the
//! forward program (small shapes; gradients recorded on an f32 tape and run on the CPU twin): the Cube's
//! matmul in every transpose and batch layout with every fused epilogue, the Vector ops, norms, softmax,
//! data movement, rotary embedding, embedding lookup, cross-entropy, attention and a whole decoder.

use crate::train_common;
use davinci::model::{Attention, AttentionMask, Linear, rope_tables};
use davinci::program::Epilogue;
use davinci::train::Tape;
use davinci::train::cross_entropy;
use davinci::train::tiny::TinyConfig;
use davinci::{Activation, BinaryFn, DType, MatmulOptions, ReduceFn, Tensor, UnaryFn};
use train_common::{check_grads, check_tape, rand};

const F32: DType = DType::F32;

#[test]
fn matmul_grads_in_every_layout() {
    for ta in [false, true] {
        for tb in [false, true] {
            // (A batched, B batched)
            for (ba, bb) in [(false, false), (true, true), (true, false), (false, true)] {
                let (m, k, n, bt) = (3, 5, 4, 2);
                let sa: Vec<usize> = if ta { vec![k, m] } else { vec![m, k] };
                let sb: Vec<usize> = if tb { vec![n, k] } else { vec![k, n] };
                let sa = if ba { [vec![bt], sa].concat() } else { sa };
                let sb = if bb { [vec![bt], sb].concat() } else { sb };
                let opts = MatmulOptions {
                    trans_a: ta,
                    trans_b: tb,
                    dtype_out: F32,
                    ..Default::default()
                };
                let what = format!("matmul ta={ta} tb={tb} batched=({ba},{bb})");
                check_grads(
                    &what,
                    &[rand(1, &sa, 1.0), rand(2, &sb, 1.0)],
                    &[true, true],
                    |t, ids| t.graph.program.cube_matmul(ids[0], ids[1], opts),
                );
            }
        }
    }
}

#[test]
fn fused_epilogue_grads() {
    for act in Activation::ALL {
        if act == Activation::Relu {
            continue; // below, with inputs kept away from the kink
        }
        let ins = [
            rand(3, &[5, 7], 1.0),
            rand(4, &[6, 7], 0.5),
            rand(5, &[6], 0.5),
            rand(6, &[5, 6], 1.0),
        ];
        check_grads(
            &format!("linear {}", act.name()),
            &ins,
            &[true, true, true, true],
            |t, ids| {
                let opts = MatmulOptions {
                    trans_b: true,
                    dtype_out: F32,
                    ..Default::default()
                };
                let e = Epilogue {
                    scale: Some(0.7),
                    bias: Some(ids[2]),
                    activation: act,
                    residual: Some(ids[3]),
                };
                t.graph.program.cube_matmul_fused(ids[0], ids[1], opts, e)
            },
        );
    }
    // ReLU: a bias far from zero keeps every pre-activation off the kink.
    let bias = Tensor::from_f32([4], vec![3.0, -3.0, 2.5, -2.5]).unwrap();
    let ins = [rand(7, &[3, 4], 0.3), rand(8, &[4, 4], 0.3), bias];
    check_grads("linear relu", &ins, &[true, true, true], |t, ids| {
        t.graph.program.linear(
            ids[0],
            ids[1],
            Some(ids[2]),
            Activation::Relu,
            MatmulOptions::default(),
        )
    });
}

#[test]
fn unary_grads() {
    let away_from_zero: Vec<f32> = rand(9, &[4, 6], 1.0)
        .to_f32_vec()
        .iter()
        .map(|x| x.signum() * (0.5 + x.abs()))
        .collect();
    let positive: Vec<f32> = away_from_zero.iter().map(|x| x.abs()).collect();
    for f in UnaryFn::ALL {
        let v = match f {
            UnaryFn::Log | UnaryFn::Sqrt | UnaryFn::Rsqrt | UnaryFn::Recip => positive.clone(),
            _ => away_from_zero.iter().map(|x| 1.5 * x).collect(),
        };
        let x = Tensor::from_f32([4, 6], v).unwrap();
        check_grads(f.name(), &[x], &[true], |t, ids| {
            t.graph.program.unary(f, ids[0], F32)
        });
    }
}

#[test]
fn binary_grads_with_broadcasting() {
    let pairs: [(&[usize], &[usize]); 5] = [
        (&[3, 4], &[3, 4]),
        (&[2, 3, 4], &[4]),
        (&[2, 3, 4], &[3, 1]),
        (&[3, 1], &[1, 4]),
        (&[4], &[]),
    ];
    for f in [
        BinaryFn::Add,
        BinaryFn::Sub,
        BinaryFn::Mul,
        BinaryFn::Div,
        BinaryFn::Max,
        BinaryFn::Min,
    ] {
        for (i, (sx, sy)) in pairs.iter().enumerate() {
            let x = rand(10 + i as u64, sx, 2.0);
            // y away from zero (div) and from x (max, min); bf16-grid values make ties unlikely, offsets rule them out.
            let y: Vec<f32> = rand(20 + i as u64, sy, 1.0)
                .to_f32_vec()
                .iter()
                .map(|v| v.signum() * (1.0 + v.abs()) + 0.013)
                .collect();
            let y = Tensor::from_f32(davinci::Shape::new(sy.to_vec()), y).unwrap();
            check_grads(
                &format!("{} {sx:?} {sy:?}", f.name()),
                &[x, y],
                &[true, true],
                |t, ids| t.graph.program.binary(f, ids[0], ids[1], F32),
            );
        }
    }
}

#[test]
fn reduction_softmax_and_norm_grads() {
    for f in [ReduceFn::Sum, ReduceFn::Mean, ReduceFn::SumSq] {
        check_grads(f.name(), &[rand(30, &[3, 7], 1.0)], &[true], |t, ids| {
            t.graph.program.reduce(f, ids[0], F32)
        });
    }
    let ins = [rand(31, &[2, 3, 6], 2.0), rand(32, &[3, 6], 1.0)];
    check_grads("softmax with a mask", &ins, &[true, true], |t, ids| {
        t.graph.program.softmax(ids[0], Some(ids[1]), F32)
    });
    let ins = [
        rand(33, &[4, 8], 2.0),
        rand(34, &[8], 1.0),
        rand(35, &[8], 1.0),
    ];
    check_grads("layernorm", &ins, &[true, true, true], |t, ids| {
        t.graph
            .program
            .layernorm(ids[0], Some(ids[1]), Some(ids[2]), 1e-5, F32)
    });
    check_grads("layernorm bare", &ins[..1], &[true], |t, ids| {
        t.graph.program.layernorm(ids[0], None, None, 1e-5, F32)
    });
    check_grads("rmsnorm", &ins[..2], &[true, true], |t, ids| {
        t.graph.program.rmsnorm(ids[0], Some(ids[1]), 1e-6, F32)
    });
}

#[test]
fn data_movement_rope_embedding_and_loss_grads() {
    check_grads(
        "reshape + permute",
        &[rand(40, &[2, 3, 4], 1.0)],
        &[true],
        |t, ids| {
            let p = &mut t.graph.program;
            let r = p.reshape(ids[0], [3, 2, 4])?;
            p.permute(r, &[2, 0, 1])
        },
    );
    check_grads(
        "gather_rows (repeated ids)",
        &[rand(41, &[5, 3], 1.0)],
        &[true],
        |t, ids| t.graph.program.gather_rows(ids[0], &[4, 0, 4, 2, 4]),
    );
    check_grads(
        "concat (axis 1)",
        &[rand(44, &[2, 3, 2], 1.0), rand(45, &[2, 1, 2], 1.0)],
        &[true, true],
        |t, ids| t.graph.program.concat(ids[0], ids[1], 1),
    );
    let (cos, sin) = rope_tables(3, 4, 100.0, 1).unwrap();
    check_grads(
        "rope",
        &[rand(42, &[2, 3, 2, 4], 1.0), cos, sin],
        &[true, false, false],
        |t, ids| t.graph.program.rope(ids[0], ids[1], ids[2], F32),
    );
    check_grads(
        "cross_entropy",
        &[rand(43, &[4, 6], 3.0)],
        &[true],
        |t, ids| cross_entropy(t, ids[0], &[5, 0, 2, 2]),
    );
}

#[test]
fn attention_grads() {
    let (b, s, h, hk, d) = (1, 3, 2, 1, 4);
    let hid = h * d;
    let ins = [
        rand(50, &[b * s, hid], 1.0),
        rand(51, &[hid, hid], 0.5),
        rand(52, &[hk * d, hid], 0.5),
        rand(53, &[hk * d, hid], 0.5),
        rand(54, &[hid, hid], 0.5),
    ];
    check_grads(
        "attention (causal, GQA, rope)",
        &ins,
        &[true; 5],
        |t, ids| {
            let (cos, sin) = rope_tables(s, d, 10_000.0, 0)?;
            let rope = Some((t.input("cos", cos), t.input("sin", sin)));
            let causal: Vec<f32> = (0..s * s)
                .map(|i| {
                    if i % s > i / s {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
                .collect();
            let mask = t.input("causal", Tensor::from_f32([s, s], causal)?);
            let lin = |w, out| Linear {
                weight: w,
                bias: None,
                out_features: out,
            };
            let att = Attention {
                q: lin(ids[1], hid),
                k: lin(ids[2], hk * d),
                v: lin(ids[3], hk * d),
                o: lin(ids[4], hid),
                heads: h,
                kv_heads: hk,
                head_dim: d,
                rope,
            };
            let (out, _) = att.forward(
                &mut t.graph,
                ids[0],
                b,
                s,
                AttentionMask::Causal(mask),
                Some(ids[0]),
                F32,
                "",
            )?;
            Ok(out)
        },
    );
}

#[test]
fn whole_decoder_grads() {
    let c = TinyConfig {
        vocab: 5,
        hidden: 8,
        layers: 2,
        heads: 2,
        kv_heads: 1,
        ffn: 12,
        copy_len: 2,
        batch: 1,
        ..TinyConfig::default()
    };
    let params = c.init(3).unwrap();
    let (tokens, targets) = c.batch_at(1, 0);
    let mut tape = Tape::with_params(&params, F32);
    let loss = c.loss(&mut tape, &tokens, &targets).unwrap();
    let leaves: Vec<_> = params.names().map(|n| tape.master(n).unwrap()).collect();
    let worst = check_tape("tiny decoder", tape, loss, &leaves, 3);
    eprintln!("tiny decoder: worst relative gradient error {worst:e}");
}

/// The Vector unit's activation gradients `dy * act'(x)` against f64 derivatives over a grid of x (dy = 1),
/// and their special values.
#[test]
fn activation_gradients_match_f64() {
    use davinci::reference::vector_binary::binary_fn;
    let h = 1e-6;
    for (f, a) in [
        (BinaryFn::SiluGrad, Activation::Silu),
        (BinaryFn::GeluGrad, Activation::Gelu),
        (BinaryFn::GeluTanhGrad, Activation::GeluTanh),
    ] {
        let mut worst = 0.0f64;
        for i in -4000..=4000 {
            let x = i as f64 * 0.004; // [-16, 16]
            let want = (train_common::act(a, x + h) - train_common::act(a, x - h)) / (2.0 * h);
            let got = binary_fn(f, x as f32, 1.0) as f64;
            worst = worst.max((got - want).abs());
        }
        eprintln!("{}: max |error| {worst:e} over [-16, 16]", f.name());
        assert!(worst < 4e-6, "{}: max abs error {worst:e}", f.name());
        assert_eq!(binary_fn(f, f32::INFINITY, 2.0), 2.0);
        // Clamped at -80 (silu) or -20: the derivative there is below 1e-32 in magnitude.
        assert!(
            binary_fn(f, f32::NEG_INFINITY, 2.0).abs() < 1e-32,
            "{}",
            f.name()
        );
        assert!(binary_fn(f, f32::NAN, 1.0).is_nan() && binary_fn(f, 1.0, f32::NAN).is_nan());
        assert_eq!(binary_fn(f, 0.0, 3.0), 1.5, "{}: act'(0) = 1/2", f.name());
    }
    assert_eq!(binary_fn(BinaryFn::ReluGrad, 0.5, 3.0), 3.0);
    assert_eq!(binary_fn(BinaryFn::ReluGrad, 0.0, 3.0), 0.0);
    assert_eq!(binary_fn(BinaryFn::ReluGrad, -0.5, 3.0), 0.0);
}
