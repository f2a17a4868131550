// Vanilla AM flow, pass 1 of 2: per attention row, the log-sum-exp of |X(t) − X(t+1)|, the
// normaliser of its softmax.
//
// One workgroup per row r = (b, h, i) of the [B·H·N, N] logits, d_rj = |a[r,j] − b[r,j]|:
//   lse[r] = m_r + ln Σ_j exp(d_rj − m_r),   m_r = max_j d_rj
// params = [rows, n]. Rows past 65535 spill into workgroup_id.y. Every binding is read_write:
// burn's memory pool hands out slices of shared buffers, and a dispatch may not bind one
// buffer both read-only and writable.

@group(0) @binding(0) var<storage, read_write> logits_t: array<f32>;
@group(0) @binding(1) var<storage, read_write> logits_t1: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read_write> params: array<u32>;

const WG: u32 = {{ workgroup }}u;
var<workgroup> scratch_max: array<f32, 64>;
var<workgroup> scratch_sum: array<f32, 64>;

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let rows = params[0];
    let row = wid.x + wid.y * 65535u;
    // Workgroups past the last row do no work but still reach every barrier.
    let n = select(0u, params[1], row < rows);
    let base = row * n;

    // Online softmax statistics of this invocation's strided share of the row: one read of
    // each logit. (m, s) with s = Σ exp(d − m); a larger d rescales s by exp(m_old − m_new).
    var m = -3.402823e38;
    var s = 0.0;
    for (var j = lid; j < n; j = j + WG) {
        let d = abs(logits_t[base + j] - logits_t1[base + j]);
        if (d > m) {
            s = s * exp(m - d) + 1.0;
            m = d;
        } else {
            s = s + exp(d - m);
        }
    }
    scratch_max[lid] = m;
    scratch_sum[lid] = s;
    workgroupBarrier();
    // Tree merge of the 64 pairs: m = max(m₁, m₂), s = s₁·exp(m₁ − m) + s₂·exp(m₂ − m).
    for (var stride = 32u; stride > 0u; stride = stride >> 1u) {
        if (lid < stride) {
            let m1 = scratch_max[lid];
            let m2 = scratch_max[lid + stride];
            let mm = max(m1, m2);
            scratch_sum[lid] = scratch_sum[lid] * exp(m1 - mm) + scratch_sum[lid + stride] * exp(m2 - mm);
            scratch_max[lid] = mm;
        }
        workgroupBarrier();
    }
    if (lid == 0u && row < rows) {
        lse[row] = scratch_max[0] + log(scratch_sum[0]);
    }
}
