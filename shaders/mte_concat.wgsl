// mte_concat: two tensors joined along an axis, bits moved unchanged. Both are viewed as rows (the axes
// before the joined one make the rows): result row r is x's row r (p.dims.x elements) then y's row r
// (p.dims.y elements). CPU twin: src/reference/mte_concat.rs. The entry point is shared/mte_main.wgsl's; x and y
// have one dtype (p.x_bf16).

#import vector_params
#import mte_main

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> y: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

// The raw bits of element i of y, as raw() reads x.
fn raw_y(i: u32) -> u32 {
    if (p.x_bf16 != 0u) {
        return (y[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;
    }
    return y[i];
}

// Result element i: from x's row or y's.
fn element(i: u32) -> u32 {
    let width = p.dims.x + p.dims.y;
    let r = i / width;
    let c = i % width;
    if (c < p.dims.x) {
        return raw(r * p.dims.x + c);
    }
    return raw_y(r * p.dims.y + (c - p.dims.x));
}
