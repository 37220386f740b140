//! The launchers: one typed Rust launcher per shader (`src/kernels/<name>.rs` for `shaders/<name>.wgsl`;
//! the two casts share `cast.rs`, and `cube_matmul.rs` also launches its fast path `cube_matmul_sg`). A
//! launcher owns its kernel's uniform struct, its bindings and its dispatch geometry, and records into a
//! [`Recording`](crate::device::Recording); the GPU executor (`src/exec/gpu/`) only says what to compute
//! and never names a wgpu type. Kernel names, sources and function codes come from
//! [`crate::kernel_table`], generated from the shaders at build time.

pub mod cast;
pub mod cast_formats;
pub mod cube_matmul;
pub mod cube_repack;
pub mod mte_concat;
pub mod mte_gather;
pub mod mte_permute;
pub mod vector;
pub mod vector_binary;
pub mod vector_chain;
pub mod vector_epilogue;
pub mod vector_layernorm;
pub mod vector_reduce;
pub mod vector_rmsnorm;
pub mod vector_rope;
pub mod vector_softmax;
pub mod vector_unary;

use crate::device::GpuBuffer;
use crate::tensor::{DType, TensorData};
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

/// Bytes a tensor takes in a GPU buffer: its elements packed into u32 words in little-endian order (bf16
/// and f16 two per word, element 2i in the low half; 8-bit formats four per word, element 4i in the low
/// byte), the last word padded with zeros.
pub fn device_bytes(dtype: DType, numel: usize) -> u64 {
    (numel as u64 * dtype.size() as u64).div_ceil(4) * 4
}

/// A tensor's elements as the words of its GPU buffer (see [`device_bytes`]).
pub fn pack_words(data: &TensorData) -> Vec<u32> {
    match data {
        TensorData::Bf16(v) => crate::numerics::pack_bf16(v),
        TensorData::F32(v) => v.iter().map(|x| x.to_bits()).collect(),
        TensorData::I32(v) => v.iter().map(|&x| x as u32).collect(),
        other => {
            let per = 4 / other.dtype().size();
            let width = 32 / per;
            (0..other.len().div_ceil(per))
                .map(|w| {
                    (0..per)
                        .filter(|j| w * per + j < other.len())
                        .fold(0u32, |acc, j| {
                            acc | (other.bits_at(w * per + j) << (j * width))
                        })
                })
                .collect()
        }
    }
}

/// `numel` elements of `dtype` from the words of a GPU buffer (the inverse of [`pack_words`]).
pub fn unpack_words(dtype: DType, words: &[u32], numel: usize) -> TensorData {
    if cfg!(target_endian = "little") {
        // The words' bytes are the elements as the host stores them (see `device::transfer`).
        let bytes: &[u8] = bytemuck::cast_slice(words);
        return crate::device::transfer::tensor_data(dtype, &bytes[..numel * dtype.size()]);
    }
    match dtype {
        DType::Bf16 => TensorData::Bf16(crate::numerics::unpack_bf16(words, numel)),
        DType::F32 | DType::I32 => TensorData::from_bits(dtype, words[..numel].iter().copied()),
        other => {
            let per = 4 / other.size();
            let width = 32 / per;
            let mask = (1u32 << width) - 1;
            let bits = (0..numel).map(|i| (words[i / per] >> ((i % per) * width)) & mask);
            TensorData::from_bits(other, bits)
        }
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
    use super::*;
    use crate::device::transfer::{le_bytes, tensor_data};
    use crate::tensor::{DType, TensorData};

    /// On this host the byte path of uploads and readbacks (`device::transfer`) gives what the
    /// element-by-element packing gives, for every dtype and for lengths that do not fill the last word.
    #[test]
    fn host_bytes_are_the_packed_words() {
        for n in [1usize, 2, 3, 5, 8] {
            for dtype in [
                DType::F32,
                DType::Bf16,
                DType::F16,
                DType::F8E4M3,
                DType::F8E5M2,
                DType::I8,
                DType::I32,
            ] {
                let bits = (0..n as u32).map(|i| i.wrapping_mul(0x9e37_79b9) ^ 0x0102_0304);
                let data = TensorData::from_bits(dtype, bits);
                let words = pack_words(&data);
                let mut bytes = le_bytes(&data).to_vec();
                bytes.resize(words.len() * 4, 0);
                assert_eq!(
                    bytes,
                    bytemuck::cast_slice::<u32, u8>(&words),
                    "{dtype} x {n}"
                );
                // Compared as words: a NaN pattern is not equal to itself as a float.
                let back = tensor_data(dtype, le_bytes(&data));
                assert_eq!(pack_words(&back), words, "{dtype} x {n}");
                let read = unpack_words(dtype, &words, n);
                assert_eq!(pack_words(&read), words, "{dtype} x {n}");
            }
        }
    }

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
            &include_str!("../../shaders/shared/vector_erf.wgsl")
                .replace("#import vector_math", ""),
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
