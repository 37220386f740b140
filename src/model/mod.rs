//! Model layers on the emulator: Linear (with the fused epilogues), Embedding, LayerNorm, RMSNorm,
//! multi-head attention (additive or causal mask, grouped-query heads, rotary embedding), MLPs (GELU and
//! SwiGLU), a post-LN BERT encoder layer and a pre-norm LLaMA-style decoder layer. Every layer records into a
//! [`Graph`] (a [`Program`] plus the tensors it reads), so both executors and the timing model run it.
//!
//! Precision follows Ascend inference: with `DType::Bf16` every matmul takes bf16 operands (f32
//! accumulation) and every op rounds its result to bf16, as torch's bf16 modules do; with `DType::F32` the
//! Cube runs in its fp32 mode and every result stays f32.

pub mod attention;
pub mod bert;
pub mod bert_layer;
pub mod decoder;
pub mod formats;
pub mod layers;
pub mod quantize;
pub mod weights;

pub use attention::{Attention, AttentionMask};
pub use bert::{BertConfig, BertModel, MINILM_LAYER0_WEIGHTS};
pub use decoder::{DecoderConfig, DecoderLayer};
pub use layers::{Linear, Mlp, Norm};
pub use weights::Weights;

use crate::Result;
use crate::exec::Executor;
use crate::program::{Program, TensorId};
use crate::tensor::{DType, Tensor};

/// A program under construction together with the tensors its inputs take, and named intermediates.
#[derive(Default)]
pub struct Graph {
    pub program: Program,
    values: Vec<Tensor>,
    taps: Vec<(String, TensorId)>,
    /// Whether [`Graph::tap`] keeps intermediates (tests), or only [`Graph::output`]s are returned.
    pub keep_taps: bool,
    /// The number format of the linear layers (`None`: the layer's dtype); see [`formats`].
    pub linear_format: Option<formats::LinearFormat>,
    /// Casts recorded so far by the linear formats (each stochastic one gets its own stream).
    casts: u32,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `tensor` as an input of the program (a weight, a mask, an activation from an earlier run).
    pub fn constant(&mut self, name: impl Into<String>, tensor: Tensor) -> TensorId {
        let id = self
            .program
            .input(name, tensor.shape().clone(), tensor.dtype());
        self.values.push(tensor);
        id
    }

    /// The tensor a constant (an input added by [`Graph::constant`]) takes.
    fn value_of(&self, id: TensorId) -> Result<Tensor> {
        let pos = self.program.inputs().iter().position(|&i| i == id);
        pos.and_then(|p| self.values.get(p).cloned())
            .ok_or_else(|| {
                crate::Error::Program(format!(
                    "tensor {} is not a constant of the graph",
                    id.index()
                ))
            })
    }

    /// The input named `name`, if one was added.
    fn constant_named(&self, name: &str) -> Option<TensorId> {
        let names = self.program.inputs().iter();
        names
            .copied()
            .find(|&id| self.program.desc(id).is_ok_and(|d| d.name == name))
    }

    /// Names an intermediate so that [`Graph::run`] returns it, if `keep_taps` is set.
    pub fn tap(&mut self, name: impl Into<String>, id: TensorId) -> Result<()> {
        if self.keep_taps {
            self.output(name, id)?;
        }
        Ok(())
    }

    /// Names a result that [`Graph::run`] always returns.
    pub fn output(&mut self, name: impl Into<String>, id: TensorId) -> Result<()> {
        self.program.output(id)?;
        self.taps.push((name.into(), id));
        Ok(())
    }

    /// The names of the tapped tensors, in order.
    pub fn tap_names(&self) -> Vec<&str> {
        self.taps.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The tensors the program's inputs take, in order.
    pub fn inputs(&self) -> Vec<&Tensor> {
        self.values.iter().collect()
    }

    /// Bytes of all inputs (weights included).
    pub fn input_bytes(&self) -> usize {
        self.values
            .iter()
            .map(|t| t.numel() * t.dtype().size())
            .sum()
    }

    /// Runs the program and returns the tapped tensors by name, in tap order.
    pub fn run(&self, exec: &dyn Executor) -> Result<Vec<(String, Tensor)>> {
        let out = exec.run(&self.program, &self.inputs())?;
        Ok(self.taps.iter().map(|(n, _)| n.clone()).zip(out).collect())
    }
}

/// The additive causal mask of self-attention over `seq` positions: `[seq, seq]` f32, 0 where a query may
/// see a key (key <= query) and -inf after it.
pub fn causal_mask(seq: usize) -> Result<Tensor> {
    let mask: Vec<f32> = (0..seq * seq)
        .map(|i| {
            if i % seq > i / seq {
                f32::NEG_INFINITY
            } else {
                0.0
            }
        })
        .collect();
    Tensor::from_f32([seq, seq], mask)
}

/// The rotary tables `(cos, sin)`, each `[seq, dim / 2]` f32: angle `(offset + s) * theta^(-2j / dim)`,
/// evaluated in f64 and rounded once, so every executor reads the same bits.
pub fn rope_tables(seq: usize, dim: usize, theta: f64, offset: usize) -> Result<(Tensor, Tensor)> {
    let half = dim / 2;
    let angle = |i: usize| {
        let (s, j) = (offset + i / half, i % half);
        s as f64 * theta.powf(-(2.0 * j as f64) / dim as f64)
    };
    let cos = (0..seq * half).map(|i| angle(i).cos() as f32).collect();
    let sin = (0..seq * half).map(|i| angle(i).sin() as f32).collect();
    Ok((
        Tensor::from_f32([seq, half], cos)?,
        Tensor::from_f32([seq, half], sin)?,
    ))
}

/// The compute dtype's name for reports.
pub fn dtype_name(d: DType) -> &'static str {
    d.name()
}
