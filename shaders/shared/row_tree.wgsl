// shared/row_tree.wgsl: the row kernels' reductions (softmax, layernorm, rmsnorm, reduce) in the
// contract's order (numerics::row_tree): LANES = 256 lanes, lane l folding elements l, l + 256, ... in
// ascending order from the identity, then a halving tree, lane l < h becoming combine(lane l, lane l + h).
//
// A row's workgroup has ROW_WG = 64 invocations, and invocation t holds four neighbouring lanes, 4t to
// 4t + 3, as one vec4 (RowLanes). It walks the row four elements at a time: elements i .. i + 3 with
// i = 4t + 256 n go to components 0 .. 3, so each lane still sees its elements in order. The tree's levels
// h = 128 ... 4 combine whole vec4s through the workgroup's memory (lanes l and l + h are components of
// invocations t and t + h / 4), and the last two (h = 2, 1) are inside invocation 0's vec4. On a software
// rasterizer, which runs a workgroup's invocations as coroutines switched at every barrier, that is a
// quarter of the invocations and 8 barriers per tree instead of 10. Neighbouring lanes in one vec4 (not
// lanes 64 apart, picked by selects) and whole-word loads and stores took one dispatch over 4096 x 4096
// f32 on lavapipe from 191 to 123 ms for softmax, 144 to 80 for layernorm and 112 to 64 for rmsnorm.
//
// The importing kernel binds x and `out` (f32) as array<vec4<u32>> in whole 32-byte chunks
// (`@chunk-bytes 32`, so that a row's last word is inside the binding) and defines `load_x(i)`, element i
// of x as f32; row_load_x, row_store and row_load_out read and write through them. WGSL cannot hand a
// storage array to a function, so a kernel's other per-column inputs (gamma, beta) get their own
// four-element loaders, built from row_word and row_unpack.

#import vector_params

const ROW_WG: u32 = 64u;
// Elements a workgroup takes per step: one per lane.
const ROW_STEP: u32 = 256u;

alias RowLanes = vec4<f32>;

fn row_lanes(identity: f32) -> RowLanes {
    return RowLanes(identity);
}

// Where invocation t starts along its row (loops: `for (var i = row_first(t); i < p.len; i += ROW_STEP)`).
fn row_first(t: u32) -> u32 {
    return 4u * t;
}

// 1 where rows are a multiple of 4 long (the launcher's choice, per dispatch): then the four elements
// that an invocation takes at a time always lie inside the row and fill one vec4 word of x (for bf16,
// half of one) and of `out`. A constant, not a test of the index: a software rasterizer runs both sides
// of a branch that differs between invocations, so the per-element path would cost the whole-word one
// its gain.
override WHOLE: u32 = 0u;

fn row_whole() -> bool {
    return WHOLE != 0u;
}

// x's elements base + i .. base + i + 3, in one load where they fill a word. Those past the row's end
// are whatever lies there (the next row, or a robust out-of-bounds read): fold_* never folds them and
// row_store never writes them.
fn row_load_x(base: u32, i: u32) -> vec4<f32> {
    let e = base + i;
    if (row_whole()) {
        return row_unpack(x[row_word(e, p.x_bf16)], e, p.x_bf16);
    }
    return vec4<f32>(load_x(e), load_x(e + 1u), load_x(e + 2u), load_x(e + 3u));
}

// In whole-word rows, the vec4 word of an array<vec4<u32>> that holds elements e .. e + 3 (e a multiple
// of 4): word e / 4 of f32, or half of word e / 8 of packed bf16.
fn row_word(e: u32, is_bf16: u32) -> u32 {
    return select(e >> 2u, e >> 3u, is_bf16 != 0u);
}

// Elements e .. e + 3 as f32, from their word q (row_word).
fn row_unpack(q: vec4<u32>, e: u32, is_bf16: u32) -> vec4<f32> {
    if (is_bf16 == 0u) {
        return bitcast<vec4<f32>>(q);
    }
    let w = select(q.xy, q.zw, (e & 4u) != 0u);
    return vec4<f32>(bf16_unpack(w.x, 0u), bf16_unpack(w.x, 1u), bf16_unpack(w.y, 0u),
                     bf16_unpack(w.y, 1u));
}

