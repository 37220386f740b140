//! The kernel table, made at build time from `shaders/*.wgsl` (the pattern of vello's shader build): every
//! shader's `#import`s of `shaders/shared/*.wgsl` are resolved, the module and each of its declared
//! override variants are validated by naga as wgpu would (a broken shader is a build error), its bindings
//! and workgroup size are read back from naga's IR, and `$OUT_DIR/kernel_table.rs` is written: the
//! [`KernelId`] enum with names, sources, bindings, workgroup sizes and variants, the override values
//! (`overrides::*`) and the function codes (`codes::*`) that the shaders switch on, both shared with Rust.
//!
//! A shader's header may carry directives in comments:
//! - `// @variants NAME=v1,v2 OTHER=v1` — the override values its launcher may use; every combination is
//!   validated here, listed by `KernelId::variants` and translated by the backend tests;
//! - `// @variants-each NAME=v1,v2 ...` — the same for overrides that each select code on their own (a
//!   fused chain's stages): their combinations are too many to list, so each value of each is validated
//!   and listed with the others at their first value, and a launcher may combine the values freely;
//! - `// @subgroups` — it uses subgroup operations (wgpu's `SUBGROUP` feature);
//! - `// @bounds-proven` — its launcher proves every index in bounds, so it is built without wgpu's
//!   bounds checks (the argument is in the shader's own comments and its launcher's).
//! - `// @chunk-bytes N` — it reads and writes its buffers in whole chunks of N bytes (vec4 loads past the
//!   last element), so each is bound rounded up to a multiple of N (the pool's buffers have the room).
//! - `// @fold NAME FAMILY` — one module per value of the override NAME, in which every one-line
//!   `case FAMILY_*: { ... }` of a switch whose codes are not that value is left out (the default case
//!   stays). Drivers inline every case of a switch before they fold its constant selector away, so a
//!   pipeline of the whole module compiles every function of the family (0.3-0.7 s each on lavapipe, where
//!   one function takes a tenth of that); each folded module is validated like the whole one, and
//!   `KernelId::source_for` gives a pipeline's module.
//!
//! `#import NAME` (a whole line) includes `shaders/shared/NAME.wgsl` once per module, however often it is
//! asked for; WGSL declarations are order-independent, so where an import sits does not matter.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use naga::valid::{Capabilities, ModuleInfo, ShaderStages, SubgroupOperationSet, ValidationFlags};

#[path = "emit.rs"]
mod emit;
use emit::emit;

