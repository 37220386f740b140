//! The LLaMA-style decoder layer of `model::decoder`: the GPU executor gives the CPU twin's bits (f32 and
//! bf16, odd sequence, batch of two), and the layer agrees with an independent float64 implementation
//! written here from the same weights (RMSNorm, linear, rotary rotate-half, causal softmax attention with
//! grouped-query heads, SwiGLU, the two residuals) to within a rounding-error bound.

use crate::common;
use davinci::model::{DecoderConfig, DecoderLayer, Graph};
use davinci::tensor::random::gen_bf16;
use davinci::{CpuExecutor, DType, Executor, Tensor};

fn config(hidden: usize, heads: usize, kv_heads: usize, ffn: usize) -> DecoderConfig {
    DecoderConfig {
        hidden,
        heads,
        kv_heads,
        ffn,
        ..DecoderConfig::llama3_8b()
    }
}

/// The input `[batch * seq, hidden]` in the compute dtype.
fn input(rows: usize, hidden: usize, seed: u64, dt: DType) -> Tensor {
    let x = gen_bf16(seed, [rows, hidden], 1.0);
    match dt {
        DType::F32 => Tensor::from_f32([rows, hidden], x.to_f32_vec()).unwrap(),
        _ => x,
    }
}

/// The layer's graph and a copy of its weights as f64, by name.
fn layer(
    c: DecoderConfig,
    batch: usize,
    seq: usize,
    dt: DType,
) -> (Graph, Vec<(String, Vec<f64>)>) {
    let layer = DecoderLayer::random(c, 11, dt).unwrap();
    let weights = layer
        .tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.to_f32_vec().iter().map(|&v| v as f64).collect(),
            )
        })
        .collect();
    let x = input(batch * seq, c.hidden, 5, dt);
    (layer.into_graph(x, batch, seq, dt).unwrap(), weights)
}

fn out(g: &Graph, exec: &dyn Executor) -> Tensor {
    let outs = g.run(exec).unwrap();
    assert_eq!(outs.last().unwrap().0, "out");
    outs.into_iter().last().unwrap().1
}

#[test]
fn gpu_equals_cpu_bit_for_bit() {
    let Some(gpu) = common::gpu() else { return };
    // head_dim 16, groups of 2 query heads per key/value head; odd seq; batch of two.
    let c = config(64, 4, 2, 96);
    for dt in [DType::F32, DType::Bf16] {
        for (batch, seq) in [(1, 7), (2, 5)] {
            let (g, _) = layer(c, batch, seq, dt);
            let (a, b) = (out(&g, &gpu), out(&g, &CpuExecutor));
            assert_eq!(a.dtype(), dt);
            assert_eq!(a.shape().dims(), [batch * seq, c.hidden]);
            assert!(
                a.bit_eq(&b),
                "{dt:?} batch {batch} seq {seq}: GPU and CPU differ"
            );
        }
    }
}

/// Rows of `[n, k]` times the torch Linear weight `w` `[m, k]`: `[n, m]`.
fn linear(x: &[f64], w: &[f64], k: usize) -> Vec<f64> {
    let (n, m) = (x.len() / k, w.len() / k);
    let mut y = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            y[i * m + j] = (0..k).map(|t| x[i * k + t] * w[j * k + t]).sum();
        }
    }
    y
}

fn rmsnorm(x: &[f64], gamma: &[f64], eps: f64) -> Vec<f64> {
    let k = gamma.len();
    let mut y = x.to_vec();
    for row in y.chunks_mut(k) {
        let r = 1.0 / (row.iter().map(|v| v * v).sum::<f64>() / k as f64 + eps).sqrt();
        for (v, g) in row.iter_mut().zip(gamma) {
            *v *= r * g;
        }
    }
    y
}

/// Rotate-half rotary embedding of `[seq, n * d]` in place: pairs `(j, j + d/2)` of each head turned by
/// `s * theta^(-2j/d)`.
fn rope(x: &mut [f64], n: usize, d: usize, theta: f64) {
    let half = d / 2;
    for (s, row) in x.chunks_mut(n * d).enumerate() {
        for head in row.chunks_mut(d) {
            for j in 0..half {
                let a = s as f64 * theta.powf(-2.0 * j as f64 / d as f64);
                let (x1, x2) = (head[j], head[j + half]);
                head[j] = x1 * a.cos() - x2 * a.sin();
                head[j + half] = x2 * a.cos() + x1 * a.sin();
            }
        }
    }
}

