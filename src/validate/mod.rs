//! `davinci validate`: the timing model held against published measurements of Ascend hardware.
//!
//! The table ([`MEASURED`], `measured.toml` beside this file, compiled in) holds one row per published
//! figure with its source, conditions, value and tolerance. Each covered row is predicted through the
//! code paths users call ([`cases`]: the `davinci predict matmul|op` recordings, the collective cost
//! models, the cluster step model) and compared; rows the model cannot express yet say why. A row marked
//! `calibration` is where a model constant came from: it is shown, never counted, since it cannot fail.
//! A row with a `gap` is predicted and shown with its error but not counted: the mechanism it needs is
//! missing from the model, and the gap says which (the list of what to build next).

mod cases;
pub mod table;

pub use table::{Case, DEFAULT_TOLERANCE, Launch, Role, Row, Table};

use crate::{Error, Result};

/// The measurement table that ships with the crate.
pub const MEASURED: &str = include_str!("measured.toml");

/// What the model says about one row.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum Outcome {
    /// Predicted: the value in the row's unit, the signed relative error, and what bound it.
    Predicted {
        value: f64,
        error: f64,
        bound: String,
    },
    /// The model cannot express the row yet.
    NotCovered { reason: String },
}

/// One row and its outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Checked {
    pub row: Row,
    pub outcome: Outcome,
}

impl Checked {
    /// The relative error, for a predicted row.
    pub fn error(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Predicted { error, .. } => Some(error),
            Outcome::NotCovered { .. } => None,
        }
    }

    /// A counted row whose error exceeds its tolerance.
    pub fn fails(&self) -> bool {
        self.counted() && self.error().is_some_and(|e| e.abs() > self.row.tolerance)
    }

    /// Counted in the summary: predicted, not a calibration, not a known gap.
    pub fn counted(&self) -> bool {
        self.row.counts() && self.error().is_some()
    }
}

/// Every row checked, and the summary.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Validation {
    pub rows: Vec<Checked>,
    /// Counted rows (predicted validation rows).
    pub covered: usize,
    pub not_covered: usize,
    pub calibration: usize,
    /// Predicted rows not counted because the mechanism they need is missing (with the reason).
    pub gaps: usize,
    /// Counted rows outside their tolerance.
    pub failed: usize,
    /// Median of |error| over the counted rows (0 with none).
    pub median_abs_error: f64,
    pub max_abs_error: f64,
}

/// Checks the rows of `table` whose id, figure or conditions contain `filter` (case-insensitive).
pub fn validate(table: &Table, filter: Option<&str>) -> Result<Validation> {
    let want = filter.map(str::to_lowercase);
    let rows: Vec<&Row> = table
        .rows
        .iter()
        .filter(|r| want.as_deref().is_none_or(|w| r.matches(w)))
        .collect();
    if rows.is_empty() {
        return Err(Error::Usage(format!(
            "no row of the measurement table matches '{}' (the ids start: {})",
            filter.unwrap_or(""),
            table
                .rows
                .iter()
                .take(6)
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut checked = Vec::new();
    for row in rows {
        let outcome = match cases::predict_row(row)? {
            Some((value, bound)) => Outcome::Predicted {
                value,
                error: value / row.measured - 1.0,
                bound: bound.to_string(),
            },
            None => Outcome::NotCovered {
                reason: row.case.reason().unwrap_or_default().to_string(),
            },
        };
        checked.push(Checked {
            row: row.clone(),
            outcome,
        });
    }
    let mut errs: Vec<f64> = checked
        .iter()
        .filter(|c| c.counted())
        .filter_map(|c| c.error().map(f64::abs))
        .collect();
    errs.sort_by(f64::total_cmp);
    let median_abs_error = median(&errs);
    Ok(Validation {
        covered: errs.len(),
        not_covered: checked.iter().filter(|c| c.error().is_none()).count(),
        calibration: checked
            .iter()
            .filter(|c| c.row.role == Role::Calibration)
            .count(),
        gaps: checked
            .iter()
            .filter(|c| c.row.gap.is_some() && c.error().is_some())
            .count(),
        failed: checked.iter().filter(|c| c.fails()).count(),
        max_abs_error: errs.last().copied().unwrap_or(0.0),
        median_abs_error,
        rows: checked,
    })
}

/// The median of sorted values (0 for none).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }

    #[test]
    fn the_shipped_table_parses_and_every_row_has_a_source() {
        let t = Table::parse(MEASURED, "measured.toml").unwrap();
        assert!(t.rows.len() >= 40, "{} rows", t.rows.len());
        for r in &t.rows {
            assert!(r.source.len() > 8 && !r.conditions.is_empty(), "{}", r.id);
        }
    }
}
