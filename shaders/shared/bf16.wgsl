// shared/bf16.wgsl: bf16 numerics for every shader (each imports it; see src/build/shaders.rs).
// Mirrors src/numerics/bf16.rs line for line. Only integer operations touch the bits, so a GPU that
// flushes f32 subnormals in arithmetic cannot change a conversion.
//
// GPU buffers hold bf16 two per u32 word, element 2i in the low half.

// The bf16 element `index` of a packed buffer, given the word that holds it (word = buf[index >> 1]).
fn bf16_unpack(word: u32, index: u32) -> f32 {
    let bits = select(word << 16u, word & 0xffff0000u, (index & 1u) == 1u);
    return bitcast<f32>(bits);
}

// Raw bits of an f32 (given as its raw bits, so it never passes through float arithmetic) rounded to bf16: nearest, ties to even; overflow to infinity; NaN stays a quiet NaN
// of the same sign; subnormals kept.
fn f32_bits_to_bf16_bits(b: u32) -> u32 {
    if ((b & 0x7fffffffu) > 0x7f800000u) {
        return ((b >> 16u) | 0x0040u) & 0xffffu;
    }
    let lsb = (b >> 16u) & 1u;
    return ((b + 0x7fffu + lsb) >> 16u) & 0xffffu;
}

// Same rounding, from an f32 value.
fn f32_to_bf16_bits(x: f32) -> u32 {
    return f32_bits_to_bf16_bits(bitcast<u32>(x));
}

// The bits of a Cube result as stored (L0C -> GM): a NaN becomes the canonical quiet NaN 0x7FC00000. Which NaN
// an operation returns differs between hardware (x86 and lavapipe keep an operand's payload, NVIDIA returns
// 0x7FFFFFFF), so only a canonical NaN keeps GPU and CPU bit-identical. Mirrors numerics::bf16::cube_out.
fn cube_out_bits(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    return select(b, 0x7fc00000u, (b & 0x7fffffffu) > 0x7f800000u);
}
