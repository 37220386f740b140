// vector_rmsnorm: rmsnorm over the last axis, one workgroup per row: r = 1 / sqrt(sum(x^2) / n + eps);
// out = x * r (* gamma). The sum in the numerics::row_tree order; division and sqrt correctly rounded.
// CPU twin: src/reference/vector_rmsnorm.rs. The result is f32; bf16 is rounded by a cast dispatch after.
// Whether gamma is present is the pipeline constant FLAGS (= p.flags & HAS_Y), as in vector_softmax.wgsl.
// The lanes and the tree: shared/row_tree.wgsl.
// @variants FLAGS=0,1 WHOLE=0,1
// @chunk-bytes 32

#import row_tree

override FLAGS: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<u32>>;  // gamma (x again when absent)
@group(0) @binding(3) var<storage, read_write> out: array<vec4<u32>>;  // f32

fn load_x(i: u32) -> f32 {
    let w = word_index(i, p.x_bf16);
    return unpack_elem(x[w >> 2u][w & 3u], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    let w = word_index(i, p.y_bf16);
    return unpack_elem(y[w >> 2u][w & 3u], i, p.y_bf16);
}

// Elements i .. i + 3 of gamma (row_tree.wgsl's whole words where rows allow).
fn load4_y(i: u32) -> vec4<f32> {
    if (row_whole()) {
        return row_unpack(y[row_word(i, p.y_bf16)], i, p.y_bf16);
    }
    return vec4<f32>(load_y(i), load_y(i + 1u), load_y(i + 2u), load_y(i + 3u));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let row = flat_row(wg, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.len;
    var q = row_lanes(sum_identity());
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        let v = row_load_x(base, i);
        q = fold_sum(q, i, mul4(v, v));
    }
    let ms = vm_div(tree_sum(t, q), f32(p.len));
    let r = vm_rsqrt(vm_add(ms, p.eps));
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        var v = mul4(row_load_x(base, i), vec4<f32>(r));
        if ((FLAGS & HAS_Y) != 0u) {
            v = mul4(v, load4_y(i));
        }
        row_store(base, i, v);
    }
}
