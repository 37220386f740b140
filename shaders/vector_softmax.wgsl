// vector_softmax: softmax over the last axis of x + mask, one workgroup per row: the max, then the sum of
// exp(v - max), both in the numerics::row_tree order (shared/row_tree.wgsl), then each exp divided by the
// sum (correctly rounded). The exps are stored in the result as they are summed, and divided in place.
// CPU twin: src/reference/vector_softmax.rs. The result is f32; bf16 is rounded by a cast dispatch after.
// Whether a mask is added is the pipeline constant FLAGS (= p.flags & HAS_Y): a software rasterizer runs
// both sides of a branch on a uniform.
// @variants FLAGS=0,1 WHOLE=0,1
// @chunk-bytes 32

#import row_tree

override FLAGS: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> y: array<u32>;  // the mask (x again when absent)
@group(0) @binding(3) var<storage, read_write> out: array<vec4<u32>>;  // f32

fn load_x(i: u32) -> f32 {
    let w = word_index(i, p.x_bf16);
    return unpack_elem(x[w >> 2u][w & 3u], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    return unpack_elem(y[word_index(i, p.y_bf16)], i, p.y_bf16);
}

// Elements i .. i + 3 of the row at `base`, with the mask added.
fn masked(base: u32, i: u32) -> vec4<f32> {
    let v = row_load_x(base, i);
    if ((FLAGS & HAS_Y) != 0u) {
        let y0 = load_y(bcast_offset(base + i, p.y_strides));
        let y1 = load_y(bcast_offset(base + i + 1u, p.y_strides));
        let y2 = load_y(bcast_offset(base + i + 2u, p.y_strides));
        let y3 = load_y(bcast_offset(base + i + 3u, p.y_strides));
        return add4(v, vec4<f32>(y0, y1, y2, y3));
    }
    return v;
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
    var m = row_lanes(max_identity());
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        m = fold_max(m, i, masked(base, i));
    }
    let mx = tree_max(t, m);
    var s = row_lanes(sum_identity());
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        let d = sub4(masked(base, i), vec4<f32>(mx));
        let e = vec4<f32>(vm_exp(d.x), vm_exp(d.y), vm_exp(d.z), vm_exp(d.w));
        row_store(base, i, e);
        s = fold_sum(s, i, e);
    }
    let sum = tree_sum(t, s);
    // Each invocation reads back only what it wrote itself.
    for (var i = row_first(t); i < p.len; i += ROW_STEP) {
        let e = row_load_out(base, i);
        row_store(base, i, vec4<f32>(vm_div(e.x, sum), vm_div(e.y, sum), vm_div(e.z, sum),
                                     vm_div(e.w, sum)));
    }
}
