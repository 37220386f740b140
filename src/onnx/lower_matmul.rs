//! MatMul and Gemm in [`super::lower`], and the fused ops that start at a node ([`super::fuse`]): numpy
//! batching folded into the Cube's `[batch, M, K] x [batch, K, N]`, weights converted on the host as
//! ATC converts them offline, and a fused scale, bias and activation in the matmul's epilogue.

use super::attrs;
use super::initializer::Initializer;
use super::lower::{Lowering, Val};
use crate::Result;
use crate::program::{Activation, BinaryFn, Epilogue, MatmulOptions, Rounding, TensorId, UnaryFn};
use crate::reference::cast_formats::cast_formats;
use crate::tensor::{DType, Shape, Tensor};

/// A scale (`Div` or `Mul` by a constant), a bias (a constant's name) and an activation fused into a
/// matmul.
pub(super) type FusedTail<'a> = (Option<(BinaryFn, f32)>, Option<&'a str>, Activation);

impl Lowering<'_> {
    /// MatMul (numpy semantics for rank >= 2 with a 2-D or equally batched B) and Gemm (2-D, alpha =
    /// beta = 1, optional transposes and bias C); `fused` is a scale and a bias from the nodes that
    /// follow, put in the epilogue (a bias that is not `[N]` is added after instead).
    pub(super) fn matmul(&mut self, gemm: bool, fused: Option<FusedTail<'_>>) -> Result<TensorId> {
        let n = self.node;
        let a = self.arg(0)?;
        let b_name = self
            .input_name(1)
            .ok_or_else(|| self.err("input B is missing"))?
            .to_string();
        let (trans_a, trans_b) = if gemm {
            (
                attrs::int(n, "transA") == Some(1),
                attrs::int(n, "transB") == Some(1),
            )
        } else {
            (false, false)
        };
        // Gemm's alpha scales the product in the epilogue; beta scales C before it is added.
        let (alpha, beta) = match gemm {
            true => (
                attrs::float(n, "alpha").unwrap_or(1.0),
                attrs::float(n, "beta").unwrap_or(1.0),
            ),
            false => (1.0, 1.0),
        };
        if !alpha.is_finite() || !beta.is_finite() {
            return Err(self.err(format!("alpha {alpha} and beta {beta} must be finite")));
        }
        // The weight converted on the host (as ATC converts it offline), the activation in the program.
        let bf16 = self.precision.cube_bf16();
        let b = match self.val(&b_name)? {
            Val::Host(Initializer::Tensor(t)) if bf16 => {
                let data = cast_formats(t.data(), DType::Bf16, Rounding::Nearest, 0);
                self.g.constant(
                    format!("{b_name} (bf16)"),
                    Tensor::new(t.shape().clone(), data)?,
                )
            }
            _ => {
                let id = self.dev(&b_name)?;
                if bf16 {
                    self.g.program.cast(id, DType::Bf16)?
                } else {
                    id
                }
            }
        };
        let a = if bf16 {
            self.g.program.cast(a, DType::Bf16)?
        } else {
            a
        };
        let (ad, bd) = (self.dims(a)?, self.dims(b)?);
        if ad.len() < 2 || bd.len() < 2 {
            return Err(self.err(format!(
                "A {} and B {}: 1-D operands (vector products) are the next part",
                Shape::new(ad),
                Shape::new(bd)
            )));
        }
        let opts = MatmulOptions {
            trans_a,
            trans_b,
            dtype_out: self.act,
            ..MatmulOptions::default()
        };
        let n_out = if trans_b {
            bd[bd.len() - 2]
        } else {
            bd[bd.len() - 1]
        };
        let (scale, bias_name, activation) = match fused {
            Some((s, b, act)) => (s, b.map(str::to_string), act),
            None if gemm => (
                None,
                self.input_name(2).map(str::to_string),
                Activation::None,
            ),
            None => (None, None, Activation::None),
        };
        let mut epilogue = Epilogue {
            scale: scale.map(|(f, c)| if f == BinaryFn::Div { 1.0 / c } else { c }),
            activation,
            ..Epilogue::default()
        };
        if alpha != 1.0 {
            epilogue.scale = Some(alpha);
        }
        let mut late_bias = None;
        if let Some(name) = bias_name {
            let mut id = self.dev(&name)?;
            if beta != 1.0 {
                let b = self
                    .g
                    .constant(format!("{name} (beta)"), Tensor::from_f32([1], vec![beta])?);
                id = self.g.program.binary(BinaryFn::Mul, id, b, self.act)?;
            }
            if self.dims(id)? == [n_out] {
                epilogue.bias = Some(id);
            } else {
                // A bias that broadcasts otherwise is added after, and the activation after it.
                late_bias = Some(id);
                epilogue.activation = Activation::None;
            }
        }
        let p = &mut self.g.program;
        let out = if gemm || (ad.len() == 2 && bd.len() == 2) {
            p.cube_matmul_fused(a, b, opts, epilogue)?
        } else if bd.len() == 2 && ad.len() >= 2 {
            // Leading dimensions of A fold into its rows.
            let (m, k) = (ad[ad.len() - 2], ad[ad.len() - 1]);
            let rows: usize = ad[..ad.len() - 1].iter().product();
            let flat = p.reshape(a, [rows, k])?;
            let c = p.cube_matmul_fused(flat, b, opts, epilogue)?;
            let mut od = ad[..ad.len() - 2].to_vec();
            od.extend([m, bd[1]]);
            p.reshape(c, Shape::new(od))?
        } else if ad.len() == bd.len() && ad[..ad.len() - 2] == bd[..bd.len() - 2] {
            let lead: usize = ad[..ad.len() - 2].iter().product();
            let r = ad.len();
            let a3 = p.reshape(a, [lead, ad[r - 2], ad[r - 1]])?;
            let b3 = p.reshape(b, [lead, bd[r - 2], bd[r - 1]])?;
            let c = p.cube_matmul_fused(a3, b3, opts, epilogue)?;
            let mut od = ad[..r - 2].to_vec();
            od.extend([ad[r - 2], bd[r - 1]]);
            p.reshape(c, Shape::new(od))?
        } else {
            return Err(self.err(format!(
                "A {} and B {}: broadcasting batch dimensions is the next part",
                Shape::new(ad),
                Shape::new(bd)
            )));
        };
        let Some(c) = late_bias else { return Ok(out) };
        let out = self.g.program.binary(BinaryFn::Add, out, c, self.act)?;
        match activation_fn(activation) {
            Some(f) => self.g.program.unary(f, out, self.act),
            None => Ok(out),
        }
    }
}

/// The Vector unit's function for an epilogue activation (`None` for none).
pub(super) fn activation_fn(a: Activation) -> Option<UnaryFn> {
    match a {
        Activation::None => None,
        Activation::Relu => Some(UnaryFn::Relu),
        Activation::Gelu => Some(UnaryFn::Gelu),
        Activation::GeluTanh => Some(UnaryFn::GeluTanh),
        Activation::Silu => Some(UnaryFn::Silu),
    }
}
