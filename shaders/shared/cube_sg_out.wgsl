// shared/cube_sg_out.wgsl: cube_matmul_sg's way out of L0C, inside the same dispatch: each accumulator's
// bits as the Cube stores them (cube_out_bits: a NaN canonical), then the matmul's epilogue (FixPipe /
// Vector: v * scale, + bias[n], activation, + residual, one f32 rounding each, by the Vector unit's math
// library as vector_epilogue.wgsl computes them), then the one rounding to bf16 when that is the result's
// dtype. With no epilogue and an f32 result the stored bits are cube_out_bits' alone. Imported by
// cube_matmul_sg.wgsl, which declares the uniforms (p.epi, p.scale), the constant ACT and the bindings
// bias, residual and c.

// p.epi's flags are the EPI_* of shared/codes.wgsl (shared with Rust).

fn has(flag: u32) -> bool {
    return (p.epi & flag) != 0u;
}

// Element i of the bias or the residual, stored as f32 or packed bf16.
fn load_bias(i: u32) -> f32 {
    if (has(EPI_BIAS_BF16)) {
        return bf16_unpack(bias[i >> 1u], i);
    }
    return bitcast<f32>(bias[i]);
}
fn load_residual(i: u32) -> f32 {
    if (has(EPI_RESIDUAL_BF16)) {
        return bf16_unpack(residual[i >> 1u], i);
    }
    return bitcast<f32>(residual[i]);
}

// max(v, 0) with NaN kept and -0 giving +0, as vector_params.wgsl's vp_relu.
fn relu(v: f32) -> f32 {
    if (vm_is_nan(v) || v > 0.0) {
        return v;
    }
    return 0.0;
}

// The activation, by the pipeline constant ACT (an ACT_* code): each pipeline holds its own function only.
// A uniform would not do: Mesa's lavapipe runs every branch of a choice on a uniform under a lane mask, so
// every element would pay for all four functions, and the pipeline would hold the whole math library.
fn activate(v: f32) -> f32 {
    if (ACT == ACT_RELU) {
        return relu(v);
    }
    if (ACT == ACT_GELU) {
        return vm_gelu(v);
    }
    if (ACT == ACT_GELU_TANH) {
        return vm_gelu_tanh(v);
    }
    if (ACT == ACT_SILU) {
        return vm_silu(v);
    }
    return v;
}

// Result element i (column n) from its accumulator.
fn finish(acc: f32, i: u32, n: u32) -> f32 {
    var v = bitcast<f32>(cube_out_bits(acc));
    if (has(EPI_SCALE)) {
        v = vm_mul(v, p.scale);
    }
    if (has(EPI_BIAS)) {
        v = vm_add(v, load_bias(n));
    }
    v = activate(v);
    if (has(EPI_RESIDUAL)) {
        v = vm_add(v, load_residual(i));
    }
    return v;
}

// Elements i and i + 1 of C (columns n and n + 1 of one row), those inside it. For a bf16 result N is
// even (launcher), so i is even and both columns are in C: one packed word, written by this invocation
// alone.
fn put(i: u32, n: u32, v0: f32, v1: f32) {
    if (n >= p.n) {
        return;
    }
    let r0 = finish(v0, i, n);
    if (has(EPI_OUT_BF16)) {
        let r1 = finish(v1, i + 1u, n + 1u);
        c[i >> 1u] = f32_to_bf16_bits(r0) | (f32_to_bf16_bits(r1) << 16u);
        return;
    }
    c[i] = bitcast<u32>(r0);
    if (n + 1u < p.n) {
        c[i + 1u] = bitcast<u32>(finish(v1, i + 1u, n + 1u));
    }
}

// The row's 32 values in column order: quads of consecutive columns (transposed B, or F32), or per group
// of 8 its even columns then its odd ones (row-major bf16 B).
fn columns(acc: Acc) -> array<f32, 32> {
    let q = array<vec4<f32>, 8>(acc.e0, acc.o0, acc.e1, acc.o1, acc.e2, acc.o2, acc.e3, acc.o3);
    var v: array<f32, 32>;
    for (var j = 0u; j < 8u; j++) {
        if (B_T || F32) {
            v[4u * j] = q[j].x;
            v[4u * j + 1u] = q[j].y;
            v[4u * j + 2u] = q[j].z;
            v[4u * j + 3u] = q[j].w;
        } else {
            // q[j] for even j holds columns 0, 2, 4, 6 of group j / 2; q[j + 1] columns 1, 3, 5, 7.
            let base = 8u * (j / 2u) + (j & 1u);
            v[base] = q[j].x;
            v[base + 2u] = q[j].y;
            v[base + 4u] = q[j].z;
            v[base + 6u] = q[j].w;
        }
    }
    return v;
}

// Rows m0, m0 + WG, m0 + 2 WG and m0 + 3 WG of C from their accumulators. One loop with one call of
// put(): the epilogue's functions are then compiled once, not once per column (a compiler that inlines
// every call, as Mesa's does, would otherwise build a shader hundreds of activations long).
fn store_rows(accs: array<Acc, 4>, m0: u32, n0: u32, bi: u32) {
    for (var r = 0u; r < 4u; r++) {
        let m = m0 + r * WG;
        if (m >= p.m) {
            return;
        }
        let v = columns(accs[r]);
        let row = (bi * p.m + m) * p.n + n0;
        for (var j = 0u; j < 32u; j += 2u) {
            put(row + j, n0 + j, v[j], v[j + 1u]);
        }
    }
}
