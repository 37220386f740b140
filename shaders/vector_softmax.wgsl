// vector_softmax: softmax over the last axis of x + mask, one workgroup per row: the max, then the sum of
// exp(v - max), both in the numerics::row_tree order (shared/row_tree.wgsl), then each exp divided by the
// sum (correctly rounded). The exps are stored in the result as they are summed, and divided in place.
// CPU twin: src/reference/vector_softmax.rs. The result is f32; bf16 is rounded by a cast dispatch after.
// Whether a mask is added is the pipeline constant FLAGS (= p.flags & HAS_Y): a software rasterizer runs
// both sides of a branch on a uniform.
// @variants FLAGS=0,1

#import row_tree

override FLAGS: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;  // the mask (x again when absent)
@group(0) @binding(3) var<storage, read_write> out: array<u32>;  // f32

fn load_x(i: u32) -> f32 {
    return unpack_elem(x[word_index(i, p.x_bf16)], i, p.x_bf16);
}

fn load_y(i: u32) -> f32 {
    return unpack_elem(y[word_index(i, p.y_bf16)], i, p.y_bf16);
}

// Element i of the row at `base`, with the mask added.
fn masked(base: u32, i: u32) -> f32 {
    let v = load_x(base + i);
    if ((FLAGS & HAS_Y) != 0u) {
        return vm_add(v, load_y(bcast_offset(base + i, p.y_strides)));
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
    var n = 0u;
    for (var i = t; i < p.len; i += ROW_WG) {
        m = fold_max(m, n, masked(base, i));
        n++;
    }
    let mx = tree_max(t, m);
    var s = row_lanes(sum_identity());
    n = 0u;
    for (var i = t; i < p.len; i += ROW_WG) {
        let e = vm_exp(vm_sub(masked(base, i), mx));
        out[base + i] = bitcast<u32>(e);
        s = fold_sum(s, n, e);
        n++;
    }
    let sum = tree_sum(t, s);
    // Each invocation reads back only what it wrote itself.
    for (var i = t; i < p.len; i += ROW_WG) {
        out[base + i] = bitcast<u32>(vm_div(bitcast<f32>(out[base + i]), sum));
    }
}
