//! The models `davinci formats` runs once per number format: a decoder layer with seeded weights and a
//! seeded LM head (so the argmax of its logits can be compared), or a BERT encoder from its weights
//! (all-MiniLM-L6-v2 and its kin: the sentence embedding is the output). Each run goes through the same
//! code paths as `davinci bert` and the decoder's tests, with the linear layers in the asked format and
//! everything else in f32; every stage runs on each chosen executor (the first one's output goes on) and
//! is predicted on the chip.

use std::path::PathBuf;

use super::Comparison;
use super::bert_input::parse_batch;
use crate::chip::ChipSpec;
use crate::exec::Executor;
use crate::files::check_host_memory;
use crate::model::decoder::uniform_f32;
use crate::model::formats::LinearFormat;
use crate::model::{BertConfig, BertModel, DecoderConfig, DecoderLayer, Graph, Linear};
use crate::program::Activation;
use crate::{DType, Error, Result, Tensor};

/// What `davinci formats` runs.
#[derive(Clone, Debug)]
pub enum FormatsModel {
    /// One decoder layer (`seq` tokens) with seeded f32 weights, then a seeded LM head of `vocab` rows.
    Decoder {
        config: DecoderConfig,
        seq: usize,
        seed: u64,
        vocab: usize,
    },
    /// A BERT encoder from its weights (a folder with model.safetensors and config.json, or the file) on
    /// token ids in `--tokens` syntax.
    Bert { weights: PathBuf, tokens: String },
}

/// One run of the model in one format.
pub struct ModelRun {
    /// The model's output (the decoder layer's hidden states, or the sentence embedding), from the first
    /// executor.
    pub output: Tensor,
    /// The LM head's logits `[seq, vocab]`, where the model has one.
    pub logits: Option<Tensor>,
    /// Whether every stage gave the same bits on both executors (`None` with one executor).
    pub bit_exact: Option<bool>,
    /// Predicted time (ns) and energy (J) on the chip, summed over the stages.
    pub time_ns: f64,
    pub energy_j: f64,
    /// Parameters of the linear layers (their weights' element count).
    pub linear_params: f64,
}

/// What the stages add up to.
#[derive(Default)]
struct Totals {
    bit_exact: Option<bool>,
    time_ns: f64,
    energy_j: f64,
}

/// Runs one stage on every executor and predicts it: its outputs from the first executor.
fn stage(
    g: &Graph,
    execs: &[Box<dyn Executor>],
    chip: &ChipSpec,
    run: &mut Totals,
) -> Result<Vec<Tensor>> {
    let mut outs: Vec<Vec<Tensor>> = Vec::new();
    for e in execs {
        outs.push(g.run(e.as_ref())?.into_iter().map(|(_, t)| t).collect());
    }
    if outs.len() == 2 {
        let same = outs[0]
            .iter()
            .zip(&outs[1])
            .all(|(a, b)| Comparison::of(a, b).bit_exact);
        run.bit_exact = Some(run.bit_exact.unwrap_or(true) && same);
    }
    let p = crate::predict(&g.program, chip)?;
    run.time_ns += p.total.0;
    run.energy_j += p.energy.0;
    Ok(outs.swap_remove(0))
}

impl FormatsModel {
    /// A short description for the report.
    pub fn describe(&self) -> String {
        match self {
            FormatsModel::Decoder {
                config: c,
                seq,
                seed,
                vocab,
            } => format!(
                "decoder layer: hidden {}, {} heads ({} kv), ffn {}, seq {seq}, seeded weights (seed {seed}), \
                 LM head of {vocab}",
                c.hidden, c.heads, c.kv_heads, c.ffn
            ),
            FormatsModel::Bert { weights, .. } => {
                format!("BERT encoder from {}", weights.display())
            }
        }
    }

