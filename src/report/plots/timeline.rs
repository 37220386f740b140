//! The per-core timeline of one op of a prediction: for the first cores the op uses, one row per lane
//! (MTE2, MTE1, Cube, FixPipe on a Cube core; MTE2, Vector, MTE3 on a Vector core) with its busy
//! intervals, from the op's start. The full timeline, every core, is the Chrome trace (`--trace`).

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::{SIZE, plot_error};
use crate::sched::Prediction;
use crate::sched::timeline::{CoreId, Lane};
use crate::{Error, Result};

/// Cores shown: enough to see the pipeline's overlap and the blocks' spread, few enough to read.
pub const MAX_CORES: usize = 6;

fn lane_colour(l: Lane) -> RGBColor {
    match l {
        Lane::Mte2 => RGBColor(66, 133, 244),
        Lane::Mte1 => RGBColor(251, 188, 5),
        Lane::Cube => RGBColor(219, 68, 55),
        Lane::FixPipe => RGBColor(15, 157, 88),
        Lane::Vector => RGBColor(171, 71, 188),
        Lane::Mte3 => RGBColor(0, 172, 193),
    }
}

/// The op that takes longest in `pred` (the one a timeline is most often wanted for).
pub fn longest_op(pred: &Prediction) -> usize {
    pred.ops
        .iter()
        .max_by(|a, b| a.time.0.total_cmp(&b.time.0))
        .map_or(0, |o| o.index)
}

/// The SVG text of op `op`'s timeline in `pred`.
pub fn render(pred: &Prediction, op: usize, title: &str) -> Result<String> {
    let err = plot_error("timeline");
    let span = pred.timeline.kernels.iter().find(|k| k.op == op).ok_or_else(|| {
        Error::Usage(format!(
            "timeline: the program has no op {op} with a timeline (ops 0..{} ; views and host-only ops have none)",
            pred.ops.len()
        ))
    })?;
    let events: Vec<_> = pred.timeline.events.iter().filter(|e| e.op == op).collect();
    if events.is_empty() {
        return Err(Error::Usage(format!(
            "timeline: op {op} ({}) keeps no core busy (a view, or an op the host does); pick another with \
             --plot-op",
            span.kernel
        )));
    }
    let mut cores: BTreeMap<CoreId, Vec<Lane>> = BTreeMap::new();
    for e in &events {
        let lanes = cores.entry(e.core).or_default();
        if !lanes.contains(&e.lane) {
            lanes.push(e.lane);
        }
    }
    let used = cores.len();
    let rows: Vec<(CoreId, Lane)> = cores
        .into_iter()
        .take(MAX_CORES)
        .flat_map(|(c, mut lanes)| {
            lanes.sort_by_key(|l| l.index());
            lanes.into_iter().map(move |l| (c, l))
        })
        .collect();
    let t0 = span.start.0;
    let end = events
        .iter()
        .map(|e| e.start.0 + e.dur.0 - t0)
        .fold(span.dur.0, f64::max)
        / 1e3;
    let caption = format!(
        "{title}: op {op} {} on {} ({} of {used} cores shown)",
        span.kernel,
        pred.chip.name,
        used.min(MAX_CORES)
    );
    // Rows are segments of the y axis, each label centred on its row.
    let label = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => rows.get(*i as usize).map_or(String::new(), |(c, l)| {
            format!("die{} {}{} {}", c.die, c.kind.name(), c.index, l.name())
        }),
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
            .y_label_area_size(130)
            // Room on the right for the legend.
            .build_cartesian_2d(
                0.0..end.max(1e-3) * 1.22,
                (0..(rows.len() as i32 - 1).max(0)).into_segmented(),
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("time from the start of the op (us)")
            .y_desc("core and lane")
            .y_labels(rows.len().max(1))
            .y_label_formatter(&label)
            .disable_y_mesh()
            .draw()
            .map_err(|e| err(&e))?;
        for lane in Lane::ALL {
            let bars: Vec<_> = events
                .iter()
                .filter(|e| e.lane == lane)
                .filter_map(|e| {
                    let row = rows.iter().position(|r| *r == (e.core, e.lane))? as i32;
                    let (a, b) = ((e.start.0 - t0) / 1e3, (e.start.0 + e.dur.0 - t0) / 1e3);
                    let (lo, hi) = (SegmentValue::Exact(row), SegmentValue::Exact(row + 1));
                    let mut r = Rectangle::new([(a, lo), (b, hi)], lane_colour(lane).filled());
                    r.set_margin(2, 2, 0, 0);
                    Some(r)
                })
                .collect();
            if bars.is_empty() {
                continue;
            }
            chart
                .draw_series(bars)
                .map_err(|e| err(&e))?
                .label(lane.name())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], lane_colour(lane).filled())
                });
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperRight, &err)?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
