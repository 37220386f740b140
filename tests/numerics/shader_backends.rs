//! Every shader on every backend this machine can check: each kernel, with every set of override constants
//! its launcher uses ([`KernelId::variants`]), is validated by naga as wgpu would, its overrides resolved as
//! a pipeline would resolve them, and translated with naga's writers (the ones wgpu's backends call) to
//! SPIR-V (Vulkan), MSL (Metal), HLSL (DX12) and GLSL ES (wgpu's GL backend). A writer's error fails the
//! test, so a shader that Metal or DX12 would refuse at pipeline creation fails here.
//!
//! The output is then checked by the platform's own validator where Debian ships one: `spirv-val`
//! (SPIR-V, Vulkan 1.1 rules) and `glslangValidator` (GLSL ES). Without them the test prints `SKIP` for
//! that check, and fails instead under `DAVINCI_REQUIRE_TOOLS=1` (CI installs both). No Metal or DXC
//! compiler runs on Linux, so MSL and HLSL are checked by naga's writers alone.
//!
//! The subgroup kernel (`cube_matmul_sg`) is written to GLSL with `GL_KHR_shader_subgroup`, which
//! glslang accepts; whether a GL driver offers it is the adapter's business (the launcher uses that kernel
//! only where the adapter reports subgroup operations).

use crate::common;
use std::path::PathBuf;
use std::process::Command;

use davinci::KernelId;
use naga::back::PipelineConstants;
use naga::valid::{
    Capabilities, ModuleInfo, ShaderStages, SubgroupOperationSet, ValidationFlags, Validator,
};
use naga::{Module, ShaderStage};

