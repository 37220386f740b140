// vector_softmax: softmax over the last axis of x + mask, one workgroup per row: the max, then the sum of
// exp(v - max), both in the numerics::row_tree order, then each exp divided by the sum (correctly rounded).
// exp is computed twice per element (for the sum and for the output), with the same bits each time.
// CPU twin: src/reference/vector_softmax.rs. The result is f32; bf16 is rounded by a cast dispatch after.

#import vector_params

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
    if ((p.flags & HAS_Y) != 0u) {
        return vm_add(v, load_y(bcast_offset(base + i, p.y_strides)));
    }
    return v;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
    let row = flat_row(wg, nwg);
    if (row >= p.rows) {
        return;
    }
    let base = row * p.len;
    var m = max_identity();
    for (var i = t; i < p.len; i += LANES) {
        m = vm_max(m, masked(base, i));
    }
    let mx = tree_max(t, m);
    var s = sum_identity();
    for (var i = t; i < p.len; i += LANES) {
        s = vm_add(s, vm_exp(vm_sub(masked(base, i), mx)));
    }
    let sum = tree_sum(t, s);
    for (var i = t; i < p.len; i += LANES) {
        out[base + i] = bitcast<u32>(vm_div(vm_exp(vm_sub(masked(base, i), mx)), sum));
    }
}
