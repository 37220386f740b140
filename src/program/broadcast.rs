//! Broadcasting for the Vector unit's elementwise ops (numpy rules: shapes aligned on the right, a
//! dimension of 1 or a missing one stretches). Recording turns the shapes into a [`Broadcast`]: at most four
//! collapsed dimensions of the result and, per operand, an element stride for each (0 where the operand is
//! stretched). The shaders and the CPU twins walk that same description, so they address the same elements.

use crate::tensor::Shape;
use crate::{Error, Result};

/// Dimensions a [`Broadcast`] holds after collapsing; the shaders' uniform has room for this many.
pub const MAX_DIMS: usize = 4;

/// A result of `dims` (outermost first, padded on the left with 1s) read from up to two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Broadcast {
    pub dims: [usize; MAX_DIMS],
    /// `strides[i][d]`: the element stride of operand `i` along dimension `d` (0 when stretched).
    pub strides: [[usize; MAX_DIMS]; 2],
}

impl Broadcast {
    /// Offset of result element `flat` in operand `i`.
    pub fn offset(&self, i: usize, mut flat: usize) -> usize {
        let mut off = 0;
        for d in (0..MAX_DIMS).rev() {
            let c = flat % self.dims[d];
            flat /= self.dims[d];
            off += c * self.strides[i][d];
        }
        off
    }

    /// Whether operand `i` is read contiguously, element `f` of the result from element `f`.
    pub fn is_contiguous(&self, i: usize) -> bool {
        let mut expect = 1;
        for d in (0..MAX_DIMS).rev() {
            if self.dims[d] != 1 && self.strides[i][d] != expect {
                return false;
            }
            expect *= self.dims[d];
        }
        true
    }
}

/// The numpy broadcast of two shapes, or `None` if they do not broadcast.
pub fn broadcast_shapes(a: &Shape, b: &Shape) -> Option<Shape> {
    let rank = a.rank().max(b.rank());
    let dim = |s: &Shape, d: usize| -> usize {
        let pad = rank - s.rank();
        if d < pad { 1 } else { s.dims()[d - pad] }
    };
    let mut out = Vec::with_capacity(rank);
    for d in 0..rank {
        let (x, y) = (dim(a, d), dim(b, d));
        out.push(match (x, y) {
            _ if x == y => x,
            (1, _) => y,
            (_, 1) => x,
            _ => return None,
        });
    }
    Some(Shape::new(out))
}

/// Plans reading `operands` (one or two) as a result of shape `out`; each operand must broadcast to `out`.
pub fn plan(op: &'static str, out: &Shape, operands: &[&Shape]) -> Result<Broadcast> {
    if operands.len() > 2 {
        return Err(Error::Program(format!(
            "{op}: a Broadcast describes at most two operands, not {}",
            operands.len()
        )));
    }
    let (dims, strides) = plan_many(op, out, operands)?;
    let mut b = Broadcast {
        dims,
        strides: [[0; MAX_DIMS]; 2],
    };
    for (i, s) in strides.into_iter().enumerate() {
        b.strides[i] = s;
    }
    Ok(b)
}

