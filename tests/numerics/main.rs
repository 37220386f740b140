//! The numerics contract against third-party goldens and exact references: bf16 conversions, the Cube's
//! matmul, the Vector unit's functions, data movement, the shaders' translations to every backend, error
//! cases and loader fuzzing.
//!
//! One test binary per suite (cargo builds and links each once); each file below was its own binary.

#[path = "../common/mod.rs"]
mod common;
#[path = "../golden_vector_common/mod.rs"]
mod golden_vector_common;

mod errors;
mod fuzz_loaders;
mod golden_bf16;
mod golden_formats;
mod golden_manifest;
mod golden_matmul;
mod golden_vector_elementwise;
mod golden_vector_rows;
mod layout;
mod matmul_f32;
mod mte_ops;
mod narrow_accumulator;
mod onnx_backend;
mod onnx_lower;
mod onnx_read;
mod quantize_int8;
mod shader_backends;
mod vector_errors;
mod vector_math;
mod vector_math_transcendental;
