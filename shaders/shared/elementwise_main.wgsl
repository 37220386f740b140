// shared/elementwise_main.wgsl: the entry point of the elementwise Vector kernels (imported by the kernel,
// which defines `value(i)`, the f32 result for element i). Each invocation computes elements 2w and 2w+1 and
// stores them as f32 or as one packed bf16 word (store_pair), so no two invocations write the same word.

#import vector_params

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let w = flat_invocation(gid, nwg);
    let i = 2u * w;
    if (i >= p.len) {
        return;
    }
    let have1 = i + 1u < p.len;
    let v0 = value(i);
    var v1 = 0.0;
    if (have1) {
        v1 = value(i + 1u);
    }
    store_pair(w, i, v0, v1, have1);
}