/// One shader as the table describes it.
#[derive(Clone)]
pub(crate) struct Kernel {
    pub(crate) stem: String,
    pub(crate) source: String,
    pub(crate) subgroups: bool,
    pub(crate) bounds_proven: bool,
    /// `// @chunk-bytes N`: its buffers are bound in whole chunks of N bytes (4 without the line).
    pub(crate) chunk_bytes: u64,
    /// (override name, allowed values), in declaration order.
    pub(crate) variants: Vec<(String, Vec<f64>)>,
    /// `// @variants-each`: the overrides vary one at a time (see the module's docs).
    pub(crate) each: bool,
    /// (binding, "Uniform" | "StorageRead" | "StorageReadWrite").
    pub(crate) bindings: Vec<(u32, &'static str)>,
    pub(crate) workgroup_size: [u32; 3],
    /// The override that sets the workgroup's x size, when one does.
    pub(crate) workgroup_override: Option<String>,
    /// Bytes of the uniform struct, as naga lays it out (0 without uniforms).
    pub(crate) uniform_size: u32,
    /// `// @fold NAME FAMILY`: the override, and each of its values with the folded module's source.
    pub(crate) fold: Option<(String, Vec<(f64, String)>)>,
}

/// Builds the table; an error names the shader and what is wrong.
pub fn generate(root: &Path, out_dir: &Path) -> Result<(), String> {
    let shader_dir = root.join("shaders");
    let mut stems: Vec<String> = fs::read_dir(&shader_dir)
        .map_err(|e| format!("{}: {e}", shader_dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wgsl"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    stems.sort();
    fs::create_dir_all(out_dir.join("shaders")).map_err(|e| e.to_string())?;
    let codes = codes(&shader_dir.join("shared").join("codes.wgsl"))?;
    let mut kernels = Vec::new();
    for stem in &stems {
        let path = shader_dir.join(format!("{stem}.wgsl"));
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut seen = BTreeSet::new();
        let source = resolve(
            &text,
            stem,
            &shader_dir.join("shared"),
            &mut seen,
            &mut Vec::new(),
        )?;
        let mut k = Kernel {
            stem: stem.clone(),
            subgroups: text.lines().any(|l| l.trim() == "// @subgroups"),
            bounds_proven: text.lines().any(|l| l.trim() == "// @bounds-proven"),
            chunk_bytes: chunk_bytes(&text, stem)?,
            variants: variants(&text, stem)?,
            each: text
                .lines()
                .any(|l| l.trim().starts_with("// @variants-each ")),
            source,
            bindings: Vec::new(),
            workgroup_size: [0; 3],
            workgroup_override: None,
            uniform_size: 0,
            fold: None,
        };
        validate(&mut k)?;
        fs::write(
            out_dir.join("shaders").join(format!("{stem}.wgsl")),
            &k.source,
        )
        .map_err(|e| e.to_string())?;
        if let Some(f) = fold_directive(&text, stem)? {
            k.fold = Some(folded(&k, &f, &codes, out_dir)?);
        }
        kernels.push(k);
    }
    check_cases(&shader_dir, &codes)?;
    let table = emit(&kernels, &codes);
    fs::write(out_dir.join("kernel_table.rs"), table).map_err(|e| e.to_string())
}

/// `text` with every `#import NAME` replaced by `shared/NAME.wgsl` (itself resolved), each file once.
fn resolve(
    text: &str,
    from: &str,
    shared: &Path,
    seen: &mut BTreeSet<String>,
    stack: &mut Vec<String>,
) -> Result<String, String> {
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        let Some(name) = line.trim().strip_prefix("#import ") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let name = name.trim();
        if stack.iter().any(|s| s == name) {
            return Err(format!(
                "{from}.wgsl:{}: #import {name} imports itself",
                n + 1
            ));
        }
        if !seen.insert(name.to_string()) {
            continue;
        }
        let path: PathBuf = shared.join(format!("{name}.wgsl"));
        let inner = fs::read_to_string(&path).map_err(|e| {
            format!(
                "{from}.wgsl:{}: #import {name}: {}: {e}",
                n + 1,
                path.display()
            )
        })?;
        stack.push(name.to_string());
        out.push_str(&resolve(&inner, name, shared, seen, stack)?);
        stack.pop();
    }
    Ok(out)
}

/// The `// @chunk-bytes N` directive: N, a multiple of 4 (4 without it).
fn chunk_bytes(text: &str, stem: &str) -> Result<u64, String> {
    let Some(v) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("// @chunk-bytes "))
    else {
        return Ok(4);
    };
    match v.trim().parse::<u64>() {
        Ok(n) if n >= 4 && n % 4 == 0 => Ok(n),
        _ => Err(format!(
            "{stem}.wgsl: @chunk-bytes '{v}' is not a multiple of 4"
        )),
    }
}

/// The `// @variants NAME=v,v ...` directive: each override's allowed values.
fn variants(text: &str, stem: &str) -> Result<Vec<(String, Vec<f64>)>, String> {
    let Some(line) = text.lines().find_map(|l| {
        let l = l.trim();
        l.strip_prefix("// @variants ")
            .or_else(|| l.strip_prefix("// @variants-each "))
    }) else {
        return Ok(Vec::new());
    };
    line.split_whitespace()
        .map(|item| {
            let (name, values) = item
                .split_once('=')
                .ok_or_else(|| format!("{stem}.wgsl: @variants item '{item}' is not NAME=v1,v2"))?;
            let values = values
                .split(',')
                .map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| format!("{stem}.wgsl: @variants {name}: '{v}'"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((name.to_string(), values))
        })
        .collect()
}

/// Every combination of the declared override values (one empty set without overrides); with
/// `@variants-each`, each value of each override with the others at their first value.
pub(crate) fn combinations(k: &Kernel) -> Vec<Vec<(String, f64)>> {
    if k.each {
        let first: Vec<(String, f64)> = k
            .variants
            .iter()
            .map(|(n, v)| (n.clone(), v.first().copied().unwrap_or(0.0)))
            .collect();
        let mut all = vec![first.clone()];
        for (i, (_, values)) in k.variants.iter().enumerate() {
            for &v in values.iter().skip(1) {
                let mut c = first.clone();
                c[i].1 = v;
                all.push(c);
            }
        }
        return all;
    }
    let mut all = vec![Vec::new()];
    for (name, values) in &k.variants {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |&v| {
                    let mut next = prefix.clone();
                    next.push((name.clone(), v));
                    next
                })
            })
            .collect();
    }
    all
}

