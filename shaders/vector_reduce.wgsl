// vector_reduce: sum, mean, max or sum of squares over the last axis, one workgroup per row, in the fixed
// lane-and-tree order of numerics::row_tree. CPU twin: src/reference/vector_reduce.rs. p.func is
// ReduceFn::code(). The result is f32; a bf16 result is rounded by a cast dispatch after this one.

#import vector_params
#import codes

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;  // f32, one per row

fn load_x(i: u32) -> f32 {
    return unpack_elem(x[word_index(i, p.x_bf16)], i, p.x_bf16);
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
    var r: f32;
    if (p.func == REDUCE_AMAX) {
        var acc = max_identity();
        for (var i = t; i < p.len; i += LANES) {
            acc = vm_max(acc, load_x(base + i));
        }
        r = tree_max(t, acc);
    } else if (p.func == REDUCE_SUM || p.func == REDUCE_MEAN || p.func == REDUCE_SUMSQ) {
        var acc = sum_identity();
        for (var i = t; i < p.len; i += LANES) {
            let v = load_x(base + i);
            if (p.func == REDUCE_SUMSQ) {
                acc = vm_add(acc, vm_mul(v, v));
            } else {
                acc = vm_add(acc, v);
            }
        }
        r = tree_sum(t, acc);
        if (p.func == REDUCE_MEAN) {
            r = vm_div(r, f32(p.len));
        }
    } else {
        r = bitcast<f32>(0x7fc0deadu);  // unreachable (see vector_unary.wgsl's default)
    }
    if (t == 0u) {
        out[row] = bitcast<u32>(r);
    }
}
