//! The small layers: Linear (one fused `cube_matmul`: `act(x W^T + b) + residual`), LayerNorm / RMSNorm, and
//! the two MLPs of transformer blocks (GELU: `down(gelu(up(x)))`; SwiGLU: `down(silu(gate(x)) * up(x))`).

use super::{Graph, Weights};
use crate::Result;
use crate::program::{Activation, BinaryFn, Epilogue, MatmulOptions, TensorId};
use crate::tensor::{DType, Shape, Tensor, TensorData};

/// A linear layer `y = x W^T + b`, `W` stored `[out, in]` as torch does.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    pub weight: TensorId,
    pub bias: Option<TensorId>,
    pub out_features: usize,
}

impl Linear {
    /// Loads `{name}.weight` (`[out, in]`) and, if `bias`, `{name}.bias` in the compute dtype.
    pub fn load(
        g: &mut Graph,
        w: &Weights,
        name: &str,
        inp: usize,
        out: usize,
        bias: bool,
        dt: DType,
    ) -> Result<Self> {
        Self::load_split(g, w, name, inp, out, bias, dt, Split::Whole)
    }

    /// Loads the part `split` of `{name}` (Megatron's tensor-parallel split; [`Split::Whole`] is the layer
    /// itself): output features `lo..hi` (rows of the torch weight, and of the bias), or input features
    /// `lo..hi` (its columns; the bias is left to whoever adds the reduced partial sums, since each shard
    /// would add it once more).
    #[allow(clippy::too_many_arguments)]
    pub fn load_split(
        g: &mut Graph,
        w: &Weights,
        name: &str,
        inp: usize,
        out: usize,
        bias: bool,
        dt: DType,
        split: Split,
    ) -> Result<Self> {
        let weight = w.get(&format!("{name}.weight"), dt, Some(&[out, inp]))?;
        let bias = if bias {
            Some(w.get(&format!("{name}.bias"), dt, Some(&[out]))?)
        } else {
            None
        };
        let (weight, bias) = match split {
            Split::Whole => (weight, bias),
            Split::Outputs(lo, hi) => (
                slice_rows(&weight, lo, hi)?,
                bias.map(|b| slice_rows(&b, lo, hi)).transpose()?,
            ),
            Split::Inputs(lo, hi) => (slice_cols(&weight, lo, hi)?, None),
        };
        Ok(Self::from_tensors(g, name, weight, bias))
    }

    /// A linear layer over given tensors (e.g. seeded random weights).
    pub fn from_tensors(g: &mut Graph, name: &str, weight: Tensor, bias: Option<Tensor>) -> Self {
        let out_features = weight.shape().dims()[0];
        let weight = g.constant(format!("{name}.weight"), weight);
        let bias = bias.map(|b| g.constant(format!("{name}.bias"), b));
        Linear {
            weight,
            bias,
            out_features,
        }
    }

    /// `act(x W^T + b) + residual` as one fused op, rounded once to `dt`.
    pub fn forward(
        &self,
        g: &mut Graph,
        x: TensorId,
        activation: Activation,
        residual: Option<TensorId>,
        dt: DType,
    ) -> Result<TensorId> {
        let opts = MatmulOptions {
            trans_b: true,
            dtype_out: dt,
            ..MatmulOptions::default()
        };
        let e = Epilogue {
            scale: None,
            bias: self.bias,
            activation,
            residual,
        };
        match g.linear_format {
            Some(f) if f.format != crate::CubeFormat::of_dtype(dt) || f.stochastic.is_some() => {
                g.linear_in_format(f, (x, self.weight), opts, e)
            }
            _ => g.program.cube_matmul_fused(x, self.weight, opts, e),
        }
    }
}

/// Which part of a linear layer a tensor-parallel shard holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Whole,
    /// Output features `lo..hi` (column-parallel in Megatron's terms).
    Outputs(usize, usize),
    /// Input features `lo..hi` (row-parallel).
    Inputs(usize, usize),
}

