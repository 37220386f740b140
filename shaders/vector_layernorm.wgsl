// vector_layernorm: layernorm over the last axis (biased variance), one workgroup per row:
// mean = sum(x) / n; var = sum((x - mean)^2) / n; rstd = 1 / sqrt(var + eps); out = (x - mean) * rstd
// (* gamma) (+ beta). Sums in the numerics::row_tree order; division and sqrt correctly rounded.
// CPU twin: src/reference/vector_layernorm.rs. The result is f32; bf16 is rounded by a cast dispatch after.
// Which of gamma and beta are present is the pipeline constant FLAGS (= p.flags & (HAS_Y | HAS_Z)), as in
// vector_softmax.wgsl. The lanes and the tree: shared/row_tree.wgsl.
// @variants FLAGS=0,1,2,3 WHOLE=0,1
// @chunk-bytes 32

#import row_tree

override FLAGS: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> y: array<vec4<u32>>;  // gamma (x again when absent)
@group(0) @binding(3) var<storage, read> z: array<vec4<u32>>;  // beta (x again when absent)
@group(0) @binding(4) var<storage, read_write> out: array<vec4<u32>>;  // f32

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

fn load_z(i: u32) -> f32 {
    let w = word_index(i, p.z_bf16);
    return unpack_elem(z[w >> 2u][w & 3u], i, p.z_bf16);
}

// Elements i .. i + 3 of beta (row_tree.wgsl's whole words where rows allow).
fn load4_z(i: u32) -> vec4<f32> {
    if (row_whole()) {
        return row_unpack(z[row_word(i, p.z_bf16)], i, p.z_bf16);
    }
    return vec4<f32>(load_z(i), load_z(i + 1u), load_z(i + 2u), load_z(i + 3u));
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
    let n = f32(p.len);
    var s = row_lanes(sum_identity());
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        s = fold_sum(s, i, row_load_x(base, i));
    }
    let mean = vm_div(tree_sum(t, s), n);
    var q = row_lanes(sum_identity());
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        let d = sub4(row_load_x(base, i), vec4<f32>(mean));
        q = fold_sum(q, i, mul4(d, d));
    }
    let variance = vm_div(tree_sum(t, q), n);
    let rstd = vm_rsqrt(vm_add(variance, p.eps));
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        var v = mul4(sub4(row_load_x(base, i), vec4<f32>(mean)), vec4<f32>(rstd));
        if ((FLAGS & HAS_Y) != 0u) {
            v = mul4(v, load4_y(i));
        }
        if ((FLAGS & HAS_Z) != 0u) {
            v = add4(v, load4_z(i));
        }
        row_store(base, i, v);
    }
}
