//! Real models end to end: the MiniLM encoder against transformers' outputs, the decoder layer, and
//! training (gradients against finite differences, the demo's loss).
//!
//! One test binary per suite (cargo builds and links each once); each file below was its own binary.

#[path = "../common/mod.rs"]
mod common;
#[path = "../train_common/mod.rs"]
mod train_common;

mod bert;
mod decoder;
mod golden_minilm;
mod onnx_import;
mod onnx_minilm;
mod train;
mod train_grads;
