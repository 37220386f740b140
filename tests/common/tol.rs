//! The one tolerance check of the tests: [`assert_close`] compares two sequences elementwise against
//! `|actual - expected| <= abs + rel * |expected|`, with NaN rules (NaN matches only NaN; an infinity only
//! the same infinity), and on failure prints how many elements are out and the first of them.
//! [`rel_frobenius`] is the norm-wise error the model goldens are bounded by.

/// An elementwise bound: absolute plus relative to the expected value.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub abs: f64,
    pub rel: f64,
}

impl Tol {
    pub const fn abs(abs: f64) -> Self {
        Tol { abs, rel: 0.0 }
    }
}

/// How many mismatches a failure lists.
const SHOWN: usize = 8;

/// Asserts that `actual` and `expected` have the same length and agree within `tol` everywhere.
#[track_caller]
pub fn assert_close<A, E>(actual: &[A], expected: &[E], tol: Tol, what: &str)
where
    A: Copy + Into<f64>,
    E: Copy + Into<f64>,
{
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: {} values against {} expected",
        actual.len(),
        expected.len()
    );
    let mut bad = Vec::new();
    let mut count = 0usize;
    let mut worst = 0.0f64;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let (a, e): (f64, f64) = (a.into(), e.into());
        let ok = if e.is_nan() || a.is_nan() {
            e.is_nan() && a.is_nan()
        } else if e.is_infinite() || a.is_infinite() {
            a == e
        } else {
            let d = (a - e).abs();
            worst = worst.max(d);
            d <= tol.abs + tol.rel * e.abs()
        };
        if !ok {
            count += 1;
            if bad.len() < SHOWN {
                bad.push(format!("  [{i}] {a:e} vs {e:e} (diff {:e})", (a - e).abs()));
            }
        }
    }
    assert!(
        count == 0,
        "{what}: {count} of {} values outside |diff| <= {:e} + {:e} |expected| (largest finite diff {worst:e}); first:\n{}",
        actual.len(),
        tol.abs,
        tol.rel,
        bad.join("\n")
    );
}

/// `||got - want||_F / ||want||_F` (the difference's norm itself when `want` is all zeros).
#[track_caller]
pub fn rel_frobenius<A, E>(got: &[A], want: &[E]) -> f64
where
    A: Copy + Into<f64>,
    E: Copy + Into<f64>,
{
    assert_eq!(got.len(), want.len(), "element counts differ");
    let (mut d, mut n) = (0.0f64, 0.0f64);
    for (&g, &w) in got.iter().zip(want) {
        let (g, w): (f64, f64) = (g.into(), w.into());
        d += (g - w).powi(2);
        n += w * w;
    }
    if n == 0.0 { d.sqrt() } else { (d / n).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "1 of 3 values")]
    fn a_value_outside_the_bound_fails() {
        assert_close(&[1.0f32, 2.0, 3.5], &[1.0f32, 2.0, 3.0], Tol::abs(0.1), "t");
    }

    #[test]
    #[should_panic(expected = "1 of 2 values")]
    fn nan_matches_only_nan() {
        assert_close(&[f32::NAN, 1.0], &[f32::NAN, f32::NAN], Tol::abs(1.0), "t");
    }

    #[test]
    fn within_the_bound_passes_and_infinities_must_match() {
        let t = Tol {
            abs: 0.0,
            rel: 0.01,
        };
        assert_close(
            &[100.5f32, f32::INFINITY],
            &[100.0f64, f64::INFINITY],
            t,
            "t",
        );
        assert_eq!(rel_frobenius(&[3.0f32, 4.0], &[0.0f32, 0.0]), 5.0);
    }
}
