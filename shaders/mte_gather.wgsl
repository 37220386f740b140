// mte_gather: rows of a table picked by index (an embedding lookup), bits moved unchanged: result element
// i is table element ids[i / p.cols] * p.cols + i % p.cols. CPU twin: src/reference/mte_gather.rs.
// The launcher checked every id against the table at recording.

#import vector_params
#import mte_main

@group(0) @binding(1) var<storage, read> x: array<u32>;    // the table, bf16 pairs or f32
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn source(i: u32) -> u32 {
    return ids[i / p.cols] * p.cols + i % p.cols;
}

fn element(i: u32) -> u32 {
    return raw(source(i));
}
