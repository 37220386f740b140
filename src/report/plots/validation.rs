//! `davinci validate --plot FILE.svg`: every predicted row of the measurement table as a point, predicted
//! against measured on log axes (each row in its own unit: the axes are the figures' own numbers), with
//! the diagonal where they agree and the default tolerance's band around it (15%). Counted rows, known gaps and calibration rows
//! are drawn apart, so that a gap's distance from the band is visible.

use plotters::prelude::*;

use super::{SIZE, decades, fmt_log, plot_error};
use crate::Result;
use crate::validate::{DEFAULT_TOLERANCE, Outcome, Role, Validation};

const COUNTED: RGBColor = RGBColor(66, 133, 244);
const GAP: RGBColor = RGBColor(219, 68, 55);
const CALIBRATION: RGBColor = RGBColor(120, 120, 120);

/// The points of `v`: (measured, predicted) of the counted rows, the gaps and the calibration rows.
pub fn points(v: &Validation) -> [Vec<(f64, f64)>; 3] {
    let mut out: [Vec<(f64, f64)>; 3] = Default::default();
    for c in &v.rows {
        let Outcome::Predicted { value, .. } = &c.outcome else {
            continue;
        };
        if !(value.is_finite() && *value > 0.0 && c.row.measured > 0.0) {
            continue;
        }
        let k = if c.row.role == Role::Calibration {
            2
        } else if c.counted() {
            0
        } else {
            1
        };
        out[k].push((c.row.measured, *value));
    }
    out
}

/// The SVG text of the plot.
pub fn render(v: &Validation) -> Result<String> {
    let err = plot_error("validation");
    let pts = points(v);
    let all = pts.iter().flatten().flat_map(|&(m, p)| [m, p]);
    let (lo, hi) = decades(all, (1.0, 1000.0));
    let caption = format!(
        "davinci validate: {} rows counted, median |error| {:.1}%; {} gaps, {} calibration",
        v.covered,
        100.0 * v.median_abs_error,
        v.gaps,
        v.calibration
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 16))
            .margin(16)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d((lo..hi).log_scale(), (lo..hi).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("measured (the row's unit)")
            .y_desc("predicted")
            .x_label_formatter(&fmt_log)
            .y_label_formatter(&fmt_log)
            .draw()
            .map_err(|e| err(&e))?;
        let tol = DEFAULT_TOLERANCE;
        let (above, below) = (
            format!("+{:.0}%", 100.0 * tol),
            format!("-{:.0}%", 100.0 * tol),
        );
        for (f, label, style) in [
            (
                1.0,
                "predicted = measured".to_string(),
                BLACK.stroke_width(1),
            ),
            (1.0 + tol, above, BLACK.mix(0.35).stroke_width(1)),
            (1.0 - tol, below, BLACK.mix(0.35).stroke_width(1)),
        ] {
            chart
                .draw_series(LineSeries::new([(lo, lo * f), (hi, hi * f)], style))
                .map_err(|e| err(&e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], style));
        }
        let names = ["counted", "known gap", "calibration"];
        for (k, colour) in [COUNTED, GAP, CALIBRATION].into_iter().enumerate() {
            chart
                .draw_series(pts[k].iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(|e| err(&e))?
                .label(names[k])
                .legend(move |(x, y)| Circle::new((x + 7, y), 4, colour.filled()));
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperLeft, &err)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
