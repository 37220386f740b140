//! The fused ops of [`super::fuse`] recorded in [`super::lower`]: each records one op under the name of
//! the pattern's result. Where a shape the plan could not see rules the fused op out (a norm weight that
//! is not `[len]`, a mask that would grow x, a softmax on another axis), the same arithmetic is recorded
//! step by step instead, so a fusion never refuses a graph the node-by-node lowering takes.

use super::fuse::Fused;
use super::lower::{Lowering, Val};
use crate::Result;
use crate::program::{BinaryFn, TensorId};

impl Lowering<'_> {
    /// A node that starts a fusion: its fused op, under the name of the pattern's result.
    pub(super) fn lower_fused(&mut self, f: &Fused) -> Result<()> {
        let act = self.act;
        let (id, out) = match f {
            Fused::Linear {
                scale,
                bias,
                activation,
                out,
            } => (
                self.matmul(false, Some((*scale, bias.as_deref(), *activation)))?,
                out,
            ),
            Fused::Unary { f, x, out } => {
                let x = self.dev(x)?;
                let dt = self.unary_dtype(*f, x)?;
                (self.g.program.unary(*f, x, dt)?, out)
            }
            Fused::LayerNorm {
                x,
                gamma,
                beta,
                eps,
                out,
            } => {
                let x = self.dev(x)?;
                let (gamma, beta) = (self.opt_dev(gamma)?, self.opt_dev(beta)?);
                let len = *self.dims(x)?.last().unwrap_or(&0);
                let fits = |l: &Self, t: Option<TensorId>| -> Result<bool> {
                    t.map_or(Ok(true), |t| l.dims(t).map(|d| d == [len]))
                };
                let id = if fits(self, gamma)? && fits(self, beta)? {
                    self.g.program.layernorm(x, gamma, beta, *eps, act)?
                } else {
                    let y = self.g.program.layernorm(x, None, None, *eps, act)?;
                    self.late(y, [(BinaryFn::Mul, gamma), (BinaryFn::Add, beta)])?
                };
                (id, out)
            }
            Fused::RmsNorm { x, gamma, eps, out } => {
                let x = self.dev(x)?;
                let gamma = self.opt_dev(gamma)?;
                let len = *self.dims(x)?.last().unwrap_or(&0);
                let id = match gamma {
                    Some(g) if self.dims(g)? != [len] => {
                        let y = self.g.program.rmsnorm(x, None, *eps, act)?;
                        self.late(y, [(BinaryFn::Mul, Some(g))])?
                    }
                    g => self.g.program.rmsnorm(x, g, *eps, act)?,
                };
                (id, out)
            }
            Fused::MaskedSoftmax { x, mask, axis, out } => {
                let (x, m) = (self.dev(x)?, self.dev(mask)?);
                let (xd, md) = (self.dims(x)?, self.dims(m)?);
                let rank = xd.len() as i64;
                // The mask is added inside the softmax when it broadcasts to x without growing it.
                let inside = md.len() <= xd.len()
                    && md
                        .iter()
                        .rev()
                        .zip(xd.iter().rev())
                        .all(|(&a, &b)| a == b || a == 1);
                if (*axis == -1 || *axis == rank - 1) && inside {
                    (self.g.program.softmax(x, Some(m), act)?, out)
                } else {
                    let dt = self.gray(&[x, m])?;
                    let sum = self.g.program.binary(BinaryFn::Add, x, m, dt)?;
                    let srank = self.dims(sum)?.len();
                    let a = super::attrs::axis(self.node, *axis, srank)?;
                    (
                        self.along_last(sum, a, |p, t| p.softmax(t, None, act))?,
                        out,
                    )
                }
            }
            Fused::Absorbed => return Ok(()),
        };
        self.vals.insert(out.clone(), Val::Dev(id));
        Ok(())
    }

    /// The device value of an optional input.
    fn opt_dev(&mut self, name: &Option<String>) -> Result<Option<TensorId>> {
        name.as_deref().map(|n| self.dev(n)).transpose()
    }

    /// `y` with each present operand applied in order (a weight and bias that did not fit the norm).
    fn late<const N: usize>(
        &mut self,
        mut y: TensorId,
        steps: [(BinaryFn, Option<TensorId>); N],
    ) -> Result<TensorId> {
        for (f, t) in steps {
            if let Some(t) = t {
                let dt = self.gray(&[y, t])?;
                y = self.g.program.binary(f, y, t, dt)?;
            }
        }
        Ok(y)
    }
}
