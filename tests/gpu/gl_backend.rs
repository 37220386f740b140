//! wgpu's GL backend (GLSL ES through EGL; on a machine without a GPU, Mesa's llvmpipe) runs the shaders
//! and gives the CPU twin's bits, as Vulkan does. CI runs the GPU identity suites a second time with
//! `WGPU_BACKEND=gl`; these tests make sure that run really was on GL and check the binary end to end:
//!
//! - in-process, under `WGPU_BACKEND=gl`, the opened adapter's backend is `gl` (so the identity suites run
//!   beside it were not silently served by Vulkan);
//! - in every run, the binary started with `WGPU_BACKEND=gl` reports a GL adapter and `--executor both`
//!   agrees bit for bit on a matmul of odd sizes (the tiled kernel: GL has no subgroups here) and on
//!   Vector ops (softmax, layernorm, gelu over all of its input file).
//!
//! Without a GL driver (no EGL) the tests print `SKIP` with the reason; `DAVINCI_REQUIRE_GPU=1` makes
//! that a failure.

use crate::cli_common;
use crate::common;
use cli_common::{TempDir, davinci_env, json_of, stderr};
use davinci::Tensor;

const GL: [(&str, &str); 2] = [("WGPU_BACKEND", "gl"), ("EGL_PLATFORM", "surfaceless")];

/// Whether the binary opens a GL adapter; prints `SKIP` (or panics under `DAVINCI_REQUIRE_GPU=1`) if not.
fn gl_available() -> bool {
    let o = davinci_env(&["info", "--json"], &GL);
    let v = json_of(&o);
    let backend = v["adapter"]["backend"]
        .as_str()
        .unwrap_or("none")
        .to_string();
    if backend == "gl" {
        return true;
    }
    let why = format!(
        "no GL adapter with WGPU_BACKEND=gl (got '{backend}'; install Mesa's EGL/GLES: libegl1 \
         libegl-mesa0 libgles2 libgl1-mesa-dri); stderr: {}",
        stderr(&o).trim()
    );
    common::skip("DAVINCI_REQUIRE_GPU", &why);
    false
}

#[test]
fn the_adapter_is_gl_when_wgpu_backend_says_gl() {
    if std::env::var("WGPU_BACKEND").as_deref() != Ok("gl") {
        // Not a skip of anything GL needs: the binary tests below run GL in every run.
        eprintln!(
            "SKIP {}: WGPU_BACKEND is not gl in this process (CI's second pass sets it)",
            std::thread::current().name().unwrap_or("?")
        );
        return;
    }
    let Some(gpu) = common::gpu() else { return };
    let d = gpu.context().description();
    assert_eq!(d.backend, "gl", "{d:?}");
}

#[test]
fn matmul_on_gl_gives_the_cpu_twins_bits() {
    if !gl_available() {
        return;
    }
    for args in [
        &[
            "matmul",
            "33",
            "65",
            "17",
            "--executor",
            "both",
            "--json",
            "--repeat",
            "1",
        ][..],
        &[
            "matmul",
            "16",
            "48",
            "24",
            "--batch",
            "2",
            "--trans-b",
            "--dtype-out",
            "bf16",
            "--executor",
            "both",
            "--json",
            "--repeat",
            "1",
        ][..],
        &[
            "matmul",
            "40",
            "24",
            "8",
            "--accumulate",
            "sequential",
            "--executor",
            "both",
            "--json",
            "--repeat",
            "1",
        ][..],
    ] {
        let o = davinci_env(args, &GL);
        let v = json_of(&o);
        assert_eq!(v["bit_exact"], true, "{args:?}: {v}\n{}", stderr(&o));
        let names: Vec<&str> = v["executors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert!(
            names.contains(&"gpu") && names.contains(&"cpu"),
            "{names:?}"
        );
    }
}

#[test]
fn vector_ops_on_gl_give_the_cpu_twins_bits() {
    if !gl_available() {
        return;
    }
    let dir = TempDir::new("gl-vector");
    let x = davinci::tensor::random::gen_bf16(5, [7, 45], 4.0);
    let input = dir.path("x.safetensors");
    davinci::tensor::safetensors_io::save(&input, &[("x", &x)], None).unwrap();
    for op in ["softmax", "layernorm", "gelu", "exp", "rmsnorm", "sum"] {
        let out = dir.path(&format!("{op}.safetensors"));
        let o = davinci_env(
            &[
                "op",
                op,
                "--in",
                input.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--executor",
                "both",
                "--json",
            ],
            &GL,
        );
        let v = json_of(&o);
        assert_eq!(v["bit_exact"], true, "{op}: {v}\n{}", stderr(&o));
        let t: Tensor = davinci::tensor::safetensors_io::TensorFile::open(&out)
            .unwrap()
            .tensor("out")
            .unwrap();
        assert_eq!(t.shape().dims()[0], 7, "{op}");
    }
}
