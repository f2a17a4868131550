// Vanilla AM flow, pass 2 of 2: column sums of the row softmax, without the N×N softmax.
//
// One invocation per output (g, j), g = (b, h):
//   flow[g, j] = Σ_i exp(|a[g,i,j] − b[g,i,j]| − lse_{g,i})
// with lse from amflow_row_stats.wgsl. Neighbouring invocations read neighbouring j, so the
// loads of each row are coalesced. params = [groups, n].

@group(0) @binding(0) var<storage, read_write> logits_t: array<f32>;
@group(0) @binding(1) var<storage, read_write> logits_t1: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> flow: array<f32>;
@group(0) @binding(4) var<storage, read_write> params: array<u32>;

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let groups = params[0];
    let n = params[1];
    let index = (wid.x + wid.y * 65535u) * 64u + lid;
    if (index >= groups * n) {
        return;
    }
    let g = index / n;
    let j = index % n;
    var acc = 0.0;
    for (var i = 0u; i < n; i = i + 1u) {
        let row = g * n + i;
        let d = abs(logits_t[row * n + j] - logits_t1[row * n + j]);
        acc = acc + exp(d - lse[row]);
    }
    flow[index] = acc;
}
