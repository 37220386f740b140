//! How far a `cube_matmul` result is from the exact product of its operands: the error that the format,
//! the accumulation model and the output rounding add together, measured against an f64 reference of the
//! same (already converted) operands. `davinci matmul` reports it, so that `--dtype`, `--accumulate`
//! (including the narrow-accumulator experiments) and `--dtype-out` can be compared on one problem.

use serde_json::{Map, Value, json};

use crate::program::MatmulGeometry;
use crate::tensor::Tensor;

/// Multiply-adds above which the f64 reference is skipped: about a second on one core.
pub const MAX_REFERENCE_MACS: f64 = 1e9;

/// The error of a result against the f64 product.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatmulError {
    /// Largest |result - exact| over the finite results.
    pub max_abs: f64,
    /// ||result - exact||_F / ||exact||_F over the finite results (0 when the exact product is 0).
    pub rel_frobenius: f64,
    /// Results that are infinite or NaN (an overflowing narrow accumulator, say); the exact product of
    /// finite operands never is.
    pub non_finite: usize,
}

impl MatmulError {
    /// The error of `out` as the product of `a` and `b` in geometry `g`, or `None` when the problem is
    /// above [`MAX_REFERENCE_MACS`].
    pub fn of(g: &MatmulGeometry, a: &Tensor, b: &Tensor, out: &Tensor) -> Option<MatmulError> {
        if g.flops() / 2.0 > MAX_REFERENCE_MACS {
            return None;
        }
        let (ad, bd) = (a.data(), b.data());
        let got = out.to_f32_vec();
        let (mut max_abs, mut diff2, mut ref2, mut non_finite) = (0f64, 0f64, 0f64, 0usize);
        for bi in 0..g.batch {
            for m in 0..g.m {
                for n in 0..g.n {
                    let exact: f64 = (0..g.k)
                        .map(|k| {
                            let x = ad.f32_at(bi * g.a_batch + m * g.a_m + k * g.a_k) as f64;
                            let y = bd.f32_at(bi * g.b_batch + k * g.b_k + n * g.b_n) as f64;
                            x * y
                        })
                        .sum();
                    let v = got[(bi * g.m + m) * g.n + n] as f64;
                    if !v.is_finite() {
                        non_finite += 1;
                        continue;
                    }
                    max_abs = max_abs.max((v - exact).abs());
                    diff2 += (v - exact) * (v - exact);
                    ref2 += exact * exact;
                }
            }
        }
        let rel_frobenius = if ref2 > 0.0 {
            (diff2 / ref2).sqrt()
        } else {
            0.0
        };
        Some(MatmulError {
            max_abs,
            rel_frobenius,
            non_finite,
        })
    }

    /// `error_vs_f64` for a report.
    pub fn json(&self) -> Value {
        let mut o = Map::new();
        o.insert("max_abs".into(), json!(self.max_abs));
        o.insert("rel_frobenius".into(), json!(self.rel_frobenius));
        o.insert("non_finite".into(), json!(self.non_finite));
        Value::Object(o)
    }

    /// One line for the human report.
    pub fn human_line(&self) -> String {
        let mut s = format!(
            "error against the exact (f64) product: max |err| {:.3e}, relative Frobenius {:.3e}",
            self.max_abs, self.rel_frobenius
        );
        if self.non_finite > 0 {
            s.push_str(&format!(
                "; {} result(s) infinite or NaN (overflow)",
                self.non_finite
            ));
        }
        s
    }
}