/// [`plan`] for any number of operands (a fused chain of elementwise ops reads up to five): the collapsed
/// dimensions of `out`, and each operand's element stride along each.
pub(crate) fn plan_many(
    op: &'static str,
    out: &Shape,
    operands: &[&Shape],
) -> Result<([usize; MAX_DIMS], Vec<[usize; MAX_DIMS]>)> {
    // Every stride below is at most the element count of its operand or of the result.
    if let Some(big) = operands
        .iter()
        .copied()
        .chain([out])
        .find(|s| s.checked_numel().is_none())
    {
        return Err(Error::shape(
            op,
            format!("{big} has more elements than this host can address"),
        ));
    }
    let rank = out.rank();
    let n = operands.len();
    // Per dimension of the result: its size and each operand's stride.
    let mut dims: Vec<(usize, Vec<usize>)> = out.dims().iter().map(|&d| (d, vec![0; n])).collect();
    for (i, s) in operands.iter().enumerate() {
        if s.rank() > rank {
            return Err(not_broadcast(op, out, operands));
        }
        let pad = rank - s.rank();
        let mut stride = 1;
        for d in (0..rank).rev() {
            let size = if d < pad { 1 } else { s.dims()[d - pad] };
            if size == dims[d].0 {
                dims[d].1[i] = if size == 1 { 0 } else { stride };
            } else if size == 1 {
                dims[d].1[i] = 0;
            } else {
                return Err(not_broadcast(op, out, operands));
            }
            stride *= size;
        }
    }
    // Drop dimensions of 1, then merge neighbours that every operand walks as one run.
    let mut merged: Vec<(usize, Vec<usize>)> = Vec::new();
    for (size, strides) in dims.into_iter().filter(|(size, _)| *size != 1) {
        if let Some(last) = merged.last_mut()
            && (0..n).all(|i| last.1[i] == strides[i] * size)
        {
            last.0 *= size;
            last.1 = strides;
            continue;
        }
        merged.push((size, strides));
    }
    if merged.len() > MAX_DIMS {
        return Err(Error::shape(
            op,
            format!(
                "the shapes {} broadcast in {} separate groups of dimensions, more than the {MAX_DIMS} the \
                 Vector kernels address; reshape the operands so that stretched dimensions are adjacent",
                list(operands),
                merged.len()
            ),
        ));
    }
    let mut out_dims = [1; MAX_DIMS];
    let mut out_strides = vec![[0; MAX_DIMS]; n];
    let skip = MAX_DIMS - merged.len();
    for (j, (size, strides)) in merged.into_iter().enumerate() {
        out_dims[skip + j] = size;
        for (i, s) in strides.into_iter().enumerate() {
            out_strides[i][skip + j] = s;
        }
    }
    Ok((out_dims, out_strides))
}

fn list(operands: &[&Shape]) -> String {
    operands
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

fn not_broadcast(op: &'static str, out: &Shape, operands: &[&Shape]) -> Error {
    Error::shape(
        op,
        format!(
            "the shapes {} do not broadcast to {out} (numpy rules: aligned on the right, each dimension \
             equal or 1)",
            list(operands)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(out: &[usize], x: &[usize], y: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let out = Shape::new(out.to_vec());
        let b = plan(
            "t",
            &out,
            &[&Shape::new(x.to_vec()), &Shape::new(y.to_vec())],
        )
        .unwrap();
        let n = out.numel();
        (
            (0..n).map(|f| b.offset(0, f)).collect(),
            (0..n).map(|f| b.offset(1, f)).collect(),
        )
    }

    #[test]
    fn row_column_and_scalar_broadcasts_address_the_right_elements() {
        // [2,3] + [3]: y repeats per row.
        assert_eq!(offsets(&[2, 3], &[2, 3], &[3]).1, vec![0, 1, 2, 0, 1, 2]);
        // [2,3] + [2,1]: y repeats along each row.
        assert_eq!(offsets(&[2, 3], &[2, 3], &[2, 1]).1, vec![0, 0, 0, 1, 1, 1]);
        // [2,3] + []: a scalar.
        assert_eq!(offsets(&[2, 3], &[2, 3], &[]).1, vec![0; 6]);
        // [2,1,3] with [1,2,1]: both stretched.
        let (x, y) = offsets(&[2, 2, 3], &[2, 1, 3], &[1, 2, 1]);
        assert_eq!(x, vec![0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
        assert_eq!(y, vec![0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn contiguous_operands_collapse_to_one_dimension() {
        let s = Shape::new([4, 5, 6]);
        let b = plan("t", &s, &[&s, &s]).unwrap();
        assert_eq!(b.dims, [1, 1, 1, 120]);
        assert!(b.is_contiguous(0) && b.is_contiguous(1));
    }

    #[test]
    fn shapes_that_do_not_broadcast_are_refused() {
        assert!(broadcast_shapes(&Shape::new([2, 3]), &Shape::new([4])).is_none());
        let e = plan("add", &Shape::new([2, 3]), &[&Shape::new([2, 4])]).unwrap_err();
        assert!(e.to_string().contains("add") && e.to_string().contains("[2, 4]"));
        // Alternating stretched dimensions need more groups than the kernels address.
        let out = Shape::new([2, 2, 2, 2, 2]);
        let e = plan(
            "add",
            &out,
            &[&Shape::new([2, 1, 2, 1, 2]), &Shape::new([1, 2, 1, 2, 1])],
        )
        .unwrap_err();
        assert!(e.to_string().contains("groups"));
    }
}
