//! Fused epilogues of `cube_matmul`: the FixPipe / Vector hand-off that turns the f32 accumulator into a
//! layer's output without a separate op, so `y = act(x W^T + b)` is one recorded op. In order, on the f32
//! accumulator `v`: `v * scale`, `+ bias[n]`, the activation, `+ residual[.., m, n]`; then one rounding to
//! the output dtype. Each step is one f32 operation (the activations are the Vector unit's own functions),
//! computed identically by the GPU and the CPU twin.

use super::matmul::{MatmulGeometry, MatmulOptions};
use super::{Op, Program, TensorId};
use crate::{Error, Result};

/// The activation applied after the bias.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    #[default]
    None,
    Relu,
    /// GELU, exact (erf) form.
    Gelu,
    /// GELU, tanh approximation.
    GeluTanh,
    Silu,
}

impl Activation {
    pub const ALL: [Activation; 5] = [
        Activation::None,
        Activation::Relu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Activation::None => "none",
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::GeluTanh => "gelu_tanh",
            Activation::Silu => "silu",
        }
    }

    /// The shader's selector (`ACT_*` in `shaders/shared/codes.wgsl`).
    pub fn code(self) -> u32 {
        use crate::kernel_table::codes;
        match self {
            Activation::None => codes::ACT_NONE,
            Activation::Relu => codes::ACT_RELU,
            Activation::Gelu => codes::ACT_GELU,
            Activation::GeluTanh => codes::ACT_GELU_TANH,
            Activation::Silu => codes::ACT_SILU,
        }
    }
}

/// What happens to the accumulator between L0C and global memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Epilogue {
    /// Multiplies the accumulator first (attention's `1/sqrt(d)`, for example).
    pub scale: Option<f32>,
    /// A tensor of shape `[N]`, added to every row.
    pub bias: Option<TensorId>,
    pub activation: Activation,
    /// A tensor of the result's shape, added last (a residual connection).
    pub residual: Option<TensorId>,
}

impl Epilogue {
    /// Whether the epilogue changes anything.
    pub fn is_identity(&self) -> bool {
        self.scale.is_none()
            && self.bias.is_none()
            && self.activation == Activation::None
            && self.residual.is_none()
    }
}

impl Program {
    /// Records `cube_matmul(a, b)` followed by `epilogue`, as one op.
    pub fn cube_matmul_fused(
        &mut self,
        a: TensorId,
        b: TensorId,
        opts: MatmulOptions,
        epilogue: Epilogue,
    ) -> Result<TensorId> {
        let (da, db) = (self.desc(a)?.clone(), self.desc(b)?.clone());
        let g = MatmulGeometry::infer(&da, &db, &opts)?;
        if opts.dtype_out == crate::DType::I32 && !epilogue.is_identity() {
            return Err(Error::dtype(
                "cube_matmul",
                "an epilogue works on f32: ask for an f32, bf16 or f16 result, not i32".to_string(),
            ));
        }
        let out_shape = g.out_shape();
        if let Some(s) = epilogue.scale
            && !s.is_finite()
        {
            return Err(Error::Invalid(format!(
                "cube_matmul: the epilogue's scale must be finite, got {s}"
            )));
        }
        if let Some(bias) = epilogue.bias {
            let d = self.desc(bias)?;
            if d.shape.dims() != [g.n] {
                return Err(Error::shape(
                    "cube_matmul",
                    format!(
                        "the bias must have shape [{}] (N of the result {out_shape}), got {}",
                        g.n, d.shape
                    ),
                ));
            }
        }
        if let Some(r) = epilogue.residual {
            let d = self.desc(r)?;
            if d.shape != out_shape {
                return Err(Error::shape(
                    "cube_matmul",
                    format!(
                        "the residual must have the result's shape {out_shape}, got {}",
                        d.shape
                    ),
                ));
            }
        }
        let out = self.cube_matmul(a, b, opts)?;
        if let Some(Op::CubeMatmul(mm)) = self.ops.last_mut() {
            mm.epilogue = epilogue;
        }
        Ok(out)
    }

    /// A linear layer `act(x W^T + bias)` with `W` stored `[out, in]` as torch does: one fused op.
    pub fn linear(
        &mut self,
        x: TensorId,
        weight: TensorId,
        bias: Option<TensorId>,
        activation: Activation,
        opts: MatmulOptions,
    ) -> Result<TensorId> {
        let opts = MatmulOptions {
            trans_b: true,
            ..opts
        };
        self.cube_matmul_fused(
            x,
            weight,
            opts,
            Epilogue {
                bias,
                activation,
                ..Epilogue::default()
            },
        )
    }
}
