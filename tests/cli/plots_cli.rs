//! `--plot FILE.svg`: the roofline and the per-core timeline of `davinci predict`, the breakdown by role
//! and the sweep's plans of `davinci cluster`. Each SVG names its axes and its series, has one mark per op
//! (roofline) or per plan (sweep), and a bad path leaves nothing behind. (The Python tests parse the same
//! SVGs as XML.)

use crate::cli_common::{TempDir, davinci, json_of, ok, s, stderr};

fn svg(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
        "{}",
        &text[..100.min(text.len())]
    );
    text
}

fn has_all(text: &str, words: &[&str]) {
    for w in words {
        assert!(text.contains(w), "the SVG lacks '{w}'");
    }
}

#[test]
fn predict_draws_the_roofline_and_a_timeline() {
    let dir = TempDir::new("plots-predict");
    let (roof, tl) = (dir.path("roof.svg"), dir.path("tl.svg"));
    let o = davinci(&[
        "predict",
        "matmul",
        "2048",
        "2048",
        "2048",
        "--plot",
        s(&roof),
        "--plot-timeline",
        s(&tl),
        "--json",
    ]);
    ok(&o);
    let v = json_of(&o);
    assert_eq!(v["plot"].as_str(), Some(s(&roof)));
    let r = svg(&roof);
    has_all(
        &r,
        &[
            "arithmetic intensity (FLOP per HBM byte)",
            "achieved TFLOPS",
            "roof: 780 TFLOPS bf16",
            "op 0 cube_matmul",
        ],
    );
    // One point per op that does arithmetic, plus the legend's marker.
    assert_eq!(r.matches("<circle").count(), 2, "{r}");
    let t = svg(&tl);
    has_all(
        &t,
        &[
            "time from the start of the op (us)",
            "core and lane",
            "MTE2",
            "MTE1",
            "Cube",
            "FixPipe",
            "die0 aic0 Cube",
        ],
    );
    assert!(t.matches("<rect").count() > 20);
}

#[test]
fn a_vector_op_timeline_shows_vector_lanes() {
    let dir = TempDir::new("plots-vector");
    let tl = dir.path("tl.svg");
    ok(&davinci(&[
        "predict",
        "op",
        "softmax",
        "4096x4096",
        "--plot-timeline",
        s(&tl),
        "--plot-op",
        "0",
    ]));
    has_all(
        &svg(&tl),
        &["Vector", "MTE3", "die0 aiv0 Vector", "op 0 vector_softmax"],
    );
    // An op the program does not have is refused, and nothing is written.
    let bad = dir.path("bad.svg");
    let o = davinci(&[
        "predict",
        "op",
        "softmax",
        "64x64",
        "--plot-timeline",
        s(&bad),
        "--plot-op",
        "7",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("no op 7"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.exists());
}

#[test]
fn cluster_draws_the_breakdown_and_the_sweep() {
    let dir = TempDir::new("plots-cluster");
    let (bd, sw) = (dir.path("bd.svg"), dir.path("sw.svg"));
    ok(&davinci(&[
        "cluster",
        "train",
        "--model",
        "llama3-8b",
        "--cluster",
        "atlas800-a2",
        "--plan",
        "dp=2,tp=2,pp=2",
        "--seq",
        "2048",
        "--plot",
        s(&bd),
    ]));
    has_all(
        &svg(&bd),
        &[
            "time in the step (ms)",
            "compute",
            "exposed communication",
            "idle (bubble, waiting)",
            "stage 0",
            "step",
        ],
    );
    let o = davinci(&[
        "cluster",
        "train",
        "--model",
        "llama3-8b",
        "--cluster",
        "atlas800-a2",
        "--sweep",
        "--seq",
        "2048",
        "--plot",
        s(&sw),
        "--json",
    ]);
    ok(&o);
    let v = json_of(&o);
    let plans = v["plans"].as_u64().unwrap() as usize;
    let t = svg(&sw);
    has_all(
        &t,
        &[
            "HBM per die (GB)",
            "tokens/s per chip",
            "plans that fit",
            "plans that do not fit",
            "HBM capacity per die",
        ],
    );
    // Every plan is a mark: circles for those that fit, crosses for the rest; besides, the legend's
    // circle and the best plan's ring with its legend marker.
    let fit = v["fit"].as_u64().unwrap() as usize;
    assert_eq!(
        t.matches("<circle").count(),
        fit + 3,
        "{plans} plans, {fit} fit"
    );
}

#[test]
fn a_plot_path_that_is_not_svg_is_refused() {
    let dir = TempDir::new("plots-bad");
    let p = dir.path("roof.png");
    let o = davinci(&["predict", "matmul", "64", "64", "64", "--plot", s(&p)]);
    assert!(
        !o.status.success() && stderr(&o).contains(".svg"),
        "{}",
        stderr(&o)
    );
    assert!(!p.exists());
    let o = davinci(&[
        "predict",
        "matmul",
        "64",
        "64",
        "64",
        "--chip",
        "h100-sxm",
        "--dtype",
        "bf16",
        "--plot",
        s(&dir.path("x.svg")),
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("--plot"),
        "{}",
        stderr(&o)
    );
}