/// Rows `lo..hi` of a `[rows, cols]` matrix, or elements `lo..hi` of a vector.
fn slice_rows(t: &Tensor, lo: usize, hi: usize) -> Result<Tensor> {
    let d = t.shape().dims();
    let cols = if d.len() == 1 { 1 } else { d[1] };
    let dims = if d.len() == 1 {
        vec![hi - lo]
    } else {
        vec![hi - lo, cols]
    };
    let data = TensorData::from_bits(
        t.dtype(),
        (lo * cols..hi * cols).map(|i| t.data().bits_at(i)),
    );
    Tensor::new(Shape::new(dims), data)
}

/// Columns `lo..hi` of a `[rows, cols]` matrix.
fn slice_cols(t: &Tensor, lo: usize, hi: usize) -> Result<Tensor> {
    let d = t.shape().dims();
    let (r, c) = (d[0], d[1]);
    let pick = |i: usize| i * c + lo..i * c + hi;
    let bits = (0..r).flat_map(|i| pick(i).map(|j| t.data().bits_at(j)));
    let data = TensorData::from_bits(t.dtype(), bits);
    Tensor::new(Shape::new([r, hi - lo]), data)
}

/// A normalisation over the last axis.
#[derive(Clone, Copy, Debug)]
pub enum Norm {
    LayerNorm {
        gamma: Option<TensorId>,
        beta: Option<TensorId>,
        eps: f32,
    },
    RmsNorm {
        gamma: Option<TensorId>,
        eps: f32,
    },
}

impl Norm {
    /// LayerNorm with `{name}.weight` and `{name}.bias` of length `n`.
    pub fn layernorm(
        g: &mut Graph,
        w: &Weights,
        name: &str,
        n: usize,
        eps: f32,
        dt: DType,
    ) -> Result<Self> {
        let gamma = g.constant(
            format!("{name}.weight"),
            w.get(&format!("{name}.weight"), dt, Some(&[n]))?,
        );
        let beta = g.constant(
            format!("{name}.bias"),
            w.get(&format!("{name}.bias"), dt, Some(&[n]))?,
        );
        Ok(Norm::LayerNorm {
            gamma: Some(gamma),
            beta: Some(beta),
            eps,
        })
    }

    pub fn forward(&self, g: &mut Graph, x: TensorId, dt: DType) -> Result<TensorId> {
        match *self {
            Norm::LayerNorm { gamma, beta, eps } => g.program.layernorm(x, gamma, beta, eps, dt),
            Norm::RmsNorm { gamma, eps } => g.program.rmsnorm(x, gamma, eps, dt),
        }
    }
}

/// The feed-forward block of a transformer layer.
#[derive(Clone, Copy, Debug)]
pub enum Mlp {
    /// `down(gelu(up(x)))` (BERT); GELU fused into `up`'s epilogue.
    Gelu { up: Linear, down: Linear },
    /// `down(silu(gate(x)) * up(x))` (LLaMA); SiLU fused into `gate`'s epilogue.
    SwiGlu {
        gate: Linear,
        up: Linear,
        down: Linear,
    },
}

impl Mlp {
    /// The block's output, with `residual` added in the last matmul's epilogue. Intermediates are tapped
    /// as `{tap}pre_act`, `{tap}act` when `taps` is set.
    pub fn forward(
        &self,
        g: &mut Graph,
        x: TensorId,
        residual: Option<TensorId>,
        dt: DType,
        taps: Option<&str>,
    ) -> Result<TensorId> {
        match self {
            Mlp::Gelu { up, down } => {
                let h = match taps {
                    // To capture the value before the activation, the GELU runs as its own op.
                    Some(t) => {
                        let pre = up.forward(g, x, Activation::None, None, dt)?;
                        g.tap(format!("{t}pre_act"), pre)?;
                        let h = g.program.unary(crate::program::UnaryFn::Gelu, pre, dt)?;
                        g.tap(format!("{t}act"), h)?;
                        h
                    }
                    None => up.forward(g, x, Activation::Gelu, None, dt)?,
                };
                down.forward(g, h, Activation::None, residual, dt)
            }
            Mlp::SwiGlu { gate, up, down } => {
                let a = gate.forward(g, x, Activation::Silu, None, dt)?;
                let b = up.forward(g, x, Activation::None, None, dt)?;
                let h = g.program.binary(BinaryFn::Mul, a, b, dt)?;
                down.forward(g, h, Activation::None, residual, dt)
            }
        }
    }
}
