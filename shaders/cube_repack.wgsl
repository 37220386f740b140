// cube_repack: an operand of cube_matmul laid out for its fast path (cube_matmul_sg), bits unchanged:
// result element (b, r, k) of [batches][rows][kp] is the operand's element at b * s_b + r * s_r + k * s_k
// for k < K, and +0 for K <= k < kp (the padding up to a multiple of 8). A transposed A, or an operand
// whose K or strides are not whole vec4 words, is repacked this way into rows of contiguous k (B as its
// transposed [N][kp]). Launcher: src/kernels/cube_repack.rs; its effect on the values is none, which the
// GPU identity tests of the matmul modes check against the CPU twin. Uniforms: p.dims = [1, batches, rows,
// kp], p.x_strides = [0, s_b, s_r, s_k], p.cols = K.

#import vector_params
#import mte_main

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn element(i: u32) -> u32 {
    if (i % p.dims[3] >= p.cols) {
        return 0u;
    }
    return raw(bcast_offset(i, p.x_strides));
}
