// shared/row_tree.wgsl: the row kernels' reductions (softmax, layernorm, rmsnorm, reduce) in the
// contract's order (numerics::row_tree): LANES = 256 lanes, lane l folding elements l, l + 256, ... in
// ascending order from the identity, then a halving tree, lane l < h becoming combine(lane l, lane l + h).
//
// A row's workgroup has ROW_WG = 64 invocations, and invocation t holds four of the lanes: t, t + 64,
// t + 128 and t + 192 (RowLanes' a, b, c, d). Element i of the row (i = t + 64 n) goes to slot n % 4, so
// each lane still sees its elements in order. The tree's first two levels (h = 128, 64) are inside the
// invocation, and six go through the workgroup's memory. On a software rasterizer, which runs a
// workgroup's invocations as coroutines switched at every barrier, that is a quarter of the invocations
// and 8 barriers per tree instead of 10 (the kernels spent most of their time there before).

#import vector_params

const ROW_WG: u32 = 64u;

struct RowLanes {
    a: f32,  // lane t
    b: f32,  // lane t + 64
    c: f32,  // lane t + 128
    d: f32,  // lane t + 192
}

fn row_lanes(identity: f32) -> RowLanes {
    return RowLanes(identity, identity, identity, identity);
}

// Slot k of l, and l with slot k replaced by v: selects, not a dynamic index into a private array.
fn lane_slot(l: RowLanes, k: u32) -> f32 {
    return select(select(l.a, l.b, k == 1u), select(l.c, l.d, k == 3u), k >= 2u);
}

fn with_slot(l: RowLanes, k: u32, v: f32) -> RowLanes {
    return RowLanes(select(l.a, v, k == 0u), select(l.b, v, k == 1u), select(l.c, v, k == 2u),
                    select(l.d, v, k == 3u));
}

// Lane n % 4 of l, the n-th element of invocation t's part of the row (v), added or taken the max of.
fn fold_sum(l: RowLanes, n: u32, v: f32) -> RowLanes {
    let k = n & 3u;
    return with_slot(l, k, vm_add(lane_slot(l, k), v));
}

fn fold_max(l: RowLanes, n: u32, v: f32) -> RowLanes {
    let k = n & 3u;
    return with_slot(l, k, vm_max(lane_slot(l, k), v));
}

var<workgroup> tree_lanes: array<f32, 64>;

// Every invocation of the workgroup calls these and gets the row's result. h = 128: lane t with lane
// t + 128, lane t + 64 with t + 192; h = 64: lane t with lane t + 64; then h = 32 ... 1 in memory.
fn tree_sum(t: u32, l: RowLanes) -> f32 {
    return tree_in_memory(t, vm_add(vm_add(l.a, l.c), vm_add(l.b, l.d)), false);
}

fn tree_max(t: u32, l: RowLanes) -> f32 {
    return tree_in_memory(t, vm_max(vm_max(l.a, l.c), vm_max(l.b, l.d)), true);
}

// The tree's levels h = 32 ... 1 over the invocations' values v, combined by max or by addition.
fn tree_in_memory(t: u32, v: f32, is_max: bool) -> f32 {
    tree_lanes[t] = v;
    workgroupBarrier();
    for (var h = ROW_WG / 2u; h >= 1u; h = h / 2u) {
        if (t < h) {
            let a = tree_lanes[t];
            let b = tree_lanes[t + h];
            tree_lanes[t] = select(vm_add(a, b), vm_max(a, b), is_max);
        }
        workgroupBarrier();
    }
    let r = tree_lanes[0];
    workgroupBarrier();
    return r;
}

// The identities: -0 for sums (leaves every value, -0 included, unchanged) and -inf for max.
fn sum_identity() -> f32 {
    return bitcast<f32>(0x80000000u);
}

fn max_identity() -> f32 {
    return bitcast<f32>(0xff800000u);
}
