//! `davinci validate`: the measurement table checked against the timing model, as a report: one line per
//! row (measured, predicted, error, what bound it, or why the row is not covered) and the summary
//! (median and largest error over the counted rows). The report fails when a counted row is outside its
//! tolerance or the median error is above [`MEDIAN_BOUND`].

use serde_json::{Value, json};

use super::Report;
use super::table::Table;
use crate::Result;
use crate::validate::{Outcome, Role, Table as Measured, Validation, validate};

/// The largest median error the validation accepts (the bar: 10%).
pub const MEDIAN_BOUND: f64 = 0.10;

/// Checks the rows of `table` (the shipped table by default) that match `filter`.
pub fn run(table: Option<&Measured>, filter: Option<&str>) -> Result<Report> {
    Ok(render(&checked(table, filter)?))
}

fn checked(table: Option<&Measured>, filter: Option<&str>) -> Result<Validation> {
    match table {
        Some(t) => validate(t, filter),
        None => validate(&Measured::shipped()?, filter),
    }
}

/// As [`run`], and draws predicted against measured into `plot` (an `.svg` file, written atomically;
/// the JSON names it as `plot`).
pub fn run_with_plot(
    table: Option<&Measured>,
    filter: Option<&str>,
    plot: &std::path::Path,
) -> Result<Report> {
    let v = checked(table, filter)?;
    super::plots::write_svg(plot, &super::plots::validation::render(&v)?)?;
    let mut r = render(&v);
    r.json["plot"] = json!(plot.display().to_string());
    r.human.push_str(&format!("\nplot: {}\n", plot.display()));
    Ok(r)
}

fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn render(v: &Validation) -> Report {
    let mut t = Table::new(&[
        ("row", false),
        ("measured", true),
        ("predicted", true),
        ("unit", false),
        ("error", true),
        ("tol", true),
        ("bound / why not covered", false),
    ]);
    for c in &v.rows {
        let r = &c.row;
        let (pred, err, note) = match &c.outcome {
            Outcome::Predicted {
                value,
                error,
                bound,
            } => {
                let mark = match (r.role, &r.gap, c.fails()) {
                    (Role::Calibration, _, _) => " (calibration)",
                    (_, Some(_), _) => " (gap)",
                    (_, _, true) => " OUTSIDE",
                    _ => "",
                };
                let note = match &r.gap {
                    Some(gap) => format!("{bound}; gap: {gap}"),
                    None => bound.clone(),
                };
                (
                    fmt_value(*value),
                    format!("{:+.1}%{mark}", 100.0 * error),
                    note,
                )
            }
            Outcome::NotCovered { reason } => ("-".into(), "not covered".into(), reason.clone()),
        };
        t.row(vec![
            r.id.clone(),
            fmt_value(r.measured),
            pred,
            r.unit.clone(),
            err,
            format!("{:.0}%", 100.0 * r.tolerance),
            note,
        ]);
    }
    let summary = format!(
        "{} rows: {} covered and counted, {} known gaps, {} not covered, {} calibration; median |error| \
         {:.1}% (at most {:.0}%), largest {:.1}%; {} outside tolerance",
        v.rows.len(),
        v.covered,
        v.gaps,
        v.not_covered,
        v.calibration,
        100.0 * v.median_abs_error,
        100.0 * MEDIAN_BOUND,
        100.0 * v.max_abs_error,
        v.failed
    );
    let human = format!(
        "the timing model against published measurements (sources: davinci validate --json)\n\n{}\n{summary}\n",
        t.render()
    );
    let failing: Vec<&str> = v
        .rows
        .iter()
        .filter(|c| c.fails())
        .map(|c| c.row.id.as_str())
        .collect();
    let failure = if !failing.is_empty() {
        Some(format!(
            "{} covered rows are outside their tolerance: {}",
            failing.len(),
            failing.join(", ")
        ))
    } else if v.median_abs_error > MEDIAN_BOUND {
        Some(format!(
            "the median error {:.1}% is above {:.0}%",
            100.0 * v.median_abs_error,
            100.0 * MEDIAN_BOUND
        ))
    } else {
        None
    };
    let rows: Vec<Value> = v
        .rows
        .iter()
        .map(|c| {
            let r = &c.row;
            let mut o = json!({
                "id": r.id, "figure": r.figure, "conditions": r.conditions, "source": r.source,
                "tag": r.tag, "measured": r.measured, "unit": r.unit, "tolerance": r.tolerance,
                "role": r.role, "case": r.case, "counted": c.counted(),
            });
            if let Some(gap) = &r.gap {
                o["gap"] = json!(gap);
            }
            match &c.outcome {
                Outcome::Predicted {
                    value,
                    error,
                    bound,
                } => {
                    o["predicted"] = json!(value);
                    o["error"] = json!(error);
                    o["bound"] = json!(bound);
                    o["within_tolerance"] = json!(error.abs() <= r.tolerance);
                }
                Outcome::NotCovered { reason } => {
                    o["not_covered"] = json!(reason);
                }
            }
            o
        })
        .collect();
    let json = json!({
        "rows": rows,
        "covered": v.covered,
        "not_covered": v.not_covered,
        "calibration": v.calibration,
        "gaps": v.gaps,
        "failed": v.failed,
        "median_abs_error": v.median_abs_error,
        "max_abs_error": v.max_abs_error,
        "median_bound": MEDIAN_BOUND,
    });
    Report {
        json,
        human,
        failure,
    }
}
