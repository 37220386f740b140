//! Test helpers of the training tests: an f64 interpreter of recorded forward programs (exact math: casts
//! are the identity, every function evaluated in f64), central finite differences over it, and a gradient
//! check that compares the recorded backward pass (run on the CPU twin in f32) with them.

#![allow(dead_code)]

use davinci::program::{MoveKind, Op, Program, VectorKind};
use davinci::tensor::random::gen_bf16;
use davinci::train::Tape;
use davinci::{
    Activation, BinaryFn, CpuExecutor, DType, ReduceFn, Result, Shape, Tensor, TensorId, UnaryFn,
};

fn erf(x: f64) -> f64 {
    if x.abs() < 2.5 {
        // Taylor series: converges without harmful cancellation for |x| < 2.5.
        let (mut term, mut sum, x2) = (x, x, x * x);
        for n in 1..80 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        x.signum() * (1.0 - erfc_cf(x.abs()))
    }
}

/// erfc(x) for x >= 2.5 by its continued fraction.
fn erfc_cf(x: f64) -> f64 {
    let mut f = x;
    for k in (1..120).rev() {
        f = x + (k as f64 / 2.0) / f;
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / f
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn act(a: Activation, x: f64) -> f64 {
    match a {
        Activation::None => x,
        Activation::Relu => x.max(0.0),
        Activation::Gelu => 0.5 * x * (1.0 + erf(x / 2f64.sqrt())),
        Activation::GeluTanh => {
            0.5 * x
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
        }
        Activation::Silu => x * sigmoid(x),
    }
}

fn unary(f: UnaryFn, x: f64) -> f64 {
    match f {
        UnaryFn::Neg => -x,
        UnaryFn::Abs => x.abs(),
        UnaryFn::Exp => x.exp(),
        UnaryFn::Log => x.ln(),
        UnaryFn::Sqrt => x.sqrt(),
        UnaryFn::Rsqrt => 1.0 / x.sqrt(),
        UnaryFn::Recip => 1.0 / x,
        UnaryFn::Tanh => x.tanh(),
        UnaryFn::Sigmoid => sigmoid(x),
        UnaryFn::Relu => act(Activation::Relu, x),
        UnaryFn::Silu => act(Activation::Silu, x),
        UnaryFn::Gelu => act(Activation::Gelu, x),
        UnaryFn::GeluTanh => act(Activation::GeluTanh, x),
        UnaryFn::Erf => erf(x),
    }
}

fn binary(f: BinaryFn, x: f64, y: f64) -> f64 {
    match f {
        BinaryFn::Add => x + y,
        BinaryFn::Sub => x - y,
        BinaryFn::Mul => x * y,
        BinaryFn::Div => x / y,
        BinaryFn::Max => x.max(y),
        BinaryFn::Min => x.min(y),
        other => panic!("{} in a forward program", other.name()),
    }
}

/// Every tensor of `p` evaluated in f64 from `inputs` (in declaration order).
pub fn eval(p: &Program, inputs: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut v: Vec<Vec<f64>> = vec![Vec::new(); p.tensors().len()];
    for (id, x) in p.inputs().iter().zip(inputs) {
        v[id.index()] = x.clone();
    }
    for op in p.ops() {
        match op {
            Op::CubeMatmul(mm) => {
                let g = &mm.geometry;
                let (a, b) = (&v[mm.a.index()], &v[mm.b.index()]);
                let mut out = vec![0.0; g.batch * g.m * g.n];
                for bt in 0..g.batch {
                    for m in 0..g.m {
                        for n in 0..g.n {
                            let mut s = 0.0;
                            for k in 0..g.k {
                                s += a[bt * g.a_batch + m * g.a_m + k * g.a_k]
                                    * b[bt * g.b_batch + k * g.b_k + n * g.b_n];
                            }
                            out[(bt * g.m + m) * g.n + n] = s;
                        }
                    }
                }
                let e = mm.epilogue;
                for (i, o) in out.iter_mut().enumerate() {
                    let mut y = *o * e.scale.map_or(1.0, |s| s as f64);
                    if let Some(bias) = e.bias {
                        y += v[bias.index()][i % g.n];
                    }
                    y = act(e.activation, y);
                    if let Some(r) = e.residual {
                        y += v[r.index()][i];
                    }
                    *o = y;
                }
                v[mm.out.index()] = out;
            }
            Op::Cast(c) => v[c.out.index()] = v[c.input.index()].clone(),
            Op::Move(m) => {
                let x = &v[m.input.index()];
                let n = p.desc(m.out).unwrap().shape.numel();
                let out = match &m.kind {
                    MoveKind::Reshape => x.clone(),
                    MoveKind::Permute { bcast, .. } => {
                        (0..n).map(|i| x[bcast.offset(0, i)]).collect()
                    }
                    MoveKind::GatherRows { ids, width } => ids
                        .iter()
                        .flat_map(|&id| x[id as usize * width..(id as usize + 1) * width].to_vec())
                        .collect(),
                    MoveKind::Concat {
                        other,
                        width,
                        other_width,
                    } => {
                        let y = &v[other.index()];
                        (0..n / (width + other_width))
                            .flat_map(|r| {
                                let a = &x[r * width..(r + 1) * width];
                                let b = &y[r * other_width..(r + 1) * other_width];
                                [a, b].concat()
                            })
                            .collect()
                    }
                };
                v[m.out.index()] = out;
            }
            Op::Rope(r) => {
                let (x, c, s) = (&v[r.x.index()], &v[r.cos.index()], &v[r.sin.index()]);
                let (h, d) = (r.dim / 2, r.dim);
                let mut out = x.clone();
                for (row, chunk) in x.chunks(d).enumerate() {
                    let pos = (row / r.heads) % r.seq;
                    for j in 0..h {
                        let (x1, x2) = (chunk[j], chunk[j + h]);
                        let (cj, sj) = (c[pos * h + j], s[pos * h + j]);
                        out[row * d + j] = x1 * cj - x2 * sj;
                        out[row * d + j + h] = x2 * cj + x1 * sj;
                    }
                }
                v[r.out.index()] = out;
            }
            Op::Vector(op) => {
                let x = &v[op.x.index()];
                let (rows, len) = (op.rows, op.len);
                let out: Vec<f64> = match op.kind {
                    VectorKind::Unary(f) => x.iter().map(|&a| unary(f, a)).collect(),
                    VectorKind::Binary(f) => {
                        let y = &v[op.y.unwrap().index()];
                        (0..rows)
                            .map(|i| binary(f, x[op.bcast.offset(0, i)], y[op.bcast.offset(1, i)]))
                            .collect()
                    }
                    VectorKind::Reduce(f) => x
                        .chunks(len)
                        .map(|r| match f {
                            ReduceFn::Sum => r.iter().sum(),
                            ReduceFn::Mean => r.iter().sum::<f64>() / len as f64,
                            ReduceFn::Amax => r.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                            ReduceFn::SumSq => r.iter().map(|a| a * a).sum(),
                        })
                        .collect(),
                    VectorKind::Softmax => {
                        let m = op.mask.map(|m| &v[m.index()]);
                        let mut out = vec![0.0; x.len()];
                        for r in 0..rows {
                            let val = |i: usize| {
                                x[r * len + i]
                                    + m.map_or(0.0, |m| m[op.bcast.offset(1, r * len + i)])
                            };
                            let mx = (0..len).map(val).fold(f64::NEG_INFINITY, f64::max);
                            let s: f64 = (0..len).map(|i| (val(i) - mx).exp()).sum();
                            for i in 0..len {
                                out[r * len + i] = (val(i) - mx).exp() / s;
                            }
                        }
                        out
                    }
                    VectorKind::LayerNorm { eps } | VectorKind::RmsNorm { eps } => {
                        let layer = matches!(op.kind, VectorKind::LayerNorm { .. });
                        let g = op.gamma.map(|g| &v[g.index()]);
                        let b = op.beta.map(|b| &v[b.index()]);
                        let mut out = vec![0.0; x.len()];
                        for (r, row) in x.chunks(len).enumerate() {
                            let mu = if layer {
                                row.iter().sum::<f64>() / len as f64
                            } else {
                                0.0
                            };
                            let var =
                                row.iter().map(|a| (a - mu) * (a - mu)).sum::<f64>() / len as f64;
                            let rstd = 1.0 / (var + eps as f64).sqrt();
                            for i in 0..len {
                                let y = (row[i] - mu) * rstd * g.map_or(1.0, |g| g[i])
                                    + b.map_or(0.0, |b| b[i]);
                                out[r * len + i] = y;
                            }
                        }
                        out
                    }
                };
                v[op.out.index()] = out;
            }
        }
    }
    v
}

/// Random f32 values uniform in `[-scale, scale)` (bf16-representable), shape `shape`.
pub fn rand(seed: u64, shape: &[usize], scale: f32) -> Tensor {
    let t = gen_bf16(seed, Shape::new(shape.to_vec()), scale);
    Tensor::from_f32(Shape::new(shape.to_vec()), t.to_f32_vec()).unwrap()
}

/// Records `build` over `inputs` on an f32 tape (those with `wants[i]` require gradients) and checks
/// the gradients with [`check_tape`].
pub fn check_grads(
    what: &str,
    inputs: &[Tensor],
    wants: &[bool],
    build: impl FnOnce(&mut Tape, &[TensorId]) -> Result<TensorId>,
) -> f64 {
    let mut tape = Tape::new(DType::F32);
    let ids: Vec<TensorId> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| tape.input(format!("in{i}"), t.clone()))
        .collect();
    let mut leaves = Vec::new();
    for (id, &w) in ids.iter().zip(wants) {
        if w {
            tape.requires_grad(*id).unwrap();
            leaves.push(*id);
        }
    }
    let out = build(&mut tape, &ids).unwrap_or_else(|e| panic!("{what}: {e}"));
    check_tape(what, tape, out, &leaves, 1)
}

/// Adds a loss `sum(out * w)` (random `w`; `out` itself if it is one f32 element), records the backward
/// pass, runs it on the CPU twin and compares the gradient of each input in `leaves` with central
/// differences of the f64 interpreter, at every `stride`-th element. Returns the worst relative error
/// (max-norm of the difference over max-norm of the finite differences).
pub fn check_tape(
    what: &str,
    mut tape: Tape,
    out: TensorId,
    leaves: &[TensorId],
    stride: usize,
) -> f64 {
    let od = tape.program().desc(out).unwrap().clone();
    let loss = if od.shape.numel() == 1 && od.dtype == DType::F32 {
        out
    } else {
        let w = tape.input("w", rand(991, od.shape.dims(), 1.0));
        let p = &mut tape.graph.program;
        let t = p.binary(BinaryFn::Mul, out, w, DType::F32).unwrap();
        let t = p.reshape(t, [1, od.shape.numel()]).unwrap();
        p.reduce(ReduceFn::Sum, t, DType::F32).unwrap()
    };
    tape.graph.output("loss", loss).unwrap();
    let forward = tape.program().clone();
    let f64_inputs: Vec<Vec<f64>> = tape
        .graph
        .inputs()
        .iter()
        .map(|t| t.to_f32_vec().iter().map(|&x| x as f64).collect())
        .collect();
    let grads = tape
        .backward(loss)
        .unwrap_or_else(|e| panic!("{what}: backward: {e}"));
    for (k, id) in leaves.iter().enumerate() {
        tape.graph
            .output(format!("d{k}"), grads.get(*id).unwrap())
            .unwrap();
    }
    let got = tape
        .graph
        .run(&CpuExecutor)
        .unwrap_or_else(|e| panic!("{what}: run: {e}"));
    let loss_of = |ins: &[Vec<f64>]| eval(&forward, ins)[loss.index()][0];
    let mut worst = 0.0f64;
    for (k, leaf) in leaves.iter().enumerate() {
        let i = forward
            .inputs()
            .iter()
            .position(|x| x == leaf)
            .expect("leaves are inputs");
        let g = got[k + 1].1.to_f32_vec();
        let (mut scale, mut err) = (1e-6f64, 0.0f64);
        for j in (0..g.len()).step_by(stride) {
            let mut ins = f64_inputs.clone();
            let x0 = ins[i][j];
            let h = 1e-5 * x0.abs().max(1.0);
            ins[i][j] = x0 + h;
            let up = loss_of(&ins);
            ins[i][j] = x0 - h;
            let down = loss_of(&ins);
            let fd = (up - down) / (2.0 * h);
            scale = scale.max(fd.abs());
            err = err.max((g[j] as f64 - fd).abs());
        }
        let rel = err / scale;
        assert!(
            rel < 2e-3,
            "{what}: input {i} ('{}'): relative error {rel:e}",
            forward.tensors()[leaf.index()].name
        );
        worst = worst.max(rel);
    }
    worst
}
