// mte_permute: a copy with the axes reordered (or a plain copy): result element f is input element
// bcast_offset(f, p.x_strides), its bits moved unchanged. CPU twin: src/reference/mte_permute.rs.
// Each invocation writes elements 2w and 2w+1: one packed word for bf16, two words for f32.

#import vector_params
#import mte_main

@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

fn source(i: u32) -> u32 {
    return bcast_offset(i, p.x_strides);
}

fn element(i: u32) -> u32 {
    return raw(source(i));
}
