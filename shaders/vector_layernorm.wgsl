// vector_layernorm: layernorm over the last axis (biased variance), one workgroup per row:
// mean = sum(x) / n; var = sum((x - mean)^2) / n; rstd = 1 / sqrt(var + eps); out = (x - mean) * rstd
// (* gamma) (+ beta). Sums in the numerics::row_tree order; division and sqrt correctly rounded.
// CPU twin: src/reference/vector_layernorm.rs. The result is f32; bf16 is rounded by a cast dispatch after.
// Which of gamma and beta are present is the pipeline constant FLAGS (= p.flags & (HAS_Y | HAS_Z)), as in
// vector_softmax.wgsl. The lanes and the tree: shared/row_tree.wgsl.
// @variants FLAGS=0,1,2,3

#import row_tree

override FLAGS: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;  // gamma (x again when absent)
@group(0) @binding(3) var<storage, read> z: array<u32>;  // beta (x again when absent)
@group(0) @binding(4) var<storage, read_write> out: array<u32>;  // f32

fn load_x(i: u32) -> f32 {
    return unpack_elem(x[word_index(i, p.x_bf16)], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    return unpack_elem(y[word_index(i, p.y_bf16)], i, p.y_bf16);
}

fn load_z(i: u32) -> f32 {
    return unpack_elem(z[word_index(i, p.z_bf16)], i, p.z_bf16);
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
    var k = 0u;
    for (var i = t; i < p.len; i += ROW_WG) {
        s = fold_sum(s, k, load_x(base + i));
        k++;
    }
    let mean = vm_div(tree_sum(t, s), n);
    var q = row_lanes(sum_identity());
    k = 0u;
    for (var i = t; i < p.len; i += ROW_WG) {
        let d = vm_sub(load_x(base + i), mean);
        q = fold_sum(q, k, vm_mul(d, d));
        k++;
    }
    let variance = vm_div(tree_sum(t, q), n);
    let rstd = vm_rsqrt(vm_add(variance, p.eps));
    for (var i = t; i < p.len; i += ROW_WG) {
        var v = vm_mul(vm_sub(load_x(base + i), mean), rstd);
        if ((FLAGS & HAS_Y) != 0u) {
            v = vm_mul(v, load_y(i));
        }
        if ((FLAGS & HAS_Z) != 0u) {
            v = vm_add(v, load_z(i));
        }
        out[base + i] = bitcast<u32>(v);
    }
}
