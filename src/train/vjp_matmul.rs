//! Backward rules of the Cube and data-movement ops.
//!
//! `cube_matmul` with epilogue `y = act(scale * (A B) + bias) + residual`:
//! - `d residual = dy`; `dz = act'(z) * dy`, where the pre-activation `z` is recomputed by a second
//!   matmul with the same operands and the scale and bias only (f32 out, the very value the forward's
//!   epilogue fed its activation): activation recomputation, one extra matmul where an activation is fused;
//! - `d bias = sum of dz over its rows`;
//! - `dA`, `dB`: Cube matmuls of `dz` (cast to the operands' dtype: bf16 in bf16 mode) with the other
//!   operand, transposes chosen by the forward's flags, the forward's accumulation model, and the forward's
//!   scale fused into their epilogue. An operand shared by every batch entry gets the batched product
//!   summed over the batch by a Vector reduction.
//!
//! `gather_rows` (an embedding lookup): `d table = onehot(ids)^T dy`, one Cube matmul in fp32 mode with a
//! one-hot `[ids, rows]` constant. Its accumulation order is the matmul's fixed one, so the scatter-add of
//! rows is bit-reproducible on both executors without atomics; the one-hot costs `ids x rows` elements,
//! fine for the small vocabularies of these prototypes.
//!
//! `reshape` and `permute` move the gradient back (the inverse permutation); `rope` rotates it back by
//! recording `rope(dy, cos, -sin)`.

use super::Tape;
use crate::program::{
    Activation, BinaryFn, Epilogue, MatmulOp, MatmulOptions, MoveKind, MoveOp, ReduceFn, RopeOp,
    TensorId, UnaryFn,
};
use crate::tensor::{DType, Shape, Tensor};
use crate::{Error, Result};

/// The binary function `dy * act'(z)` of an activation, if it has one to apply.
pub(super) fn activation_grad(a: Activation) -> Option<BinaryFn> {
    match a {
        Activation::None => None,
        Activation::Relu => Some(BinaryFn::ReluGrad),
        Activation::Gelu => Some(BinaryFn::GeluGrad),
        Activation::GeluTanh => Some(BinaryFn::GeluTanhGrad),
        Activation::Silu => Some(BinaryFn::SiluGrad),
    }
}

impl Tape {
    pub(super) fn vjp_matmul(
        &mut self,
        mm: &MatmulOp,
        dy: TensorId,
    ) -> Result<Vec<(TensorId, TensorId)>> {
        let e = mm.epilogue;
        let mut out = Vec::new();
        if let Some(r) = e.residual
            && self.needs(r)
        {
            let dt = self.gdt[r.index()];
            out.push((r, self.graph.program.cast(dy, dt)?));
        }
        let bias = e.bias.filter(|&b| self.needs(b));
        if !(self.needs(mm.a) || self.needs(mm.b) || bias.is_some()) {
            return Ok(out);
        }
        let p = &mut self.graph.program;
        let dz = match activation_grad(e.activation) {
            None => dy,
            Some(f) => {
                let opts = MatmulOptions {
                    dtype_out: DType::F32,
                    ..mm.options
                };
                let pre = Epilogue {
                    scale: e.scale,
                    bias: e.bias,
                    ..Epilogue::default()
                };
                let z = p.cube_matmul_fused(mm.a, mm.b, opts, pre)?;
                p.binary(f, z, dy, DType::F32)?
            }
        };
        if let Some(b) = bias {
            let dt = self.gdt[b.index()];
            out.push((b, self.sum_rows(dz, dt)?));
        }
        let operand_dt = self.graph.program.desc(mm.a)?.dtype;
        let dzc = self.graph.program.cast(dz, operand_dt)?;
        let (ta, tb) = (mm.options.trans_a, mm.options.trans_b);
        if self.needs(mm.a) {
            // A = dz op(B)^T, or its transpose where A is stored transposed.
            let (x, y, gta, gtb) = if ta {
                (mm.b, dzc, tb, true)
            } else {
                (dzc, mm.b, false, !tb)
            };
            out.push((mm.a, self.grad_matmul(mm, x, y, gta, gtb, mm.a)?));
        }
        if self.needs(mm.b) {
            // B = op(A)^T dz, or its transpose where B is stored transposed.
            let (x, y, gta, gtb) = if tb {
                (dzc, mm.a, true, ta)
            } else {
                (mm.a, dzc, !ta, false)
            };
            out.push((mm.b, self.grad_matmul(mm, x, y, gta, gtb, mm.b)?));
        }
        Ok(out)
    }

