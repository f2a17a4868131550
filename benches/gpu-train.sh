#!/usr/bin/env bash
# Training runs on a lent GPU machine (wgpu on its Vulkan driver), for the studies that need
# more runs than two CPU cores give a sitting (README, "Evidence"). Like benches/gpu.sh, in two
# halves, since that machine has no Rust toolchain and takes at most 64 MiB a call:
#
#   bash benches/gpu-train.sh kit      # here, after `benches/gpu.sh kit`: target/gpu-train
#                                      # (amflow alone, 14 MB packed, and the Vulkan packages)
#   bash benches/gpu-train.sh run      # there, with target/gpu-train carried
#
# The real ViT-S/14 weights travel in the checkout (assets/dinov2-small, 45 MB); move the two
# demo checkpoints (assets/demo/*.safetensors, 19 MB) out of it for the call. `run` makes the
# synthetic sets from their seeds (`amflow synth` is deterministic: their file hashes are
# printed to compare with the sets trained on elsewhere), then trains and evaluates each line
# of RUNS in order, writing every result to $OUT as it comes, so a call cut short keeps what
# finished.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=target/gpu-train
log() { echo "::: $* ($(date +%T))"; }

# name | training set | `amflow train` options (besides the set, --out, --backend)
RUNS=(
  "disp-b112-s0|s5big|--blocks 1,12 --size 112 --lr 1e-3 --epochs 4 --adapters-from 1 --flow displacement --keep best --seed 0"
  "disp-b19-s0|s5big|--blocks 1,9 --size 112 --lr 1e-3 --epochs 4 --adapters-from 1 --flow displacement --keep best --seed 0"
  "disp-b68-s0|s5big|--blocks 6,8 --size 112 --lr 1e-3 --epochs 4 --adapters-from 6 --flow displacement --keep best --seed 0"
)

kit() {
  [ -f target/gpu-kit/bin.tar.xz ] || { echo "run benches/gpu.sh kit first" >&2; exit 1; }
  rm -rf "$KIT" && mkdir -p "$KIT"
  cp -r target/gpu-kit/gl "$KIT/"
  local built
  built=$(cat target/gpu-kit/amflow-path.txt)
  xz -9 -T2 -c "$built" >"$KIT/amflow.xz"
  du -sh "$KIT"/*
}

run() {
  OUT=${OUT:-target/gpu-train-out}
  mkdir -p "$OUT"
  for f in "$KIT"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
  python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$KIT/amflow.xz" /tmp/amflow
  chmod +x /tmp/amflow
  local data=/tmp/amflow-data
  mkdir -p "$data"
  log "sets"
  /tmp/amflow synth "$data/s5big" --seed 5 --train 64 >/dev/null
  /tmp/amflow synth "$data/s7" --seed 7 --train 16 >/dev/null
  # Byte order (LC_ALL=C), so the hash is the same wherever it is taken; the first three files'
  # own hashes show where two sets part if the totals differ.
  for set in s5big s7; do
    local sums
    sums=$(cd "$data" && find "$set" -type f | LC_ALL=C sort | xargs md5sum)
    echo "$set $(awk '{print $1}' <<<"$sums" | md5sum | cut -c1-32) (first files: $(head -3 <<<"$sums" | tr '\n' ' '))" | tee -a "$OUT/results.txt"
  done
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 1 >"$OUT/smi.csv" 2>/dev/null &
  local smi=$!
  for line in "${RUNS[@]}"; do
    IFS='|' read -r name set options <<<"$line"
    log "train $name"
    local t0=$SECONDS
    # shellcheck disable=SC2086
    /tmp/amflow --backbone assets/dinov2-small train "$data/$set" $options --backend wgpu \
      --out "$data/$name.safetensors" >"$OUT/$name.log" 2>&1 || { echo "$name: training failed" | tee -a "$OUT/results.txt"; continue; }
    local trained=$((SECONDS - t0))
    /tmp/amflow --backbone assets/dinov2-small eval "$data/s7" --checkpoint "$data/$name.safetensors" --backend wgpu \
      >>"$OUT/$name.log" 2>&1 || echo "$name: evaluation failed" | tee -a "$OUT/results.txt"
    echo "$name: $options; trained in $trained s; $(grep -h 'valid ' "$OUT/$name.log" | grep -o 'accuracy [0-9.]*%' | tr '\n' ' '); $(grep "s7: top-1" "$OUT/$name.log")" | tee -a "$OUT/results.txt"
  done
  kill "$smi" 2>/dev/null || true
  log "done"
}

case "${1:-}" in
  kit) kit ;;
  run) run ;;
  *) echo "usage: bash benches/gpu-train.sh kit|run" >&2; exit 2 ;;
esac
