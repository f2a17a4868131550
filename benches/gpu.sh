#!/usr/bin/env bash
# The checks and timings that need a real GPU, for a lent GPU machine (see BENCHMARKS.md, "On a
# real GPU"). That machine has no Rust toolchain and reaches no registry, and what travels to it
# is bounded at 64 MiB, so the work is split in two:
#
#   bash benches/gpu.sh kit    # here: build and pack target/gpu-kit (the binaries, stripped and
#                              # compressed; the tiny DINOv2; the Vulkan loader's .deb files)
#   bash benches/gpu.sh run    # there, from the repository root, with target/gpu-kit carried
#
# `run` does, in about 2 minutes on an H200 machine: the wgpu parity and kernel tests on the real
# adapter (the test binaries built by `kit`), `amflow bench` on wgpu beside the CPU (kernel, pair,
# stream, classifier; the pair also at 112 and 448), and the PyTorch reference of the same work
# (benches/reference.py) on CUDA and on the CPU; everything lands in $OUT (or target/gpu-bench).
#
# The kit's amflow is built without the `embedded` feature (the 57 MB of compiled-in weights
# would not fit the transfer beside the code), and the ViT-S/14 it times has the real one's
# shape with random weights (benches/random_backbone.py): the same work, other numbers. The
# tracked weights must not travel either: move assets/dinov2-small/model.safetensors and
# assets/demo/synth-without-am.safetensors out of the checkout for the call (`kit` prints what
# will travel); assets/demo/synth-classifier.safetensors travels and is the classifier case's
# checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=target/gpu-kit
log() { echo "::: $* ($(date +%T))"; }

kit() {
  # Optimised for size outside the crates the CPU path needs fast (the dev profile's opt-level 3
  # list): the dev build's unoptimised wgpu, naga and cubecl code is 4x larger.
  local target=${KIT_TARGET_DIR:-target}
  local profile=(--profile kit --config 'profile.kit.inherits="dev"'
    --config 'profile.kit.package."*".opt-level="s"' --config 'profile.kit.strip=true'
    --no-default-features --features app,cpu,gpu)
  log "build (${profile[*]})"
  CARGO_TARGET_DIR=$target cargo test --locked --no-run "${profile[@]}" \
    --test parity_tiny --test am_flow --test flow_kernel
  rm -rf "$KIT" && mkdir -p "$KIT/bin" "$KIT/gl"
  cp "$target/kit/amflow" "$KIT/bin/"
  for t in parity_tiny am_flow flow_kernel; do
    cp "$(ls -t "$target"/kit/deps/"$t"-* | grep -v '\.d$' | head -1)" "$KIT/bin/$t"
  done
  # The path the test binaries were built to find amflow at (CARGO_BIN_EXE_amflow).
  realpath "$target/kit/amflow" >"$KIT/amflow-path.txt"
  log "pack"
  tar -C "$KIT" -cf - bin | xz -9 -T2 >"$KIT/bin.tar.xz"
  rm -rf "$KIT/bin"
  mkdir -p "$KIT/tiny-dinov2"
  cp ../shared/models/tiny-dinov2/{config.json,model.safetensors,reference_io.npz} "$KIT/tiny-dinov2/"
  python3 - >"$KIT/vits-header.json" <<'EOF'
import json, struct
f = open("assets/dinov2-small/model.safetensors", "rb")
print(json.dumps(json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))))
EOF
  # The Vulkan loader and the GL vendor-neutral dispatch that NVIDIA's Vulkan driver links
  # against, which the GPU machine's image lacks (with the loader alone wgpu found no adapter).
  (cd "$KIT/gl" && apt-get download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2 2>&1 | grep -v '^W:' >&2)
  du -sh "$KIT"/*
  log "what travels (must stay under 64 MiB)"
  local tree
  tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | grep -zv -e dinov2-small/model.safetensors -e synth-without-am.safetensors \
    | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s}')
  echo "working tree $((tree / 1048576)) MiB without the two weight files to move aside, + kit $(du -sm "$KIT" | cut -f1) MiB"
}

run() {
  OUT=${OUT:-target/gpu-bench}
  mkdir -p "$OUT"
  local bin=/tmp/gpu-kit
  for f in "$KIT"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
  log "adapter"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/adapter.txt" || true
  nproc | sed 's/^/cpu cores: /' | tee -a "$OUT/adapter.txt"
  log "unpack"
  mkdir -p "$bin" && python3 -c "import lzma, tarfile, sys; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])" "$KIT/bin.tar.xz" "$bin"
  # The test binaries run amflow from where it was built, and find ../shared beside the checkout.
  local built
  built=$(cat "$KIT/amflow-path.txt")
  mkdir -p "$(dirname "$built")" && cp "$bin/bin/amflow" "$built"
  mkdir -p ../shared/models && rm -rf ../shared/models/tiny-dinov2 && cp -r "$KIT/tiny-dinov2" ../shared/models/
  python3 benches/random_backbone.py --like "$KIT/vits-header.json" --config assets/dinov2-small/config.json --out /tmp/vits-random
  export CARGO_MANIFEST_DIR=$PWD
  # GPU utilisation through the run: the wgpu rows are on the GPU, not a software adapter.
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -lms 250 >"$OUT/smi.csv" 2>/dev/null &
  local smi=$!
  log "wgpu tests on the real adapter"
  {
    "$bin/bin/parity_tiny" --test-threads=1 wgpu
    "$bin/bin/am_flow" --test-threads=1 on_wgpu
    "$bin/bin/flow_kernel" --test-threads=1
  } 2>&1 | tee "$OUT/tests.txt" | grep -E "^test |^test result|panicked" || true
  # Each backend on its own, so that one failing keeps the other's rows; stderr of everything
  # below in one log (the device returns at most 8 files).
  log "bench: wgpu beside the CPU"
  for backend in cpu wgpu; do
    "$bin/bin/amflow" --backbone /tmp/vits-random bench --cases all --backends "$backend" \
      --checkpoint assets/demo/synth-classifier.safetensors --json >"$OUT/bench-$backend.json" 2>>"$OUT/stderr.log" \
      && cat "$OUT/bench-$backend.json" || echo "bench on $backend failed (stderr.log)"
  done
  # How the pair's time follows the input (compute-bound or launch-bound), both GPU stacks.
  log "the pair at other sizes, wgpu and CUDA"
  for size in 112 448; do
    "$bin/bin/amflow" --backbone /tmp/vits-random bench --cases pair --backends wgpu --size "$size" --json \
      2>>"$OUT/stderr.log" | tee -a "$OUT/bench-sizes.json" || echo "bench at $size failed (stderr.log)"
    python3 benches/reference.py --model /tmp/vits-random --device cuda --case pair --size "$size" 2>>"$OUT/stderr.log" \
      | tee -a "$OUT/reference.jsonl" || echo "reference at $size failed (stderr.log)"
  done
  log "reference: PyTorch eager, the same work, CUDA and CPU"
  for dev in cuda cpu; do
    for case in pair clip; do
      python3 benches/reference.py --model /tmp/vits-random --device "$dev" --case "$case" 2>>"$OUT/stderr.log" \
        | tee -a "$OUT/reference.jsonl" || echo "reference $dev $case failed (stderr.log)"
    done
  done
  kill "$smi" 2>/dev/null || true
  log "done; results in $OUT"
}

case "${1:-}" in
  kit) kit ;;
  run) run ;;
  *) echo "usage: bash benches/gpu.sh kit|run" >&2; exit 2 ;;
esac