    /// Runs the model with its linear layers in `format` (`None`: f32, the Cube's fp32 mode).
    pub fn run(
        &self,
        format: Option<LinearFormat>,
        execs: &[Box<dyn Executor>],
        chip: &ChipSpec,
    ) -> Result<ModelRun> {
        let mut run = Totals::default();
        let (output, logits, linear_params) = match self {
            FormatsModel::Decoder {
                config,
                seq,
                seed,
                vocab,
            } => {
                // The f32 weights, their converted copies and the activations: refused up front rather
                // than ending in an allocation failure.
                let weights = (config.params() as u128 + (*vocab * config.hidden) as u128) * 4;
                let acts = (*seq * (config.ffn.max(*vocab) + config.hidden) * 4 * 8) as u128;
                check_host_memory("formats: the decoder layer", 3 * weights + acts)?;
                let layer = DecoderLayer::random_f32(*config, *seed)?;
                let x = uniform_f32(seed.wrapping_add(100), &[*seq, config.hidden], 1.0)?;
                let mut g = layer.into_graph_with(x, 1, *seq, DType::F32, format)?;
                g.keep_taps = false;
                let out =
                    *g.program.outputs().last().ok_or_else(|| {
                        Error::Program("the decoder layer recorded no output".into())
                    })?;
                let w = uniform_f32(
                    seed.wrapping_add(200),
                    &[*vocab, config.hidden],
                    1.0 / (config.hidden as f32).sqrt(),
                )?;
                let head = Linear {
                    weight: g.constant("lm_head.weight", w),
                    bias: None,
                    out_features: *vocab,
                };
                let logits = head.forward(&mut g, out, Activation::None, None, DType::F32)?;
                g.output("logits", logits)?;
                let mut outs = stage(&g, execs, chip, &mut run)?;
                let logits = outs.pop();
                let params = (config.params() + vocab * config.hidden) as f64;
                (outs.swap_remove(0), logits, params)
            }
            FormatsModel::Bert { weights, tokens } => {
                let batch = parse_batch(tokens, None)?;
                let model = BertModel::open(weights, DType::F32, Some(BertConfig::minilm_l6()))?;
                let (b, s) = model
                    .check_tokens(&batch.tokens, &batch.mask)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                let c = model.config;
                let mut h =
                    stage(&model.embeddings(&batch.tokens)?, execs, chip, &mut run)?.swap_remove(0);
                let mask = model.additive_mask(&batch.mask)?;
                for i in 0..c.layers {
                    let g = model.layer_in(i, h, mask.clone(), (b, s), false, format)?;
                    h = stage(&g, execs, chip, &mut run)?.swap_remove(0);
                }
                let pooled = model.pooling(h, &batch.mask)?;
                let embedding = stage(&pooled, execs, chip, &mut run)?.swap_remove(0);
                // Per layer: Q, K, V and the attention output (hidden^2 each), and the FFN's two.
                let params = c.layers * (4 * c.hidden * c.hidden + 2 * c.hidden * c.intermediate);
                (embedding, None, params as f64)
            }
        };
        Ok(ModelRun {
            output,
            logits,
            bit_exact: run.bit_exact,
            time_ns: run.time_ns,
            energy_j: run.energy_j,
            linear_params,
        })
    }
}

/// The share of rows whose argmax agrees between `got` and `want` (`[rows, cols]`, f32); NaN rows never
/// agree.
pub fn argmax_agreement(got: &Tensor, want: &Tensor) -> f64 {
    let cols = *want.shape().dims().last().unwrap_or(&1);
    let argmax = |v: &[f32]| {
        v.iter()
            .enumerate()
            .fold((None, f32::NEG_INFINITY), |(i, m), (j, &x)| {
                if x > m { (Some(j), x) } else { (i, m) }
            })
            .0
    };
    let (g, w) = (got.to_f32_vec(), want.to_f32_vec());
    let rows = w.len() / cols.max(1);
    if rows == 0 {
        return 0.0;
    }
    let same = g
        .chunks(cols)
        .zip(w.chunks(cols))
        .filter(|(a, b)| argmax(a).is_some() && argmax(a) == argmax(b))
        .count();
    same as f64 / rows as f64
}
