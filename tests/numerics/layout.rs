//! The layering rules of `src/`, checked on the source text so that anyone can repeat them:
//! - only `src/device/` names wgpu: `kernels/` records through its `Recording`, and `exec/`, `program/`,
//!   `sched/` and everything above never see a wgpu type;
//! - no import loops between files: the graph of `use crate::...` / `use super::...` paths between the
//!   files of `src/` has no cycle. A parent's `pub use child::Item` (a facade re-export) is not an edge:
//!   it is how a module exposes its children, and a child may still use its parent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its module path (`["exec", "gpu"]` for `exec/gpu/mod.rs`).
fn files(dir: &Path, prefix: &[String], out: &mut Vec<(PathBuf, Vec<String>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        let name = p
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if p.is_dir() {
            let mut next = prefix.to_vec();
            next.push(
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
            files(&p, &next, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let mut module = prefix.to_vec();
            if name != "mod" && name != "lib" {
                module.push(name);
            }
            out.push((p, module));
        }
    }
}

/// The library's files (the binary and the build script are their own crates).
fn library_files() -> Vec<(PathBuf, Vec<String>)> {
    let mut all = Vec::new();
    files(&src(), &[], &mut all);
    all.retain(|(p, _)| {
        let rel = p.strip_prefix(src()).unwrap_or(p);
        !rel.starts_with("bin") && !rel.starts_with("build") && rel != Path::new("build.rs")
    });
    all
}

/// The code of a file without its comments (line comments only: the crate has no block comments).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("readable");
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn only_the_device_layer_names_wgpu() {
    let mut offenders = Vec::new();
    for (path, module) in library_files() {
        if module.first().map(String::as_str) == Some("device") {
            continue;
        }
        if code(&path).contains("wgpu::") || code(&path).contains("use wgpu") {
            offenders.push(path.display().to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "wgpu named outside src/device/: {offenders:?}"
    );
}

/// The module paths a file's code refers to through `crate::` and `super::`.
fn references(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // `use` statements can group paths in braces; only their first segments matter here, so every
    // `crate::a::b` and `super::a` occurrence is read as a path of identifiers.
    let text = code;
    for (start, kind) in text
        .match_indices("crate::")
        .map(|(i, _)| (i, "crate"))
        .chain(text.match_indices("super::").map(|(i, _)| (i, "super")))
    {
        // Skip a `super::` that is part of `super::super::` handled at its first occurrence.
        if start >= 7 && &text[start - 7..start] == "super::" {
            continue;
        }
        let rest = &text[start..];
        let path: Vec<&str> = rest
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        let mut base: Vec<String> = if kind == "crate" {
            Vec::new()
        } else {
            // `super` is the parent module: of `a/b.rs` (a::b) and of `a/b/mod.rs` (also a::b), `a`.
            module[..module.len().saturating_sub(1)].to_vec()
        };
        let mut segments = path.iter().skip(1).peekable();
        while segments.peek() == Some(&&"super") {
            base.pop();
            segments.next();
        }
        base.extend(segments.map(|s| s.to_string()));
        out.push(base);
    }
    out
}

#[test]
fn no_import_loops_between_files() {
    let files = library_files();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(_, m)| m.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (path, module) in &files {
        let is_mod = path
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        // Facade re-exports (`pub use child::...`, `pub use self::...`) of a module's own children are
        // not dependencies of the parent.
        let code: String = code(path)
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                let facade = is_mod
                    && l.starts_with("pub use ")
                    && !l.contains("crate::")
                    && !l.contains("super::");
                !facade
            })
            .collect::<Vec<_>>()
            .join("\n");
        for r in references(&code, module) {
            // The longest prefix that is a file of the crate: `crate::a::b::Item` is module a::b.
            let target = (0..=r.len())
                .rev()
                .map(|n| r[..n].to_vec())
                .find(|p| modules.contains(p));
            if let Some(t) = target {
                // A file referring to its own ancestors' facades through them is not a loop by itself;
                // self-references are dropped.
                if &t != module {
                    edges.entry(module.clone()).or_default().insert(t);
                }
            }
        }
    }
    // For each module, a breadth-first search back to itself finds the shortest loop through it, if any;
    // each loop is reported once (by its set of files).
    let mut cycles: Vec<String> = Vec::new();
    let mut seen: BTreeSet<BTreeSet<Vec<String>>> = BTreeSet::new();
    for start in &modules {
        let mut prev: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut found = None;
        while let Some(n) = queue.pop_front() {
            for m in edges.get(&n).into_iter().flatten() {
                if m == start {
                    found = Some(n.clone());
                    break;
                }
                if !prev.contains_key(m) {
                    prev.insert(m.clone(), n.clone());
                    queue.push_back(m.clone());
                }
            }
            if found.is_some() {
                break;
            }
        }
        let Some(mut last) = found else { continue };
        let mut path = vec![last.clone()];
        while &last != start {
            last = prev[&last].clone();
            path.push(last.clone());
        }
        path.reverse();
        if seen.insert(path.iter().cloned().collect()) {
            let names: Vec<String> = path
                .iter()
                .map(|m| format!("crate::{}", m.join("::")))
                .collect();
            cycles.push(format!("{} -> (back to the first)", names.join(" -> ")));
        }
    }
    assert!(
        cycles.is_empty(),
        "import loops between files:\n{}",
        cycles.join("\n")
    );
}