/// Parses and validates the module and each variant; reads back bindings and the workgroup size.
fn validate(k: &mut Kernel) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(&k.source)
        .map_err(|e| format!("shader {}:\n{}", k.stem, e.emit_to_string(&k.source)))?;
    let mut caps = Capabilities::default();
    if k.subgroups {
        caps |= Capabilities::SUBGROUP;
    }
    let mut validator = naga::valid::Validator::new(ValidationFlags::all(), caps);
    validator
        .subgroup_stages(ShaderStages::COMPUTE)
        .subgroup_operations(SubgroupOperationSet::all());
    let info: ModuleInfo = validator
        .validate(&module)
        .map_err(|e| format!("shader {}: {}", k.stem, e.emit_to_string(&k.source)))?;
    let declared: BTreeSet<String> = module
        .overrides
        .iter()
        .filter_map(|(_, o)| o.name.clone())
        .collect();
    for (name, _) in &k.variants {
        if !declared.contains(name) {
            return Err(format!(
                "shader {}: @variants names {name}, which it does not declare",
                k.stem
            ));
        }
    }
    for combo in combinations(k) {
        let constants: naga::back::PipelineConstants = combo.iter().cloned().collect();
        naga::back::pipeline_constants::process_overrides(
            &module,
            &info,
            Some((naga::ShaderStage::Compute, "main")),
            &constants,
        )
        .map_err(|e| format!("shader {} with {combo:?}: {e}", k.stem))?;
    }
    let Some(ep) = module.entry_points.iter().find(|e| e.name == "main") else {
        return Err(format!("shader {}: no entry point `main`", k.stem));
    };
    k.workgroup_size = ep.workgroup_size;
    if let Some(Some(h)) = ep.workgroup_size_overrides.map(|o| o[0]) {
        // The x size is an expression over an override: name that override.
        if let naga::Expression::Override(o) = module.global_expressions[h] {
            k.workgroup_override = module.overrides[o].name.clone();
        }
    }
    for (_, var) in module.global_variables.iter() {
        let Some(b) = &var.binding else { continue };
        if b.group != 0 {
            return Err(format!("shader {}: only bind group 0 is used", k.stem));
        }
        let kind = match var.space {
            naga::AddressSpace::Uniform => {
                k.uniform_size = module.types[var.ty].inner.size(module.to_ctx());
                "Uniform"
            }
            naga::AddressSpace::Storage { access }
                if access.contains(naga::StorageAccess::STORE) =>
            {
                "StorageReadWrite"
            }
            naga::AddressSpace::Storage { .. } => "StorageRead",
            other => return Err(format!("shader {}: binding in {other:?}", k.stem)),
        };
        k.bindings.push((b.binding, kind));
    }
    k.bindings.sort();
    for (i, (b, _)) in k.bindings.iter().enumerate() {
        if *b as usize != i {
            return Err(format!(
                "shader {}: bindings must be 0, 1, 2... without gaps",
                k.stem
            ));
        }
    }
    Ok(())
}

/// The `// @fold NAME FAMILY` directive.
fn fold_directive(text: &str, stem: &str) -> Result<Option<(String, String)>, String> {
    let Some(rest) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("// @fold "))
    else {
        return Ok(None);
    };
    match rest.split_whitespace().collect::<Vec<_>>()[..] {
        [name, family] => Ok(Some((name.to_string(), family.to_string()))),
        _ => Err(format!("{stem}.wgsl: @fold '{rest}' is not NAME FAMILY")),
    }
}

/// For each value of the fold's override: the module with only that code's `case` lines of the family,
/// validated with the kernel's other overrides and written to `$OUT_DIR/shaders/<stem>.<value>.wgsl`.
fn folded(
    k: &Kernel,
    (name, family): &(String, String),
    codes: &[(String, u32)],
    out_dir: &Path,
) -> Result<(String, Vec<(f64, String)>), String> {
    let values = k
        .variants
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| format!("{}.wgsl: @fold {name} is not in its @variants", k.stem))?;
    let mut out = Vec::new();
    for v in values {
        let source = fold_source(&k.source, family, v as u32, codes)
            .map_err(|e| format!("{}.wgsl: @fold: {e}", k.stem))?;
        let mut one = Kernel {
            stem: format!("{} ({name} = {v})", k.stem),
            source,
            variants: k
                .variants
                .iter()
                .map(|(n, vs)| (n.clone(), if n == name { vec![v] } else { vs.clone() }))
                .collect(),
            // `validate` reads these back from the folded module.
            bindings: Vec::new(),
            fold: None,
            ..k.clone()
        };
        validate(&mut one)?;
        if one.bindings != k.bindings || one.uniform_size != k.uniform_size {
            return Err(format!("{}: folding changed its bindings", one.stem));
        }
        fs::write(
            out_dir.join("shaders").join(format!("{}.{v}.wgsl", k.stem)),
            &one.source,
        )
        .map_err(|e| e.to_string())?;
        out.push((v, one.source));
    }
    Ok((name.clone(), out))
}