// out[base + i + c] = v[c] for the elements inside the row: one store where they fill a word (the
// scattered stores of four separate words cost a software rasterizer a sixth of softmax's time).
fn row_store(base: u32, i: u32, v: vec4<f32>) {
    let e = base + i;
    if (row_whole()) {
        out[e >> 2u] = bitcast<vec4<u32>>(v);
        return;
    }
    for (var c = 0u; c < 4u; c++) {
        if (i + c < p.len) {
            out[(e + c) >> 2u][(e + c) & 3u] = bitcast<u32>(v[c]);
        }
    }
}

// The f32 values out[base + i .. base + i + 3] (a kernel reading back what it wrote).
fn row_load_out(base: u32, i: u32) -> vec4<f32> {
    let e = base + i;
    if (row_whole()) {
        return bitcast<vec4<f32>>(out[e >> 2u]);
    }
    // Only the row's own elements: past its end, another workgroup may be writing the next row.
    var v = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
        if (i + c < p.len) {
            v[c] = bitcast<f32>(out[(e + c) >> 2u][(e + c) & 3u]);
        }
    }
    return v;
}

// The library's exactly rounded +, -, * and max on each of four components (vector_math.wgsl; the
// row kernels work on four elements at a time).
fn add4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(vm_add(a.x, b.x), vm_add(a.y, b.y), vm_add(a.z, b.z), vm_add(a.w, b.w));
}

fn sub4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(vm_sub(a.x, b.x), vm_sub(a.y, b.y), vm_sub(a.z, b.z), vm_sub(a.w, b.w));
}

fn mul4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(vm_mul(a.x, b.x), vm_mul(a.y, b.y), vm_mul(a.z, b.z), vm_mul(a.w, b.w));
}

fn max4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(vm_max(a.x, b.x), vm_max(a.y, b.y), vm_max(a.z, b.z), vm_max(a.w, b.w));
}

// Which of the four elements at i are inside the row (i itself always is, in the loops above).
fn row_inside(i: u32) -> vec4<bool> {
    return vec4<bool>(true, row_whole() || i + 1u < p.len, row_whole() || i + 2u < p.len,
                      row_whole() || i + 3u < p.len);
}

// The four elements at i (v) added to, or taken the max of, their lanes.
fn fold_sum(l: RowLanes, i: u32, v: vec4<f32>) -> RowLanes {
    return select(l, add4(l, v), row_inside(i));
}

fn fold_max(l: RowLanes, i: u32, v: vec4<f32>) -> RowLanes {
    return select(l, max4(l, v), row_inside(i));
}

var<workgroup> tree_lanes: array<vec4<f32>, 64>;

// Every invocation of the workgroup calls these and gets the row's result.
fn tree_sum(t: u32, l: RowLanes) -> f32 {
    let r = tree_in_memory(t, l, false);
    return vm_add(vm_add(r.x, r.z), vm_add(r.y, r.w));
}

fn tree_max(t: u32, l: RowLanes) -> f32 {
    let r = tree_in_memory(t, l, true);
    return vm_max(vm_max(r.x, r.z), vm_max(r.y, r.w));
}

// The tree's levels h = 128 ... 4 over the invocations' vec4s, combined by max or by addition: lane 4t + c
// with lane 4t + c + h is component c of invocation t with that of invocation t + h / 4. Returns lanes 0-3.
fn tree_in_memory(t: u32, v: RowLanes, is_max: bool) -> RowLanes {
    tree_lanes[t] = v;
    workgroupBarrier();
    for (var h = ROW_WG / 2u; h >= 1u; h = h / 2u) {
        if (t < h) {
            let a = tree_lanes[t];
            let b = tree_lanes[t + h];
            tree_lanes[t] = select(add4(a, b), max4(a, b), is_max);
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
