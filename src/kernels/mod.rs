//! The launchers: one typed Rust launcher per shader (`src/kernels/<name>.rs` for `shaders/<name>.wgsl`;
//! the two casts share `cast.rs`, and `cube_matmul.rs` also launches its fast path `cube_matmul_sg`). A
//! launcher owns its kernel's uniform struct, its bindings and its dispatch geometry, and records into a
//! [`Recording`](crate::device::Recording); the GPU executor (`src/exec/gpu/`) only says what to compute
//! and never names a wgpu type. Kernel names, sources and function codes come from
//! [`crate::kernel_table`], generated from the shaders at build time.

pub mod cast;
pub mod cube_matmul;
pub mod mte_gather;
pub mod mte_permute;
pub mod vector;
pub mod vector_binary;
pub mod vector_epilogue;
pub mod vector_layernorm;
pub mod vector_reduce;
pub mod vector_rmsnorm;
pub mod vector_rope;
pub mod vector_softmax;
pub mod vector_unary;

use crate::device::GpuBuffer;
use crate::tensor::DType;
use crate::{Error, Result};

/// A tensor on the device as a kernel reads it: its buffer and its dtype (bf16 packed two per word).
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    pub buf: &'a GpuBuffer,
    pub dtype: DType,
}

impl Operand<'_> {
    /// The shaders' `*_bf16` flag.
    pub(crate) fn bf16(&self) -> u32 {
        u32::from(self.dtype == DType::Bf16)
    }
}

/// Bytes a tensor takes in a GPU buffer (bf16 packed two per word).
pub fn device_bytes(dtype: DType, numel: usize) -> u64 {
    match dtype {
        DType::Bf16 => numel.div_ceil(2) as u64 * 4,
        DType::F32 => numel as u64 * 4,
    }
}

/// A count that the shaders index with 32 bits, or an error naming the op.
pub fn u32_of(op: &'static str, what: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        Error::shape(
            op,
            format!("{what} = {v} exceeds the GPU's 32-bit indexing; use --executor cpu"),
        )
    })
}

#[cfg(test)]
mod tests {
    /// The math library on its own: a stub Params with `zero`, and an entry point that calls every
    /// function, so naga checks all of them (an unused function is still validated, but this also
    /// checks the call signatures the Vector shaders rely on).
    #[test]
    fn vector_math_validates_with_naga() {
        let src = [
            include_str!("../../shaders/shared/bf16.wgsl"),
            include_str!("../../shaders/shared/softfloat.wgsl"),
            // Its `#import softfloat` line is resolved by hand here: softfloat is the line above.
            &include_str!("../../shaders/shared/vector_math.wgsl").replace("#import softfloat", ""),
            r#"
struct Params { n: u32, zero: u32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let x = out[i];
    let y = out[i + 1u];
    var s = vm_add(x, y) + vm_sub(x, y) + vm_mul(x, y) + vm_div(x, y) + vm_max(x, y) + vm_min(x, y);
    s += vm_sqrt(x) + vm_recip(x) + vm_rsqrt(x) + vm_exp(x) + vm_log(x) + vm_tanh(x);
    s += vm_sigmoid(x) + vm_silu(x) + vm_gelu(x) + vm_gelu_tanh(x) + vm_erf(x) + vm_erfc(x);
    s += vm_ldexp(x, 3) + vm_exp_parts(x).p + vm_nan2(x, y);
    if (vm_is_nan(s) || vm_is_inf(s) || vm_gt(x, y)) {
        s = vm_quiet(s);
    }
    out[i] = s;
}
"#,
        ]
        .join("\n");
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{e:?}"));
    }
}
