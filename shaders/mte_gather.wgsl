// mte_gather: rows of a table picked by index (an embedding lookup), bits moved unchanged: result element
// i is table element ids[i / p.cols] * p.cols + i % p.cols. CPU twin: src/reference/mte_gather.rs.
// The launcher checked every id against the table at recording.

@group(0) @binding(1) var<storage, read> x: array<u32>;    // the table, bf16 pairs or f32
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn raw(i: u32) -> u32 {
    if (p.x_bf16 != 0u) {
        return (x[i >> 1u] >> ((i & 1u) * 16u)) & 0xffffu;
    }
    return x[i];
}

fn source(i: u32) -> u32 {
    return ids[i / p.cols] * p.cols + i % p.cols;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = flat_invocation(gid, nwg);
    let i = 2u * w;
    if (i >= p.len) {
        return;
    }
    let have1 = i + 1u < p.len;
    let a = raw(source(i));
    var b = 0u;
    if (have1) {
        b = raw(source(i + 1u));
    }
    if (p.x_bf16 != 0u) {
        out[w] = a | (b << 16u);
    } else {
        out[i] = a;
        if (have1) {
            out[i + 1u] = b;
        }
    }
}
