//! The plot of `davinci formats --svg FILE`: each format configuration as a point, its predicted time
//! (x) against its relative Frobenius error (y), both on log axes, drawn with plotters' SVG backend and
//! written atomically. Points with no finite positive error (an exact run, or an overflow) are left out
//! and named in the caption.

use std::path::Path;

use plotters::prelude::*;

use super::plots::log_range;
use crate::files::write_atomic;
use crate::{Error, Result};

/// One configuration on the plot.
#[derive(Clone, Debug)]
pub struct PlotPoint {
    pub label: String,
    pub time_us: f64,
    pub error: f64,
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("formats: drawing the plot failed: {e}"))
}

/// The SVG text of the plot.
pub fn render_svg(title: &str, points: &[PlotPoint]) -> Result<String> {
    let (shown, left_out): (Vec<&PlotPoint>, Vec<&PlotPoint>) = points
        .iter()
        .partition(|p| p.error.is_finite() && p.error > 0.0 && p.time_us > 0.0);
    let left_out: Vec<&str> = left_out.iter().map(|p| p.label.as_str()).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (x0, x1) = log_range(shown.iter().map(|p| p.time_us), (1.0, 10.0));
        let (y0, y1) = log_range(shown.iter().map(|p| p.error), (1e-6, 1.0));
        let mut caption = title.to_string();
        if !left_out.is_empty() {
            caption.push_str(&format!(" (not shown: {})", left_out.join(", ")));
        }
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 15))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("predicted time (us)")
            .y_desc("relative Frobenius error against f32")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(plot_error)?;
        let colour = |i: usize| Palette99::pick(i).to_rgba();
        for (i, p) in shown.iter().enumerate() {
            let at = (p.time_us, p.error);
            chart
                .draw_series(std::iter::once(Circle::new(at, 5, colour(i).filled())))
                .map_err(plot_error)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    p.label.clone(),
                    at,
                    ("sans-serif", 13).into_font().color(&BLACK),
                )))
                .map_err(plot_error)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// Renders the plot and writes it to `path` atomically.
pub fn write_svg(path: &Path, title: &str, points: &[PlotPoint]) -> Result<()> {
    let svg = render_svg(title, points)?;
    write_atomic(path, svg.as_bytes(), "plot")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_has_every_finite_point_and_names_the_rest() {
        let p = |label: &str, time_us, error| PlotPoint {
            label: label.into(),
            time_us,
            error,
        };
        let svg = render_svg(
            "test",
            &[
                p("bf16", 93.0, 9e-4),
                p("fp8_e4m3", 90.0, 1.6e-2),
                p("broken", 80.0, f64::INFINITY),
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        assert!(svg.contains("\nbf16\n") && svg.contains("\nfp8_e4m3\n"));
        assert!(svg.contains("not shown: broken"));
    }
}
