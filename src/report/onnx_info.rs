//! `davinci run MODEL.onnx --info`: what an ONNX model holds (`onnx::info`), as a report: producer and
//! opset, inputs and outputs with their dimensions, initializers, the op histogram, and the nodes whose
//! ops are outside the importer's op set.

use std::path::Path;

use serde_json::{Value, json};

use super::{Report, Table};
use crate::Result;
use crate::onnx::{OPSETS, OnnxModel};

/// Reads `path` and describes it.
pub fn run(path: &Path) -> Result<Report> {
    let model = OnnxModel::open(path)?;
    let i = model.info();
    let opset_note = match i.opset {
        Some(v) if OPSETS.contains(&v) => String::new(),
        Some(v) => format!(
            " ({v} is outside the opsets {}-{} the importer is written for)",
            OPSETS.start(),
            OPSETS.end()
        ),
        None => " (no default-domain opset imported)".to_string(),
    };
    let mut io = Table::new(&[
        ("", false),
        ("name", false),
        ("type", false),
        ("dims", false),
    ]);
    for (kind, list) in [("input", &i.inputs), ("output", &i.outputs)] {
        for v in list {
            io.row(vec![
                kind.to_string(),
                v.name.clone(),
                v.elem_type.clone(),
                v.dims_text(),
            ]);
        }
    }
    let mut ops = Table::new(&[("op", false), ("nodes", true)]);
    let mut by_count: Vec<(&String, &usize)> = i.ops.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (op, n) in &by_count {
        ops.row(vec![op.to_string(), n.to_string()]);
    }
    let mut human = format!(
        "{}: ONNX IR {}, opset {}{opset_note}, made by {}\n{} nodes, {} initializers ({:.1} MB)\n\n{}\n{}",
        path.display(),
        i.ir_version.map_or("?".into(), |v| v.to_string()),
        i.opset.map_or("?".into(), |v| v.to_string()),
        if i.producer.is_empty() {
            "?"
        } else {
            &i.producer
        },
        i.nodes,
        i.initializers,
        i.initializer_bytes as f64 / 1e6,
        io.render(),
        ops.render()
    );
    if i.outside.is_empty() {
        human.push_str("\nevery op is in the importer's op set\n");
    } else {
        human.push_str(&format!(
            "\n{} node(s) outside the importer's op set:\n",
            i.outside.len()
        ));
        for n in &i.outside {
            human.push_str(&format!(
                "  {} ({}{})\n",
                n.name,
                domain(&n.domain),
                n.op_type
            ));
        }
    }
    let json = json!({
        "path": path.display().to_string(),
        "ir_version": i.ir_version,
        "opset": i.opset,
        "producer": i.producer,
        "inputs": i.inputs.iter().map(|v| v.json()).collect::<Vec<_>>(),
        "outputs": i.outputs.iter().map(|v| v.json()).collect::<Vec<_>>(),
        "initializers": i.initializers,
        "initializer_bytes": i.initializer_bytes as f64,
        "nodes": i.nodes,
        "ops": i.ops,
        "outside_op_set": i.outside.iter().map(|n| json!({
            "name": n.name, "op_type": n.op_type, "domain": n.domain,
        })).collect::<Vec<Value>>(),
    });
    Ok(Report {
        json,
        human,
        failure: None,
    })
}

fn domain(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!("{d}.")
    }
}