    /// `x y` (with transposes) as the gradient of operand `target`, summed over the batch when `target`
    /// is shared by the batch entries.
    fn grad_matmul(
        &mut self,
        mm: &MatmulOp,
        x: TensorId,
        y: TensorId,
        trans_a: bool,
        trans_b: bool,
        target: TensorId,
    ) -> Result<TensorId> {
        let dt = self.gdt[target.index()];
        let shape = self.graph.program.desc(target)?.shape.clone();
        let summed = mm.geometry.batched_out && shape.rank() == 2;
        let opts = MatmulOptions {
            trans_a,
            trans_b,
            dtype_out: if summed { DType::F32 } else { dt },
            accumulate: mm.options.accumulate,
            format: None,
            tiling: Default::default(),
        };
        let e = Epilogue {
            scale: mm.epilogue.scale,
            ..Epilogue::default()
        };
        let p = &mut self.graph.program;
        let g = p.cube_matmul_fused(x, y, opts, e)?;
        if !summed {
            return Ok(g);
        }
        let (bt, n) = (mm.geometry.batch, shape.numel());
        let g = p.reshape(g, [bt, n])?;
        let g = p.permute(g, &[1, 0])?;
        let g = p.reduce(ReduceFn::Sum, g, dt)?;
        p.reshape(g, shape)
    }

    pub(super) fn vjp_move(
        &mut self,
        m: &MoveOp,
        dy: TensorId,
    ) -> Result<Vec<(TensorId, TensorId)>> {
        let d = self.graph.program.desc(m.input)?.clone();
        let dt = self.gdt[m.input.index()];
        let p = &mut self.graph.program;
        let g = match &m.kind {
            MoveKind::Reshape => {
                let g = p.reshape(dy, d.shape.clone())?;
                p.cast(g, dt)?
            }
            MoveKind::Permute { perm, .. } => {
                let mut inv = vec![0; perm.len()];
                for (i, &q) in perm.iter().enumerate() {
                    inv[q] = i;
                }
                let g = p.permute(dy, &inv)?;
                p.cast(g, dt)?
            }
            MoveKind::GatherRows { ids, .. } => {
                let rows = d.shape.dims()[0];
                let mut onehot = vec![0f32; ids.len() * rows];
                for (i, &id) in ids.iter().enumerate() {
                    onehot[i * rows + id as usize] = 1.0;
                }
                let oh = Tensor::from_f32(Shape::new([ids.len(), rows]), onehot)?;
                let oh = self.graph.constant(format!("onehot_{}", m.out.index()), oh);
                let p = &mut self.graph.program;
                let dyf = p.cast(dy, DType::F32)?;
                let opts = MatmulOptions {
                    trans_a: true,
                    dtype_out: dt,
                    ..MatmulOptions::default()
                };
                p.cube_matmul(oh, dyf, opts)?
            }
            MoveKind::Concat {
                other,
                width,
                other_width,
            } => {
                // Each input's gradient is its columns of dy's rows: dy as [rows, width + other],
                // transposed, its rows picked, transposed back.
                let total = width + other_width;
                let rows = d.shape.numel() / (*width).max(1);
                let t = p.reshape(dy, [rows, total])?;
                let t = p.permute(t, &[1, 0])?;
                let mut grads = Vec::new();
                for (id, start, len) in [(m.input, 0, *width), (*other, *width, *other_width)] {
                    let cols: Vec<u32> = (start as u32..(start + len) as u32).collect();
                    let g = p.gather_rows(t, &cols)?;
                    let g = p.permute(g, &[1, 0])?;
                    let shape = p.desc(id)?.shape.clone();
                    let g = p.reshape(g, shape)?;
                    grads.push((id, p.cast(g, self.gdt[id.index()])?));
                }
                return Ok(grads);
            }
        };
        Ok(vec![(m.input, g)])
    }

    pub(super) fn vjp_rope(
        &mut self,
        r: &RopeOp,
        dy: TensorId,
    ) -> Result<Vec<(TensorId, TensorId)>> {
        if self.needs(r.cos) || self.needs(r.sin) {
            return Err(Error::Invalid(
                "backward: rope's cos and sin tables are constants and get no gradient; do not mark them \
                 (or what they are computed from) as requiring one"
                    .into(),
            ));
        }
        let dt = self.gdt[r.x.index()];
        let p = &mut self.graph.program;
        let neg_sin = p.unary(UnaryFn::Neg, r.sin, DType::F32)?;
        Ok(vec![(r.x, p.rope(dy, r.cos, neg_sin, dt)?)])
    }
}
