//! GPU against CPU, bit for bit: every op on odd shapes and special values, the fast matmul path, ops split
//! over several bindings or dispatches, the GL backend and a lost device. Run alone under GL in CI.
//!
//! One test binary per suite (cargo builds and links each once); each file below was its own binary.

#[path = "../cli_common/mod.rs"]
mod cli_common;
#[path = "../common/mod.rs"]
mod common;

mod chunked;
mod cube_matmul_fast;
mod cube_matmul_modes;
mod device_lost;
mod formats_identity;
mod formats_property;
mod gl_backend;
mod gpu_cpu_identity;
mod transfers;
mod vector_chain;
mod vector_exhaustive;
mod vector_identity;
mod vector_rows;
mod vector_split;
mod vector_wide;
