//! The roofline of a prediction: every op that does arithmetic as a point, its arithmetic intensity
//! (FLOPs per byte of HBM traffic) against the rate it reaches, on log axes, under the chip's two roofs:
//! the Cube's peak (bf16) and HBM's bandwidth times intensity. Ops that move data only (no FLOPs) have no
//! place on it and are named in the caption.

use plotters::prelude::*;

use super::{SIZE, decades, fmt_log, plot_error};
use crate::Result;
use crate::sched::Prediction;

/// The SVG text of the roofline of `pred`.
pub fn render(pred: &Prediction, title: &str) -> Result<String> {
    let err = plot_error("roofline");
    let chip = &pred.chip;
    let peak = chip.peak_bf16().0 / 1e12;
    let bw = chip.hbm_bw().0 / 1e12; // TFLOPS per FLOP/byte
    let ridge = peak / bw;
    let (shown, moves): (Vec<_>, Vec<_>) = pred
        .ops
        .iter()
        .partition(|o| o.flops.0 > 0.0 && o.hbm_bytes.0 > 0.0 && o.time.0 > 0.0);
    let point = |o: &crate::sched::OpPrediction| (o.flops.0 / o.hbm_bytes.0, o.achieved().0 / 1e12);
    let (x0, x1) = decades(
        shown.iter().map(|o| point(o).0).chain([ridge]),
        (0.1, 10.0 * ridge),
    );
    let (y0, y1) = decades(
        shown.iter().map(|o| point(o).1).chain([peak * 1.5]),
        (peak / 1e3, peak),
    );
    let mut caption = format!("{title}: roofline on {}", chip.name);
    if !moves.is_empty() {
        caption.push_str(&format!(" ({} data-movement ops not shown)", moves.len()));
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 16))
            .margin(16)
            .x_label_area_size(46)
            .y_label_area_size(64)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("arithmetic intensity (FLOP per HBM byte)")
            .y_desc("achieved TFLOPS")
            .x_label_formatter(&fmt_log)
            .y_label_formatter(&fmt_log)
            .draw()
            .map_err(|e| err(&e))?;
        let roof = |x: f64| (bw * x).min(peak);
        let xs: Vec<f64> = (0..=200)
            .map(|i| x0 * (x1 / x0).powf(i as f64 / 200.0))
            .collect();
        chart
            .draw_series(LineSeries::new(
                xs.iter().map(|&x| (x, roof(x))),
                BLUE.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(format!(
                "roof: {peak:.0} TFLOPS bf16, HBM {:.2} TB/s",
                chip.hbm_bw().0 / 1e12
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
        let colour = |i: usize| Palette99::pick(i).to_rgba();
        for (i, o) in shown.iter().enumerate() {
            let at = point(o);
            chart
                .draw_series(std::iter::once(Circle::new(at, 6, colour(i).filled())))
                .map_err(|e| err(&e))?
                .label(format!("op {} {} ({})", o.index, o.kernel, o.bound.name()))
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, colour(i).filled()));
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperLeft, &err)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
