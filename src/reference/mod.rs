//! CPU twins of the shaders, written loop for loop with them so that both produce the same bits: the same
//! zero padding of K fractals, the same addition order, the same reduction tree, the same hand-written
//! transcendentals and correctly rounded division and square root (`vector_math`), evaluated over many
//! elements at once on the host's vector unit (`lanes`).

// The twins hand `vm_*` functions to the loops of `lanes` inside closures (`|a, b| vm_add(a, b)`), not as
// function items: an item passed as `impl Fn` is called through a shim that the compiler did not inline
// into the AVX2 loop (seen in the disassembly), and the loop then stays scalar.
#![allow(clippy::redundant_closure)]

pub mod cast_bf16_f32;
pub mod cast_f32_bf16;
pub mod cast_formats;
pub mod cube_matmul;
pub(crate) mod lanes;
pub mod mte_concat;
pub mod mte_gather;
pub mod mte_permute;
pub mod vector_binary;
pub mod vector_epilogue;
pub mod vector_layernorm;
pub mod vector_math;
pub mod vector_reduce;
pub mod vector_rmsnorm;
pub mod vector_rope;
pub mod vector_softmax;
pub mod vector_unary;

pub use lanes::Elem;
pub(crate) use lanes::{par_fill, threads};
