// probe_numerics: start-up probe of what this adapter does to f32 arithmetic (src/device/probe.rs).
// Operands come from a buffer so that no compiler can fold them.
//   out[0] = x[0] * x[1]        min normal * 0.5: a subnormal result (0 if the adapter flushes results)
//   out[1] = x[2] + x[3]        smallest subnormal + 0: 1 if subnormal inputs are kept
//   out[2] = fma(x[4], x[5], x[6])   (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46 if fma is fused, 0 if not
//   out[3] = x[4] * x[5] + x[6]      the same if the compiler contracts a plain multiply-add, else 0

#import bf16

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(1, 1, 1)
fn main() {
    out[0] = bitcast<u32>(x[0] * x[1]);
    out[1] = bitcast<u32>(x[2] + x[3]);
    out[2] = bitcast<u32>(fma(x[4], x[5], x[6]));
    out[3] = bitcast<u32>(x[4] * x[5] + x[6]);
}
