//! `davinci validate` as a library call: the shipped measurement table holds within its tolerances with
//! a median error of at most 10%, every row that is not counted says why, and the check can fail (a row
//! whose measured value is off is reported outside its tolerance).

use davinci::report::validate_run;
use davinci::validate::{Outcome, Role, Table, validate};

#[test]
fn the_shipped_table_holds_within_its_tolerances() {
    let t = Table::shipped().unwrap();
    let v = validate(&t, None).unwrap();
    let outside: Vec<String> = v
        .rows
        .iter()
        .filter(|c| c.fails())
        .map(|c| format!("{} ({:+.1}%)", c.row.id, 100.0 * c.error().unwrap_or(0.0)))
        .collect();
    assert!(outside.is_empty(), "outside tolerance: {outside:?}");
    assert!(v.covered >= 25, "only {} rows counted", v.covered);
    assert!(v.median_abs_error <= 0.10, "median {}", v.median_abs_error);
    for c in &v.rows {
        let r = &c.row;
        match &c.outcome {
            Outcome::NotCovered { reason } => assert!(reason.len() > 20, "{}: {reason}", r.id),
            Outcome::Predicted { value, bound, .. } => {
                assert!(value.is_finite() && *value > 0.0, "{}", r.id);
                assert!(!bound.is_empty(), "{}", r.id);
            }
        }
        if let Some(gap) = &r.gap {
            assert!(gap.len() > 20 && !c.counted(), "{}", r.id);
        }
        if r.role == Role::Calibration {
            assert!(r.calibrates.is_some() && !c.counted(), "{}", r.id);
        }
    }
    let report = validate_run::run(None, None).unwrap();
    assert!(report.failure.is_none(), "{:?}", report.failure);
    assert_eq!(report.json["failed"], 0);
}

#[test]
fn a_row_off_by_half_fails_and_the_report_names_it() {
    let text = r#"
[[row]]
id = "gemm-off"
figure = "a matmul whose measured value is made up"
conditions = "910B2, 4096^3 fp16"
source = "this test"
tag = "C"
measured = 150.0
unit = "TFLOPS"
case = { kind = "matmul", chip = "910b2", m = 4096, k = 4096, n = 4096, dtype = "fp16", trans_b = true }
"#;
    let t = Table::parse(text, "test").unwrap();
    let v = validate(&t, None).unwrap();
    assert_eq!(v.failed, 1);
    let report = validate_run::run(Some(&t), None).unwrap();
    let why = report.failure.unwrap();
    assert!(why.contains("gemm-off"), "{why}");
    assert!(report.human.contains("OUTSIDE"), "{}", report.human);
}

#[test]
fn bad_tables_and_filters_are_clear_errors() {
    let row = |extra: &str| {
        format!(
            "[[row]]\nid = \"x\"\nfigure = \"f\"\nconditions = \"c\"\nsource = \"s\"\ntag = \"C\"\n{extra}\n"
        )
    };
    let cases = [
        (
            row(
                "measured = 1.0\nunit = \"furlongs\"\ncase = { kind = \"not_covered\", reason = \"r\" }",
            ),
            "unit",
        ),
        (
            row(
                "measured = -1.0\nunit = \"us\"\ncase = { kind = \"not_covered\", reason = \"r\" }",
            ),
            "positive",
        ),
        (
            row(
                "measured = 1.0\nunit = \"us\"\ntolerance = 0.0\ncase = { kind = \"not_covered\", reason = \"r\" }",
            ),
            "tolerance",
        ),
        (
            row("measured = 1.0\nunit = \"us\"\ncase = { kind = \"teleport\" }"),
            "teleport",
        ),
        (
            row(
                "measured = 1.0\nunit = \"us\"\nrole = \"calibration\"\ncase = { kind = \"not_covered\", reason = \"r\" }",
            ),
            "calibrates",
        ),
    ];
    for (text, want) in cases {
        let e = Table::parse(&text, "bad.toml").unwrap_err().to_string();
        assert!(e.contains(want) && e.contains("bad.toml"), "{want}: {e}");
    }
    let t = Table::shipped().unwrap();
    let e = validate(&t, Some("no-such-row-anywhere"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no-such-row-anywhere"), "{e}");
    let v = validate(&t, Some("16384")).unwrap();
    assert!(v.rows.iter().all(|c| c.row.matches("16384")) && !v.rows.is_empty());
}

#[test]
fn the_validation_plot_draws_every_predicted_row_and_wants_svg() {
    let dir = std::env::temp_dir().join(format!("davinci-validate-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v.svg");
    let r = validate_run::run_with_plot(None, None, &path).unwrap();
    assert_eq!(r.json["plot"], path.display().to_string());
    let svg = std::fs::read_to_string(&path).unwrap();
    for label in [
        "predicted = measured",
        "counted",
        "known gap",
        "calibration",
        "measured",
    ] {
        assert!(svg.contains(label), "{label} missing");
    }
    let v = validate(&Table::shipped().unwrap(), None).unwrap();
    let pts = davinci::report::plots::validation::points(&v);
    let predicted = v
        .rows
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Predicted { .. }))
        .count();
    assert_eq!(pts.iter().map(Vec::len).sum::<usize>(), predicted);
    // Not an .svg name: refused, and nothing is written.
    let table = dir.join("table.toml");
    assert!(validate_run::run_with_plot(None, None, &table).is_err());
    assert!(!table.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