/// `source` without the `case` lines of `family` whose codes are not `value`. Each such case must sit on
/// one line with its braces balanced, and exactly one must remain.
fn fold_source(
    source: &str,
    family: &str,
    value: u32,
    codes: &[(String, u32)],
) -> Result<String, String> {
    let prefix = format!("{family}_");
    let mut out = String::with_capacity(source.len());
    let mut kept = 0;
    for line in source.lines() {
        let labels = line
            .trim_start()
            .strip_prefix("case ")
            .and_then(|r| r.split_once(':'))
            .map(|(l, _)| l.split(',').map(str::trim).collect::<Vec<_>>());
        let Some(labels) = labels.filter(|l| l.iter().all(|n| n.starts_with(&prefix))) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        // The case's code, without a trailing comment.
        let code = line.split("//").next().unwrap_or("");
        let opens = code.matches('{').count();
        if opens == 0 || opens != code.matches('}').count() || !code.trim_end().ends_with('}') {
            return Err(format!(
                "case '{}' is not one line with balanced braces",
                line.trim()
            ));
        }
        let mut ours = false;
        for n in &labels {
            let code = codes
                .iter()
                .find(|(c, _)| c == n)
                .ok_or_else(|| format!("case {n} is not a code of shared/codes.wgsl"))?;
            ours |= code.1 == value;
        }
        if ours {
            kept += 1;
            out.push_str(line);
            out.push('\n');
        }
    }
    if kept != 1 {
        return Err(format!(
            "{kept} cases of {family} code {value} (one expected)"
        ));
    }
    Ok(out)
}

/// `const NAME: u32 = Nu;` lines of `shared/codes.wgsl`: the function codes shared with Rust.
fn codes(path: &Path) -> Result<Vec<(String, u32)>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out: Vec<(String, u32)> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("const ") else {
            continue;
        };
        let parsed = rest.split_once(": u32 = ").and_then(|(name, v)| {
            let v = v
                .trim_end_matches(';')
                .trim_end_matches('u')
                .parse::<u32>()
                .ok()?;
            Some((name.to_string(), v))
        });
        let (name, v) = parsed.ok_or_else(|| format!("codes.wgsl: cannot read '{line}'"))?;
        let family = name.split('_').next().unwrap_or("");
        if out
            .iter()
            .any(|(n, w)| *w == v && n.split('_').next() == Some(family))
        {
            return Err(format!(
                "codes.wgsl: {name} = {v} repeats a code of its family"
            ));
        }
        out.push((name, v));
    }
    Ok(out)
}

/// Every code is a `case` of the shader that switches on its family, so none falls to a default.
fn check_cases(shader_dir: &Path, codes: &[(String, u32)]) -> Result<(), String> {
    for (family, shader) in [
        ("UNARY", "shared/unary_fns"),
        ("BINARY", "shared/binary_fns"),
        ("REDUCE", "vector_reduce"),
        ("ACT", "vector_epilogue"),
        ("FMT", "cast_formats"),
        ("CUBE", "cube_matmul"),
    ] {
        let text = fs::read_to_string(shader_dir.join(format!("{shader}.wgsl")))
            .map_err(|e| e.to_string())?;
        for (name, _) in codes
            .iter()
            .filter(|(n, _)| n.starts_with(&format!("{family}_")))
        {
            // A `case` line naming it (alone or among others), or a comparison with it.
            let in_case = text.lines().any(|l| {
                l.trim_start().starts_with("case ")
                    && l.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|t| t == name)
            });
            if !in_case && !text.contains(&format!("== {name}")) {
                return Err(format!("{shader}.wgsl has no case for {name}"));
            }
        }
    }
    Ok(())
}
