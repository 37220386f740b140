//! Launcher of `shaders/vector_chain.wgsl`: two to four cheap elementwise Vector ops in one pass, each
//! stage's result rounded to its own dtype before the next stage reads it, so that the bits are those of
//! the ops run one by one. The GPU executor decides what to fuse (`src/exec/gpu/chain.rs`); the CPU twin is the
//! ops' own twins in order.

use super::Operand;
use super::vector::{Out, VectorParams, elementwise_with};
use crate::device::{GpuContext, Recording};
use crate::kernel_table::KernelId;
use crate::program::broadcast::MAX_DIMS;
use crate::program::{BinaryFn, UnaryFn};
use crate::tensor::DType;
use crate::{Error, Result};

/// The most stages one dispatch applies (the shader's K0..K3).
pub const MAX_STAGES: usize = 4;

/// What one stage computes from the running value t.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageFn {
    Unary(UnaryFn),
    /// `f(t, side)` when `t_left`, else `f(side, t)`.
    Binary {
        f: BinaryFn,
        t_left: bool,
    },
}

/// One stage: its function, its side operand (binary stages) and the dtype its result is rounded to.
#[derive(Clone, Copy)]
pub struct Stage<'a> {
    pub func: StageFn,
    pub side: Option<Operand<'a>>,
    pub dtype: DType,
}

/// How the chain's operands are read for each result element: the result's collapsed dimensions, and
/// the element strides of x (first) and of each stage's side operand (zeros for a unary stage's).
pub struct Layout {
    pub dims: [usize; MAX_DIMS],
    pub strides: Vec<[usize; MAX_DIMS]>,
}

/// Records `out = stage_n(... stage_0(x))`.
pub fn record(
    ctx: &GpuContext,
    rec: &mut Recording,
    x: Operand<'_>,
    stages: &[Stage<'_>],
    layout: &Layout,
    out: Out<'_>,
) -> Result<()> {
    let name = KernelId::VectorChain.name();
    if !(2..=MAX_STAGES).contains(&stages.len()) || layout.strides.len() != stages.len() + 1 {
        return Err(Error::Program(format!(
            "{name}: {} stages with {} operand layouts (2 to {MAX_STAGES} stages, one layout more)",
            stages.len(),
            layout.strides.len()
        )));
    }
    let u = |what: &'static str, v: usize| super::u32_of(name, what, v);
    let mut params = VectorParams {
        x_bf16: x.bf16(),
        ..Default::default()
    };
    let mut strides = [[0u32; 4]; MAX_STAGES + 1];
    for (d, &size) in layout.dims.iter().enumerate() {
        params.dims[d] = u("a dimension", size)?;
        for (o, s) in layout.strides.iter().enumerate() {
            strides[o][d] = u("a stride", s[d])?;
        }
    }
    params.x_strides = strides[0];
    params.y_strides = strides[1];
    params.s_strides = [strides[2], strides[3], strides[4]];
    let mut ks = [0.0; MAX_STAGES];
    let mut fs = [0.0; MAX_STAGES];
    let mut rs = [0.0; MAX_STAGES - 1];
    let mut forms = [0.0; MAX_STAGES];
    let mut sides = vec![x.buf; MAX_STAGES];
    for (k, st) in stages.iter().enumerate() {
        let (kind, code) = match st.func {
            StageFn::Unary(f) => (1.0, f.code()),
            StageFn::Binary { f, t_left } => (if t_left { 2.0 } else { 3.0 }, f.code()),
        };
        ks[k] = kind;
        fs[k] = f64::from(code);
        if k + 1 < stages.len() && st.dtype == DType::Bf16 {
            rs[k] = 1.0;
        }
        // A unary stage's side binding is any buffer (x): the shader never reads it.
        match (st.func, st.side) {
            (StageFn::Unary(_), _) => {}
            (StageFn::Binary { .. }, Some(side)) => {
                params.sides_bf16 |= side.bf16() << k;
                sides[k] = side.buf;
                forms[k] = form(&layout.dims, &layout.strides[k + 1]);
            }
            (StageFn::Binary { f, .. }, None) => {
                return Err(Error::Program(format!(
                    "{name}: stage {k} ({}) has no second operand",
                    f.name()
                )));
            }
        }
    }
    if let Some(st) = stages.iter().find(|st| !takes(st.func)) {
        return Err(Error::Program(format!(
            "{name}: {:?} is not one of the functions the chain kernel applies",
            st.func
        )));
    }
    // Chunks of 8 elements per invocation, operands at the result's index read as whole vec4s.
    let mut constants: Vec<(&'static str, f64)> = vec![("WIDE", 1.0)];
    constants.extend(["K0", "K1", "K2", "K3"].into_iter().zip(ks));
    constants.extend(["F0", "F1", "F2", "F3"].into_iter().zip(fs));
    constants.extend(["R0", "R1", "R2"].into_iter().zip(rs));
    constants.push(("FX", form(&layout.dims, &layout.strides[0])));
    constants.extend(["FS0", "FS1", "FS2", "FS3"].into_iter().zip(forms));
    let mut inputs = vec![x.buf];
    inputs.extend(sides);
    elementwise_with(
        ctx,
        rec,
        KernelId::VectorChain,
        &constants,
        params,
        &inputs,
        out,
    )
}

/// Whether the chain kernel applies this stage's function: the cheap ones (no division, no transcendental
/// but exp), which are memory-bound and so gain from fusing; the shader says why it holds no others.
pub fn takes(f: StageFn) -> bool {
    match f {
        StageFn::Unary(f) => super::vector_unary::is_wide(f),
        StageFn::Binary { f, .. } => super::vector_binary::is_wide(f, true),
    }
}

/// How an operand is read for each result element: the shader's FX / FS<k> values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// At the result's own index (0).
    Same = 0,
    /// Through its strides, `program::broadcast::Broadcast::offset` (1).
    Strided = 1,
    /// One element for all (2).
    Single = 2,
}

/// The form of an operand with `strides` over a result of `dims` (from `broadcast::plan_many`).
pub(crate) fn form_of(dims: &[usize; MAX_DIMS], strides: &[usize; MAX_DIMS]) -> Form {
    if (0..MAX_DIMS).all(|d| dims[d] == 1 || strides[d] == 0) {
        return Form::Single;
    }
    let mut expect = 1;
    for d in (0..MAX_DIMS).rev() {
        if dims[d] != 1 && strides[d] != expect {
            return Form::Strided;
        }
        expect *= dims[d];
    }
    Form::Same
}

/// [`form_of`] as the shader's constant.
fn form(dims: &[usize; MAX_DIMS], strides: &[usize; MAX_DIMS]) -> f64 {
    f64::from(form_of(dims, strides) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operand_forms() {
        let dims = [1, 1, 4, 8];
        assert_eq!(form(&dims, &[0, 0, 8, 1]), 0.0);
        assert_eq!(form(&dims, &[0, 0, 0, 0]), 2.0);
        assert_eq!(form(&dims, &[0, 0, 0, 1]), 1.0);
        assert_eq!(form(&dims, &[0, 0, 1, 0]), 1.0);
        // A result of one element: every operand is a single element.
        assert_eq!(form(&[1, 1, 1, 1], &[0, 0, 0, 0]), 2.0);
    }
}
