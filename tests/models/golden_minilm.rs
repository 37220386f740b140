//! One real encoder layer: layer 0 of sentence-transformers' all-MiniLM-L6-v2 (weights from
//! `tests/golden/minilm/weights_layer0_and_embed_ln`), run through `model::BertModel::layer` on the
//! golden input, with every captured intermediate checked against the float64 reference `ref64.*`:
//!
//! - f32 compute (the Cube's fp32 mode): relative Frobenius error <= 1e-4 (the bound);
//! - bf16 compute: at most 1.5 x the relative error of torch's own bf16 run (`torch.*` in `layer0_bf16`)
//!   at the same intermediate. `scores` and `probs` have no torch capture; they are bounded by 1.5 x the
//!   sum of torch's errors on q and k, the two bf16 operands they are computed from (a product's relative
//!   error is at most the sum of its factors').
//!
//! And the GPU executor gives the CPU twin's bits for the whole layer, in both precisions.

use crate::common;
use davinci::model::{BertConfig, BertModel};
use davinci::{CpuExecutor, DType, Tensor};

const WEIGHTS: &str = "minilm/weights_layer0_and_embed_ln.safetensors";
const NAMES: [&str; 12] = [
    "q",
    "k",
    "v",
    "scores",
    "probs",
    "context",
    "attn_dense",
    "attn_ln",
    "ffn_pre_gelu",
    "ffn_gelu",
    "ffn_out_dense",
    "out",
];

/// ||got - want|| / ||want|| over all elements (shapes may differ by leading 1s).
fn rel_frobenius(got: &Tensor, want: &Tensor) -> f64 {
    common::rel_frobenius(&got.to_f32_vec(), &want.to_f32_vec())
}

/// Runs layer 0 in `dt` on `exec` and returns the tapped intermediates by name.
fn run_layer(exec: &dyn davinci::Executor, dt: DType, file: &str) -> Vec<(String, Tensor)> {
    let model = BertModel::open(
        common::golden_path(WEIGHTS),
        dt,
        Some(BertConfig::minilm_l6()),
    )
    .unwrap();
    let input = common::golden_tensor(file, "input_hidden");
    let hidden = Tensor::new(davinci::Shape::new([8, 384]), input.data().clone()).unwrap();
    let hidden = if dt == DType::Bf16 {
        hidden.to_bf16()
    } else {
        hidden
    };
    let mask = common::golden_tensor(file, "attention_mask_additive");
    let g = model.layer(0, hidden, mask, 1, 8, true).unwrap();
    g.run(exec)
        .unwrap_or_else(|e| panic!("{}: {e}", exec.name()))
}

fn find<'a>(taps: &'a [(String, Tensor)], name: &str) -> &'a Tensor {
    &taps
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no tap '{name}'"))
        .1
}

#[test]
fn f32_layer_matches_float64_within_1e_4() {
    let file = "minilm/layer0_fp32.safetensors";
    for exec in common::executors() {
        let taps = run_layer(exec.as_ref(), DType::F32, file);
        for name in NAMES {
            let want = common::golden_tensor(file, &format!("ref64.{name}"));
            let err = rel_frobenius(find(&taps, name), &want);
            eprintln!("{} f32 {name}: relative error {err:.2e}", exec.name());
            assert!(
                err <= 1e-4,
                "{}: {name}: relative error {err:e} > 1e-4",
                exec.name()
            );
        }
    }
}

#[test]
fn bf16_layer_is_within_1_5x_of_torch_bf16_error() {
    let file = "minilm/layer0_bf16.safetensors";
    let torch_err = |name: &str| {
        let t = common::golden_tensor(file, &format!("torch.{name}"));
        rel_frobenius(&t, &common::golden_tensor(file, &format!("ref64.{name}")))
    };
    for exec in common::executors() {
        let taps = run_layer(exec.as_ref(), DType::Bf16, file);
        for name in NAMES {
            let want = common::golden_tensor(file, &format!("ref64.{name}"));
            let err = rel_frobenius(find(&taps, name), &want);
            let torch = match name {
                "scores" | "probs" => torch_err("q") + torch_err("k"),
                _ => torch_err(name),
            };
            eprintln!(
                "{} bf16 {name}: relative error {err:.2e}, torch {torch:.2e}",
                exec.name()
            );
            assert!(
                err <= 1.5 * torch,
                "{}: {name}: {err:e} > 1.5 x torch's {torch:e}",
                exec.name()
            );
        }
    }
}

#[test]
fn gpu_and_cpu_agree_on_the_whole_layer() {
    let Some(gpu) = common::gpu() else { return };
    for (dt, file) in [
        (DType::F32, "minilm/layer0_fp32.safetensors"),
        (DType::Bf16, "minilm/layer0_bf16.safetensors"),
    ] {
        let g = run_layer(&gpu, dt, file);
        let c = run_layer(&CpuExecutor, dt, file);
        for ((name, a), (_, b)) in g.iter().zip(&c) {
            assert!(
                common::bits_equal_named(name, a, b),
                "{dt} {name}: GPU and CPU differ"
            );
        }
    }
}