/// A kernel variant's module with its overrides resolved, and the validator's info for it.
fn resolved(k: KernelId, constants: &[(&'static str, f64)]) -> (Module, ModuleInfo) {
    // The build validated every variant already; parsing again here gives the module to translate.
    // The module a pipeline with these constants is built from (a `// @fold` kernel has one per value).
    let source = k.source_for(constants);
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{}: {}", k.name(), e.emit_to_string(source)));
    let caps = if k.needs_subgroups() {
        Capabilities::SUBGROUP
    } else {
        Capabilities::empty()
    };
    let info = Validator::new(ValidationFlags::all(), caps)
        .subgroup_stages(ShaderStages::COMPUTE)
        .subgroup_operations(SubgroupOperationSet::all())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {e:?}", k.name()));
    let pc: PipelineConstants = constants.iter().map(|&(n, v)| (n.to_string(), v)).collect();
    let (m, i) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((ShaderStage::Compute, "main")),
        &pc,
    )
    .unwrap_or_else(|e| panic!("{} {constants:?}: overrides: {e:?}", k.name()));
    (m.into_owned(), i.into_owned())
}

fn label(k: KernelId, constants: &[(&'static str, f64)]) -> String {
    let c: Vec<String> = constants.iter().map(|(n, v)| format!("{n}={v}")).collect();
    format!("{}[{}]", k.name(), c.join(","))
}

/// Every (kernel, variant) pair the launchers can build.
fn all_variants() -> Vec<(KernelId, Vec<(&'static str, f64)>)> {
    KernelId::ALL
        .iter()
        .flat_map(|&k| k.variants().into_iter().map(move |c| (k, c)))
        .collect()
}

/// A validator found on PATH, or `None` after printing why its check is skipped (a failure under
/// `DAVINCI_REQUIRE_TOOLS=1`).
fn tool<'a>(name: &'a str, package: &str) -> Option<&'a str> {
    if Command::new(name).arg("--version").output().is_ok() {
        return Some(name);
    }
    common::skip(
        "DAVINCI_REQUIRE_TOOLS",
        &format!("{name} not found (install Debian's {package})"),
    );
    None
}

/// A scratch file for one validator input, unique to this process, test and name.
fn scratch(name: &str) -> PathBuf {
    let test = std::thread::current()
        .name()
        .unwrap_or("t")
        .replace("::", "-");
    let dir = std::env::temp_dir().join(format!("davinci-shaders-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Removes a test's scratch folder.
fn clean_scratch() {
    if let Some(dir) = scratch("x").parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Runs a validator on a file and fails with its output unless it accepts it.
fn accepts(tool: &str, args: &[&str], file: &PathBuf, what: &str) {
    let o = Command::new(tool)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
    assert!(
        o.status.success(),
        "{tool} rejects {what}:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn every_variant_is_listed_and_distinct() {
    let v = all_variants();
    // 28 tiled cube_matmul variants (2 x 2 x 7 formats), 120 subgroup ones (2 workgroup sizes x 2 B layouts
    // x 3 formats x 2 orders x 5 activations), one per unary function and elementwise layout (14 x 2),
    // binary function, broadcast and elementwise layout (10 x 2 x 2) and epilogue activation (5), one per
    // reduction (4), set of optional inputs of softmax (2), layernorm (4) and rmsnorm (2), each of these
    // row kernels for rows a multiple of 4 long and for others (x 2); vector_chain's values one at a time
    // (@variants-each: its first set, then 11 more stage kinds, 4 x 6 more function codes, 3 roundings
    // and 5 x 2 operand forms); one per other kernel.
    assert_eq!(
        v.len(),
        28 + 120
            + 28
            + 40
            + 5
            + (4 + 2 + 4 + 2) * 2
            + (1 + 11 + 24 + 3 + 10)
            + (KernelId::ALL.len() - 10)
    );
    let labels: std::collections::HashSet<String> = v.iter().map(|(k, c)| label(*k, c)).collect();
    assert_eq!(labels.len(), v.len(), "duplicate variants: {labels:?}");
}

#[test]
fn spirv_for_vulkan() {
    let val = tool("spirv-val", "spirv-tools");
    let options = naga::back::spv::Options {
        // SPIR-V 1.3 (Vulkan 1.1) is the first with subgroup operations.
        lang_version: (1, 3),
        ..Default::default()
    };
    for (k, c) in all_variants() {
        let (m, i) = resolved(k, &c);
        let words = naga::back::spv::write_vec(
            &m,
            &i,
            &options,
            Some(&naga::back::spv::PipelineOptions {
                shader_stage: ShaderStage::Compute,
                entry_point: "main".into(),
            }),
        )
        .unwrap_or_else(|e| panic!("{}: SPIR-V: {e}", label(k, &c)));
        assert!(
            words.len() > 5 && words[0] == 0x0723_0203,
            "{}: no SPIR-V header",
            label(k, &c)
        );
        if let Some(val) = val {
            let f = scratch(&format!("{}.spv", label(k, &c)));
            std::fs::write(&f, bytemuck::cast_slice(&words)).expect("write spv");
            accepts(val, &["--target-env", "vulkan1.1"], &f, &label(k, &c));
        }
    }
    clean_scratch();
}

#[test]
fn msl_for_metal() {
    let options = naga::back::msl::Options {
        // Metal 2.1 is the first with simdgroup operations, which the subgroup kernel needs.
        lang_version: (2, 1),
        ..Default::default()
    };
    for (k, c) in all_variants() {
        let (m, i) = resolved(k, &c);
        let (src, _) = naga::back::msl::write_string(
            &m,
            &i,
            &options,
            &naga::back::msl::PipelineOptions {
                entry_point: Some((ShaderStage::Compute, "main".into())),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{}: MSL: {e}", label(k, &c)));
        assert!(
            src.contains("kernel void"),
            "{}: no kernel in MSL",
            label(k, &c)
        );
    }
}

#[test]
fn hlsl_for_dx12() {
    let options = naga::back::hlsl::Options {
        // Shader model 6.0 is the first with wave (subgroup) intrinsics.
        shader_model: naga::back::hlsl::ShaderModel::V6_0,
        ..Default::default()
    };
    for (k, c) in all_variants() {
        let (m, i) = resolved(k, &c);
        let pipeline = naga::back::hlsl::PipelineOptions {
            entry_point: Some((ShaderStage::Compute, "main".into())),
        };
        let mut src = String::new();
        naga::back::hlsl::Writer::new(&mut src, &options, &pipeline)
            .write(&m, &i, None)
            .unwrap_or_else(|e| panic!("{}: HLSL: {e}", label(k, &c)));
        assert!(
            src.contains("[numthreads("),
            "{}: no compute entry in HLSL",
            label(k, &c)
        );
    }
}

#[test]
fn glsl_es_for_gl() {
    let val = tool("glslangValidator", "glslang-tools");
    let options = naga::back::glsl::Options {
        // GLSL ES 3.10 is the first with compute shaders; wgpu's GL backend needs at least GLES 3.1.
        version: naga::back::glsl::Version::Embedded {
            version: 310,
            is_webgl: false,
        },
        ..Default::default()
    };
    for (k, c) in all_variants() {
        let (m, i) = resolved(k, &c);
        let pipeline = naga::back::glsl::PipelineOptions {
            shader_stage: ShaderStage::Compute,
            entry_point: "main".into(),
            multiview: None,
        };
        let mut src = String::new();
        let written = naga::back::glsl::Writer::new(
            &mut src,
            &m,
            &i,
            &options,
            &pipeline,
            naga::proc::BoundsCheckPolicies::default(),
        )
        .and_then(|mut w| w.write());
        written.unwrap_or_else(|e| panic!("{}: GLSL: {e}", label(k, &c)));
        if let Some(val) = val {
            let f = scratch(&format!("{}.comp", label(k, &c)));
            std::fs::write(&f, &src).expect("write glsl");
            accepts(val, &[], &f, &label(k, &c));
        }
    }
    clean_scratch();
}

/// The validators do fail on a broken input, so their acceptance above means something.
#[test]
fn validators_reject_broken_shaders() {
    if let Some(val) = tool("glslangValidator", "glslang-tools") {
        let f = scratch("broken.comp");
        std::fs::write(&f, "#version 310 es\nvoid main() { undefined_fn(); }\n").unwrap();
        let o = Command::new(val).arg(&f).output().unwrap();
        assert!(
            !o.status.success(),
            "glslangValidator accepted a broken shader"
        );
    }
    if let Some(val) = tool("spirv-val", "spirv-tools") {
        let f = scratch("broken.spv");
        std::fs::write(
            &f,
            bytemuck::cast_slice(&[0x0723_0203u32, 0x0001_0300, 0, 1, 0, 0xdead]),
        )
        .unwrap();
        let o = Command::new(val).arg(&f).output().unwrap();
        assert!(!o.status.success(), "spirv-val accepted a broken module");
    }
    clean_scratch();
}
