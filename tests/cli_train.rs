//! `davinci train-demo` as a user runs it: one JSON object with the loss curve and the predicted step
//! times, and usage errors for bad arguments.

use std::process::{Command, Output};

use serde_json::Value;

fn davinci(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_davinci"))
        .args(args)
        .output()
        .expect("the davinci binary runs")
}

#[test]
fn train_demo_reports_losses_and_predictions() {
    let o = davinci(&["train-demo", "--steps", "3", "--executor", "cpu", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    let losses = v["runs"][0]["losses"].as_array().unwrap();
    assert_eq!(losses.len(), 3);
    assert_eq!(v["runs"][0]["executor"], "cpu");
    assert!(v["first_loss"].as_f64().unwrap() > 2.0);
    assert!(v["chip"]["step_us"].as_f64().unwrap() > 0.0);
    assert_eq!(v["cluster"]["chips"], 384);
    assert!(v["cluster"]["step_us"].as_f64().unwrap() > v["chip"]["step_us"].as_f64().unwrap());
    let human = davinci(&["train-demo", "--steps", "1", "--executor", "cpu"]);
    let text = String::from_utf8_lossy(&human.stdout);
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
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
