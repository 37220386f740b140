// probe_peak: the adapter's f32 FMA rate (src/device/peak.rs), the limit its matmul speed is shown against.
// Each invocation runs 8 independent chains of vec4 fma (32 scalar chains, enough to hide any latency)
// for `p.iters` rounds: 64 FLOPs per round (an fma counts 2). Operands come from the uniforms, so no compiler
// can fold the chains; the result is stored so that none can be dropped.
// @variants WG=64

#import bf16

struct Params {
    iters: u32,
    seed: u32,   // bits of a value near 1, for the multiplier
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * WG + gid.x;
    let y = vec4<f32>(bitcast<f32>(p.seed));
    let z = vec4<f32>(bitcast<f32>(p.seed) - 1.0);
    let s = f32(i & 1023u);
    var x0 = vec4<f32>(s, s + 0.5, s + 0.25, s + 0.125);
    var x1 = x0 + 1.0;
    var x2 = x0 + 2.0;
    var x3 = x0 + 3.0;
    var x4 = x0 + 4.0;
    var x5 = x0 + 5.0;
    var x6 = x0 + 6.0;
    var x7 = x0 + 7.0;
    for (var r = 0u; r < p.iters; r++) {
        x0 = fma(x0, y, z);
        x1 = fma(x1, y, z);
        x2 = fma(x2, y, z);
        x3 = fma(x3, y, z);
        x4 = fma(x4, y, z);
        x5 = fma(x5, y, z);
        x6 = fma(x6, y, z);
        x7 = fma(x7, y, z);
    }
    let t = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
    out[i] = bitcast<u32>((t.x + t.y) + (t.z + t.w));
}
