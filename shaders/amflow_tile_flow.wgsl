// Vanilla AM flow in one read of the logits and one exp per element, for maps of up to CAP
// tokens; rb = min(RB_MAX, CAP / n) rows per workgroup. Larger maps take the two-pass kernels
// (amflow_row_stats + amflow_colsum).
//
// One workgroup per block of rb rows i0 … i0+rb−1 of one attention map g = (b, h):
//   d_ij = |a[g,i,j] − b[g,i,j]|,  m_i = max_j d_ij,  e_ij = exp(d_ij − m_i),  s_i = Σ_j e_ij
//   partial[g, k, j] = Σ_{i in block k} e_ij / s_i
// The rows' d, then e, stay in workgroup memory; the host sums `partial` over k:
//   flow[g, j] = Σ_k partial[g, k, j] = Σ_i softmax_j(d_i·)_j
// params = [groups, n, rb, blocks]. Every binding is read_write: burn's memory pool hands out
// slices of shared buffers, and a dispatch may not bind one buffer both read-only and writable.

@group(0) @binding(0) var<storage, read_write> logits_t: array<f32>;
@group(0) @binding(1) var<storage, read_write> logits_t1: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> params: array<u32>;

const WG: u32 = {{ workgroup }}u;
// Workgroup memory: CAP floats of rows + RB_MAX·WG of per-invocation statistics, 14 KiB in all,
// inside WebGPU's guaranteed 16 KiB.
const CAP: u32 = {{ tile_cap }}u;
const RB_MAX: u32 = {{ tile_rows_max }}u;
var<workgroup> rows_e: array<f32, CAP>;
var<workgroup> scratch: array<f32, RB_MAX * WG>;
var<workgroup> row_stat: array<f32, RB_MAX>;

@compute @workgroup_size({{ workgroup }})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let groups = params[0];
    let n = params[1];
    let rb = params[2];
    let blocks = params[3];
    let item = wid.x + wid.y * 65535u;
    // Workgroups past the last item do no work but still reach every barrier.
    let live = item < groups * blocks;
    let g = select(0u, item / blocks, live);
    let k = select(0u, item % blocks, live);
    let i0 = k * rb;
    // Rows of this block that exist (the last block may be short); 0 for a dead workgroup.
    let count = select(0u, min(rb, n - i0), live);

    // 1. d into workgroup memory; each invocation's max over its share of every row.
    for (var r = 0u; r < count; r = r + 1u) {
        let base = (g * n + i0 + r) * n;
        var mr = -3.402823e38;
        for (var j = lid; j < n; j = j + WG) {
            let d = abs(logits_t[base + j] - logits_t1[base + j]);
            rows_e[r * n + j] = d;
            mr = max(mr, d);
        }
        scratch[r * WG + lid] = mr;
    }
    workgroupBarrier();
    // Row maxima: invocation r reduces row r's 64 partial maxima.
    if (lid < count) {
        var mr = -3.402823e38;
        for (var t = 0u; t < WG; t = t + 1u) {
            mr = max(mr, scratch[lid * WG + t]);
        }
        row_stat[lid] = mr;
    }
    workgroupBarrier();

    // 2. e = exp(d − m_i) in place; each invocation's sum over its share of every row.
    for (var r = 0u; r < count; r = r + 1u) {
        let mr = row_stat[r];
        var sr = 0.0;
        for (var j = lid; j < n; j = j + WG) {
            let e = exp(rows_e[r * n + j] - mr);
            rows_e[r * n + j] = e;
            sr = sr + e;
        }
        scratch[r * WG + lid] = sr;
    }
    workgroupBarrier();
    if (lid < count) {
        var sr = 0.0;
        for (var t = 0u; t < WG; t = t + 1u) {
            sr = sr + scratch[lid * WG + t];
        }
        row_stat[lid] = 1.0 / sr;
    }
    workgroupBarrier();

    // 3. This block's share of the column sums.
    if (live) {
        for (var j = lid; j < n; j = j + WG) {
            var acc = 0.0;
            for (var r = 0u; r < count; r = r + 1u) {
                acc = acc + rows_e[r * n + j] * row_stat[r];
            }
            partial[(g * blocks + k) * n + j] = acc;
        }
    }
}
