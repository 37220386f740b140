// vector_reduce: sum, mean, max or sum of squares over the last axis, one workgroup per row, in the fixed
// lane-and-tree order of numerics::row_tree (shared/row_tree.wgsl). CPU twin: src/reference/vector_reduce.rs.
// The function is the pipeline constant FUNC (= p.func, ReduceFn::code()), as in vector_unary.wgsl. The
// result is f32; a bf16 result is rounded by a cast dispatch after this one.
// @variants FUNC=0,1,2,3 WHOLE=0,1
// @chunk-bytes 32

#import row_tree
#import codes

override FUNC: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<u32>>;  // f32, one per row

fn load_x(i: u32) -> f32 {
    let w = word_index(i, p.x_bf16);
    return unpack_elem(x[w >> 2u][w & 3u], i, p.x_bf16);
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
    var r: f32;
    if (FUNC == REDUCE_AMAX) {
        var acc = row_lanes(max_identity());
        for (var i = row_first(t); i < p.len; i += ROW_STEP) {
            acc = fold_max(acc, i, row_load_x(base, i));
        }
        r = tree_max(t, acc);
    } else if (FUNC == REDUCE_SUM || FUNC == REDUCE_MEAN || FUNC == REDUCE_SUMSQ) {
        var acc = row_lanes(sum_identity());
        for (var i = row_first(t); i < p.len; i += ROW_STEP) {
            var v = row_load_x(base, i);
            if (FUNC == REDUCE_SUMSQ) {
                v = mul4(v, v);
            }
            acc = fold_sum(acc, i, v);
        }
        r = tree_sum(t, acc);
        if (FUNC == REDUCE_MEAN) {
            r = vm_div(r, f32(p.len));
        }
    } else {
        r = bitcast<f32>(0x7fc0deadu);  // unreachable (see vector_unary.wgsl's default)
    }
    if (t == 0u) {
        out[row >> 2u][row & 3u] = bitcast<u32>(r);
    }
}