/// The decoder layer in float64 for one sequence `x` `[seq, hidden]`.
fn reference(c: &DecoderConfig, w: &[(String, Vec<f64>)], x: &[f64]) -> Vec<f64> {
    let get = |n: &str| &w.iter().find(|(k, _)| k == n).unwrap().1;
    let (h, d) = (c.hidden, c.head_dim());
    let (kvd, group, seq) = (c.kv_heads * d, c.heads / c.kv_heads, x.len() / h);
    let eps = c.eps as f64;
    let a = rmsnorm(x, get("input_layernorm.weight"), eps);
    let mut q = linear(&a, get("self_attn.q_proj.weight"), h);
    let mut k = linear(&a, get("self_attn.k_proj.weight"), h);
    let v = linear(&a, get("self_attn.v_proj.weight"), h);
    rope(&mut q, c.heads, d, c.rope_theta);
    rope(&mut k, c.kv_heads, d, c.rope_theta);
    let mut ctx = vec![0.0; seq * h];
    for head in 0..c.heads {
        let kv = head / group; // query heads 2g and 2g+1 share key/value head g (with group 2)
        for i in 0..seq {
            // Causal: position i attends to 0..=i.
            let scores: Vec<f64> = (0..=i)
                .map(|j| {
                    let dot: f64 = (0..d)
                        .map(|t| q[i * h + head * d + t] * k[j * kvd + kv * d + t])
                        .sum();
                    dot / (d as f64).sqrt()
                })
                .collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = e.iter().sum();
            for t in 0..d {
                ctx[i * h + head * d + t] = (0..=i)
                    .map(|j| e[j] / total * v[j * kvd + kv * d + t])
                    .sum();
            }
        }
    }
    let o = linear(&ctx, get("self_attn.o_proj.weight"), h);
    let hid: Vec<f64> = o.iter().zip(x).map(|(o, x)| o + x).collect();
    let b = rmsnorm(&hid, get("post_attention_layernorm.weight"), eps);
    let gate = linear(&b, get("mlp.gate_proj.weight"), h);
    let up = linear(&b, get("mlp.up_proj.weight"), h);
    let act: Vec<f64> = gate
        .iter()
        .zip(&up)
        .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
        .collect();
    let down = linear(&act, get("mlp.down_proj.weight"), c.ffn);
    down.iter().zip(&hid).map(|(d, h)| d + h).collect()
}

/// The relative error of the layer against float64 at hidden 32, 4 heads of 8, 2 key/value heads, FFN 64,
/// seq 5 (one sequence), on the CPU twin (the GPU gives the same bits).
fn tiny(dt: DType) -> f64 {
    let c = config(32, 4, 2, 64);
    let (g, w) = layer(c, 1, 5, dt);
    let x: Vec<f64> = input(5, c.hidden, 5, dt)
        .to_f32_vec()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let want = reference(&c, &w, &x);
    common::rel_frobenius(&out(&g, &CpuExecutor).to_f32_vec(), &want)
}

#[test]
fn f32_layer_matches_float64() {
    // Bound: every f32 rounding is a relative error of at most u = 2^-24 (6e-8). The longest chain of
    // dependent roundings in one output element sums dot products of length 32 (norm, q/k/v, o, gate/up),
    // 8 (scores), 5 (softmax, context) and 64 (down): about 250 roundings, plus the rotary, exp, division
    // and square-root steps. Rounding errors of random data add like a random walk, so the relative error
    // is about u * sqrt(250) ~ 1e-6 per element and in the Frobenius norm; norms and softmax amplify it
    // by a small factor (their inputs are O(1)). 1e-5 leaves a tenfold margin; a wrong rotary sign, head
    // grouping, mask or scale gives O(1). (Measured: about 7e-8, the Cube's tree16 sums erring less.)
    let err = tiny(DType::F32);
    assert!(
        err <= 1e-5,
        "f32 decoder vs float64: relative error {err:e}"
    );
}

#[test]
fn bf16_layer_stays_near_float64() {
    // In bf16 every op's result is rounded to bf16 (u = 2^-9, 2e-3) before the next reads it: about 12
    // such roundings lie on each path (norm, q/k/v, rotary, scores, softmax, context, o + residual, norm,
    // gate/silu, up, the product, down + residual), random-walk sqrt(12) * 2e-3 ~ 7e-3. 3e-2 allows a
    // fourfold amplification by the norms and softmax; a structural mistake gives O(1). (Measured: about
    // 3e-3.)
    let err = tiny(DType::Bf16);
    assert!(
        err <= 3e-2,
        "bf16 decoder vs float64: relative error {err:e}"
    );
}
