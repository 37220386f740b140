//! `davinci train-demo` as a user runs it: one JSON object with the loss curve and the predicted step
//! times, and usage errors for bad arguments.

use crate::cli_common;
use cli_common::{davinci, ok_json, stderr, stdout};

#[test]
fn train_demo_reports_losses_and_predictions() {
    let v = ok_json(&davinci(&[
        "train-demo",
        "--steps",
        "3",
        "--executor",
        "cpu",
        "--json",
    ]));
    let losses = v["runs"][0]["losses"].as_array().unwrap();
    assert_eq!(losses.len(), 3);
    assert_eq!(v["runs"][0]["executor"], "cpu");
    assert!(v["first_loss"].as_f64().unwrap() > 2.0);
    assert!(v["chip"]["step_us"].as_f64().unwrap() > 0.0);
    assert_eq!(v["cluster"]["chips"], 384);
    assert!(v["cluster"]["step_us"].as_f64().unwrap() > v["chip"]["step_us"].as_f64().unwrap());
    let human = davinci(&["train-demo", "--steps", "1", "--executor", "cpu"]);
    let text = stdout(&human);
    assert!(
        text.contains("loss per step") && text.contains("one training step on 910c"),
        "{text}"
    );
}

#[test]
fn train_demo_refuses_bad_arguments() {
    for (args, want) in [
        (&["train-demo", "--lr", "NaN"][..], "learning rate"),
        (&["train-demo", "--lr", "-1"][..], "learning rate"),
        (&["train-demo", "--steps", "0"][..], "--steps"),
        (
            &["train-demo", "--chip", "nope", "--steps", "1"][..],
            "nope",
        ),
    ] {
        let o = davinci(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
