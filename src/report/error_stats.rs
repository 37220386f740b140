//! How far results are from a reference: max abs error, relative Frobenius error and cosine over the
//! finite results, with the non-finite ones counted ([`ErrorStats`]), as `davinci formats` reports them
//! against the f32 run; and for a `cube_matmul`, the same against the exact (f64) product of its own
//! operands ([`MatmulError`]), the error that the format, the accumulation model and the output rounding
//! add together, so that `davinci matmul --dtype/--accumulate/--dtype-out` can be compared on one problem.

use serde_json::{Map, Value, json};

use crate::program::MatmulGeometry;
use crate::tensor::Tensor;

/// Multiply-adds above which the f64 reference is skipped: about a second on two cores.
pub const MAX_REFERENCE_MACS: f64 = 1e9;

/// Sums over (result, reference) pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ErrorStats {
    max_abs: f64,
    diff2: f64,
    ref2: f64,
    got2: f64,
    dot: f64,
    /// Results (or references) that are infinite or NaN; the sums leave them out.
    pub non_finite: usize,
}

impl ErrorStats {
    /// The statistics of `got` against `want`, element by element.
    pub fn of(got: &[f32], want: &[f32]) -> ErrorStats {
        let mut s = ErrorStats::default();
        for (&g, &w) in got.iter().zip(want) {
            s.add(g as f64, w as f64);
        }
        s
    }

    pub fn add(&mut self, got: f64, want: f64) {
        if !got.is_finite() || !want.is_finite() {
            self.non_finite += 1;
            return;
        }
        let d = got - want;
        self.max_abs = self.max_abs.max(d.abs());
        self.diff2 += d * d;
        self.ref2 += want * want;
        self.got2 += got * got;
        self.dot += got * want;
    }

    fn merge(mut self, o: ErrorStats) -> ErrorStats {
        self.max_abs = self.max_abs.max(o.max_abs);
        self.diff2 += o.diff2;
        self.ref2 += o.ref2;
        self.got2 += o.got2;
        self.dot += o.dot;
        self.non_finite += o.non_finite;
        self
    }

    pub fn max_abs(&self) -> f64 {
        self.max_abs
    }

    /// `||got - want|| / ||want||` (the absolute norm when the reference is all zeros).
    pub fn rel_frobenius(&self) -> f64 {
        if self.ref2 > 0.0 {
            (self.diff2 / self.ref2).sqrt()
        } else {
            self.diff2.sqrt()
        }
    }

    /// The cosine of the angle between result and reference (0 when either is all zeros).
    pub fn cosine(&self) -> f64 {
        if self.ref2 > 0.0 && self.got2 > 0.0 {
            self.dot / (self.ref2 * self.got2).sqrt()
        } else {
            0.0
        }
    }
}

/// The error of a `cube_matmul` result against the f64 product.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatmulError {
    /// Largest |result - exact| over the finite results.
    pub max_abs: f64,
    /// ||result - exact||_F / ||exact||_F over the finite results.
    pub rel_frobenius: f64,
    /// Results that are infinite or NaN (an overflowing narrow accumulator, say); the exact product of
    /// finite operands never is.
    pub non_finite: usize,
}

impl MatmulError {
    /// The error of `out` as the product of `a` and `b` in geometry `g`, or `None` when the problem is
    /// above [`MAX_REFERENCE_MACS`]. The operands are widened to f64 once (B transposed, so that every
    /// dot product reads two contiguous rows) and the rows of C are shared out over the host's threads.
    pub fn of(g: &MatmulGeometry, a: &Tensor, b: &Tensor, out: &Tensor) -> Option<MatmulError> {
        if g.flops() / 2.0 > MAX_REFERENCE_MACS {
            return None;
        }
        let (ad, bd) = (a.data(), b.data());
        let got = out.to_f32_vec();
        let mut stats = ErrorStats::default();
        for bi in 0..g.batch {
            let a64: Vec<f64> = (0..g.m * g.k)
                .map(|i| ad.f32_at(bi * g.a_batch + (i / g.k) * g.a_m + (i % g.k) * g.a_k) as f64)
                .collect();
            let bt64: Vec<f64> = (0..g.n * g.k)
                .map(|i| bd.f32_at(bi * g.b_batch + (i % g.k) * g.b_k + (i / g.k) * g.b_n) as f64)
                .collect();
            let c = &got[bi * g.m * g.n..(bi + 1) * g.m * g.n];
            let rows_per =
                g.m.div_ceil(std::thread::available_parallelism().map_or(1, |n| n.get()));
            let parts: Vec<ErrorStats> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..g.m)
                    .step_by(rows_per.max(1))
                    .map(|m0| {
                        let (a64, bt64) = (&a64, &bt64);
                        s.spawn(move || {
                            let mut part = ErrorStats::default();
                            for m in m0..(m0 + rows_per).min(g.m) {
                                let row = &a64[m * g.k..(m + 1) * g.k];
                                for n in 0..g.n {
                                    let col = &bt64[n * g.k..(n + 1) * g.k];
                                    let exact: f64 = row.iter().zip(col).map(|(x, y)| x * y).sum();
                                    part.add(c[m * g.n + n] as f64, exact);
                                }
                            }
                            part
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("an error-reference thread panicked"))
                    .collect()
            });
            stats = parts.into_iter().fold(stats, ErrorStats::merge);
        }
        Some(MatmulError {
            max_abs: stats.max_abs(),
            rel_frobenius: stats.rel_frobenius(),
            non_finite: stats.non_finite,
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
