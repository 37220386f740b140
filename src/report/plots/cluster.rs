//! Plots of the cluster model: a step's time by role ([`breakdown`]: compute, exposed communication and
//! idle time, the pipeline bubble and the wait on the slowest stage, per role, beside the step's own
//! split) and a sweep's plans ([`sweep`]: tokens/s per chip against HBM per die, with the die's capacity;
//! plans that do not fit are drawn as crosses).

use plotters::prelude::*;

use super::{SIZE, decades, fmt_log, plot_error};
use crate::Result;
use crate::cluster::prediction::StepPrediction;

const COMPUTE: RGBColor = RGBColor(66, 133, 244);
const COMM: RGBColor = RGBColor(219, 68, 55);
const IDLE: RGBColor = RGBColor(189, 189, 189);

/// Compute, exposed communication and idle time of each role (ms), and the step's own split first.
pub fn role_split(p: &StepPrediction) -> Vec<(String, [f64; 3])> {
    let ms = |n: f64| n / 1e6;
    let step = ms(p.step.0);
    let mut rows = vec![(
        "step".to_string(),
        [ms(p.compute.0), ms(p.comm.0), ms(p.bubble.0)],
    )];
    for r in &p.roles {
        let m = p.micro_batches as f64;
        let compute = ms((r.fwd_compute.0 + r.bwd_compute.0 + r.recompute.0) * m + r.optimizer.0);
        let comm = ms((r.fwd_comm.0 + r.bwd_comm.0 + r.p2p.0) * m + r.dp_exposed.0);
        let idle = (step - compute - comm).max(0.0);
        rows.push((
            format!("{} ({} ranks)", r.name, r.devices),
            [compute, comm, idle],
        ));
    }
    rows
}

/// The SVG text of the breakdown of `p`.
pub fn breakdown(p: &StepPrediction, title: &str) -> Result<String> {
    let err = plot_error("step breakdown");
    let rows = role_split(p);
    let longest = rows
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>())
        .fold(p.step.0 / 1e6, f64::max);
    let n = rows.len() as i32;
    let caption = format!(
        "{title}: {} on {}, plan {}, step {:.3} ms",
        p.model,
        p.cluster,
        p.plan,
        p.step.0 / 1e6
    );
    // Roles are segments of the y axis, each label centred on its bar.
    let label = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => rows.get(*i as usize).map_or(String::new(), |r| r.0.clone()),
        _ => String::new(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 16))
            .margin(16)
            .x_label_area_size(46)
            .y_label_area_size(290)
            // Room on the right for the legend.
            .build_cartesian_2d(
                0.0..longest.max(1e-6) * 1.35,
                (0..(n - 1).max(0)).into_segmented(),
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("time in the step (ms)")
            .y_labels(rows.len())
            .y_label_formatter(&label)
            .disable_y_mesh()
            .draw()
            .map_err(|e| err(&e))?;
        let names = ["compute", "exposed communication", "idle (bubble, waiting)"];
        for (k, colour) in [COMPUTE, COMM, IDLE].into_iter().enumerate() {
            let bars = rows.iter().enumerate().map(|(i, (_, v))| {
                let a: f64 = v[..k].iter().sum();
                let (lo, hi) = (
                    SegmentValue::Exact(i as i32),
                    SegmentValue::Exact(i as i32 + 1),
                );
                let mut r = Rectangle::new([(a, lo), (a + v[k], hi)], colour.filled());
                r.set_margin(8, 8, 0, 0);
                r
            });
            chart
                .draw_series(bars)
                .map_err(|e| err(&e))?
                .label(names[k])
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled())
                });
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperRight, &err)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// HBM per die of a plan: its fullest role's.
fn per_die_gb(p: &StepPrediction) -> f64 {
    p.roles
        .iter()
        .map(|r| r.memory.per_die.0)
        .fold(0.0, f64::max)
        / 1e9
}

/// The SVG text of a sweep's plans (`ranked`, best first).
pub fn sweep(ranked: &[StepPrediction], title: &str) -> Result<String> {
    let err = plot_error("sweep");
    let capacity = ranked
        .iter()
        .flat_map(|p| p.roles.iter().map(|r| r.memory.capacity_per_die.0))
        .fold(0.0, f64::max)
        / 1e9;
    let (x0, x1) = decades(
        ranked.iter().map(per_die_gb).chain([capacity]),
        (1.0, 100.0),
    );
    let (y0, y1) = decades(ranked.iter().map(|p| p.tokens_per_s_per_chip), (1.0, 1e4));
    let fits = ranked.iter().filter(|p| p.fits).count();
    let caption = format!(
        "{title}: {} plans ({fits} fit), best {}",
        ranked.len(),
        ranked.first().map_or(String::new(), |p| p.plan.to_string())
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
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("HBM per die (GB)")
            .y_desc("tokens/s per chip")
            .x_label_formatter(&fmt_log)
            .y_label_formatter(&fmt_log)
            .draw()
            .map_err(|e| err(&e))?;
        let pts = |fit: bool| {
            ranked
                .iter()
                .filter(move |p| p.fits == fit && p.tokens_per_s_per_chip > 0.0)
                .map(|p| (per_die_gb(p), p.tokens_per_s_per_chip))
        };
        chart
            .draw_series(pts(true).map(|at| Circle::new(at, 5, COMPUTE.filled())))
            .map_err(|e| err(&e))?
            .label("plans that fit")
            .legend(|(x, y)| Circle::new((x + 7, y), 5, COMPUTE.filled()));
        chart
            .draw_series(pts(false).map(|at| Cross::new(at, 5, COMM.stroke_width(2))))
            .map_err(|e| err(&e))?
            .label("plans that do not fit")
            .legend(|(x, y)| Cross::new((x + 7, y), 5, COMM.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                [(capacity, y0), (capacity, y1)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| err(&e))?
            .label(format!("HBM capacity per die ({capacity:.0} GB)"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK));
        if let Some(best) = ranked.first().filter(|p| p.fits) {
            let at = (per_die_gb(best), best.tokens_per_s_per_chip);
            chart
                .draw_series(std::iter::once(Circle::new(at, 10, BLACK.stroke_width(2))))
                .map_err(|e| err(&e))?
                .label(format!("best plan: {}", best.plan))
                .legend(|(x, y)| Circle::new((x + 7, y), 6, BLACK.stroke_width(2)));
        }
        super::legend(&mut chart, SeriesLabelPosition::LowerLeft, &err)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
