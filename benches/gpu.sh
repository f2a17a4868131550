#!/usr/bin/env bash
# The checks and timings that need a real GPU, as one script for a lent GPU machine (about 8
# minutes on a warm build; see BENCHMARKS.md): the wgpu parity and kernel tests on the real
# adapter instead of lavapipe, then `amflow bench` on wgpu beside the CPU (the fused AM-flow
# kernel, the frame pair, the classifier), its JSON kept under $OUT (or target/gpu-bench).
#
#   bash benches/gpu.sh            # on the GPU machine, from the repository root
#
# Needs a Rust toolchain and the machine's Vulkan driver; nothing is downloaded but crates.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-target/gpu-bench}
mkdir -p "$OUT"
log() { echo "::: $* ($(date +%T))"; }
log "adapter"
(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv) | tee "$OUT/adapter.txt" || true
command -v vulkaninfo >/dev/null && vulkaninfo --summary 2>/dev/null | sed -n '/Devices:/,$p' | tee -a "$OUT/adapter.txt" || true
log "build"
cargo build --locked --bin amflow 2>&1 | tail -3
cargo test --locked --no-run --test parity_tiny --test am_flow --test flow_kernel 2>&1 | tail -3
log "wgpu tests on the real adapter"
cargo test --locked --test parity_tiny --test am_flow --test flow_kernel -- --test-threads=1 2>&1 | tee "$OUT/tests.txt" | grep -E "^test result|FAILED|panicked" || true
log "bench: wgpu beside the CPU"
for case in kernel pair classifier; do
  ./target/debug/amflow bench --cases "$case" --backends cpu,wgpu --json >"$OUT/bench-$case.json" 2>"$OUT/bench-$case.log" \
    && cat "$OUT/bench-$case.json" || { echo "bench $case failed:"; tail -5 "$OUT/bench-$case.log"; }
done
log "done; results in $OUT"
