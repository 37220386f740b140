//! ONNX's own backend test cases from the `onnx` package (`onnx/backend/test/data/pytorch-operator` and
//! `pytorch-converted`, copied into tests/golden_onnx/backend; see its README), run through
//! `onnx::conformance` on every executor within the tolerances ONNX's runner uses.
//!
//! What must hold: every case whose ops are all in the importer's lowered set and whose inputs are of
//! a type it takes passes, except the forms named in `KNOWN_REFUSALS`, which must be refused with that
//! reason (so a case that stops passing, or a refusal that changes, fails here); nothing fails. The
//! tally (pass, fail, unsupported) is printed.

use crate::common;
use davinci::onnx::OnnxModel;
use davinci::onnx::conformance::{Outcome, cases, run_case};
use davinci::onnx::lower::LOWERED_OPS;

/// Cases whose ops are in the set but in a form the importer refuses, with the refusal's words.
const KNOWN_REFUSALS: &[(&str, &str)] = &[
    // x ** y with y a tensor: only constant exponents are taken.
    (
        "test_operator_pow",
        "its exponent '1' is computed on the device",
    ),
];

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden_onnx/backend"
    ))
}

/// Whether every node's op is lowered and every input file holds float data (TensorProto type 1).
fn in_scope(dir: &std::path::Path) -> bool {
    let m = OnnxModel::open(dir.join("model.onnx")).unwrap();
    let ops_ok = m
        .graph()
        .node
        .iter()
        .all(|n| LOWERED_OPS.contains(&n.op_type.as_deref().unwrap_or("")));
    let float_inputs = !m.info().inputs.iter().any(|v| v.elem_type != "float");
    ops_ok && float_inputs
}

#[test]
fn onnx_backend_cases_pass_where_their_ops_are_supported() {
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    let mut failures = Vec::new();
    let mut passed = Vec::new();
    for kind in ["pytorch-operator", "pytorch-converted"] {
        let list = cases(&root().join(kind)).unwrap();
        assert!(list.len() > 30, "{kind}: the committed cases are missing");
        for dir in list {
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let out = run_case(&dir, &davinci::CpuExecutor).unwrap();
            *tally.entry(out.name()).or_default() += 1;
            let known = KNOWN_REFUSALS.iter().find(|(n, _)| *n == name);
            let line = format!("{kind}/{name}: {out:?}");
            eprintln!("{}", &line[..line.len().min(240)]);
            match (&out, known) {
                (Outcome::Pass { .. }, None) => passed.push(dir.clone()),
                (Outcome::Unsupported(why), Some((_, words))) if why.contains(words) => {}
                (Outcome::Unsupported(why), None)
                    if !in_scope(&dir) || why.contains("element type") => {}
                _ => failures.push(line),
            }
        }
    }
    eprintln!("ONNX backend cases: {tally:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!passed.is_empty());
    // The GPU executor passes the same cases.
    if let Some(gpu) = common::gpu() {
        for dir in &passed {
            let out = run_case(dir, &gpu).unwrap();
            assert!(
                matches!(out, Outcome::Pass { .. }),
                "{} on the GPU: {out:?}",
                dir.display()
            );
        }
    }
}
