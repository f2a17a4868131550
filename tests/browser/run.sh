#!/usr/bin/env bash
# End-to-end test of amflow's web build in headless Chromium (WebGPU on SwiftShader, no GPU):
# build the page with trunk, serve it on loopback, load it, wait for the page's marker
# (<body data-amflow="frames-ready">, or "error"), and keep a screenshot of each run.
#
#   1. a real clip by URL: ?clip=vtest-2s.webm (VP9, decoded by the browser's <video>), on to
#      the maps, which must be a picture (the pair's frames differ);
#   2. the embedded demo clip;
#   3. the demo, then vtest-2s.webm dropped on the page as a user drags a file in;
#   4. the demo, then vtest-2s.webm chosen with the "open a clip…" button's file picker;
#   5. the maps: ?backbone=tiny-dinov2/ (the demo clip) on WebGPU, waiting for "maps-ready"
#      and checking that the first map in the screenshot is a picture, not a blank;
#   6. the same in a browser without WebGPU: the page draws with WebGL and the model runs in
#      the CPU worker (<body data-amflow-compute="cpu">), its helper worker running one frame
#      of the pair, and without fetching the WebGPU worker's module; the CPU worker's relaxed-
#      SIMD flavour, and its SIMD128 one with ?relaxed-simd=off; then ?backend=wgpu there,
#      whose WebGPU worker finds no adapter and hands over to the CPU worker;
#      all of these run the model in the page's workers, and must report the pair's time and
#      the longest main-thread task meanwhile (data-amflow-maps-ms, -longest-task-ms); and
#      ?flow=displacement on WebGPU, the displacement flow's direction maps;
#   6b. a dataset's block ranking (a selection file) dropped on the page: the AM-blocks panel
#      proposes its blocks, and refuses one made for another backbone (ranking.mjs);
#   7. ?camera with Chromium's fake camera: live maps with a rate (data-amflow-live-rate), and
#      the messages for no camera and for a refused permission;
#   8. the page's own weights (weights.mjs): drawn before the default ViT-S/14 has arrived
#      (the server sends it slowly), a second load served by the Cache API, a corrupted cached
#      copy fetched again.
#
# Runs 1-6 use the tiny random DINOv2 from ../shared (served as tiny-dinov2/), which SwiftShader
# runs in seconds; the default ViT-S/14 takes SwiftShader minutes per pair, so run 7 loads it
# without waiting for its maps.
#
# Needs trunk and wasm-bindgen on PATH, Debian's chromium, Node ≥ 20 (see .ci/setup).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/target/browser-e2e}
DIST=$OUT/dist
PORT=${PORT:-8765}
mkdir -p "$OUT"

cd "$ROOT"
trunk build web/index.html --dist "$DIST" --offline --no-sri
cp tests/data/vtest-2s.webm "$DIST/"

# The CPU worker's two flavours (src/engine/relaxed_simd.rs): V8 with relaxed SIMD turned off
# must refuse the relaxed-SIMD module (it holds relaxed instructions: the feature took) and
# accept the SIMD128 one (a browser without relaxed SIMD can run it); with it on, both.
validates() {
  node "$1" -e "console.log(WebAssembly.validate(require('fs').readFileSync(process.argv[1])))" "$DIST/$2"
}
for check in "--no-experimental-wasm-relaxed-simd amflow-worker-cpu_bg.wasm true" \
             "--no-experimental-wasm-relaxed-simd amflow-worker-cpu-relaxed_bg.wasm false" \
             "--experimental-wasm-relaxed-simd amflow-worker-cpu-relaxed_bg.wasm true"; do
  read -r flag module expected <<<"$check"
  found=$(validates "$flag" "$module")
  if [ "$found" != "$expected" ]; then
    echo "WebAssembly.validate($module) with $flag: $found, expected $expected"; exit 1
  fi
done
echo "::: browser: the relaxed-SIMD worker needs relaxed SIMD, the SIMD128 one does not"
mkdir -p "$DIST/tiny-dinov2"
cp "$ROOT/../shared/models/tiny-dinov2/config.json" "$ROOT/../shared/models/tiny-dinov2/model.safetensors" "$DIST/tiny-dinov2/"

[ -d "$HERE/node_modules/playwright-core" ] && [ -d "$HERE/node_modules/pngjs" ] || (cd "$HERE" && npm install --no-audit --no-fund --silent)

# Python's static server (no range requests), logging every request to requests.log.
: >"$OUT/requests.log"
python3 "$HERE/serve.py" "$PORT" "$DIST" "$OUT/requests.log" >"$OUT/http.log" 2>&1 &
HTTP_PID=$!
trap 'kill $HTTP_PID 2>/dev/null || true' EXIT INT TERM
i=0
until python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:$PORT/index.html" 2>/dev/null; do
  i=$((i+1)); [ $i -lt 50 ] || { echo "http server did not come up"; exit 1; }; sleep 0.1
done

export FAIL_MARKER='body[data-amflow="error"]'
status=0
# name | page | what the page must show: the clip's frame count and rate as the browser measured
# them (vtest-2s.webm: 2 s at 10 fps; the demo clip: 40 frames at 10 fps) | the state it must
# reach | whether its maps must be a picture. vtest-2s.webm comes by URL from Python's
# http.server, which does not answer range requests: the maps are flat grey if the page reads
# every frame as the first.
for run in "clip|index.html?backbone=tiny-dinov2/&clip=vtest-2s.webm|20|10.00|maps-ready|1" \
           "demo|index.html?backbone=tiny-dinov2/|40|10.00|frames-ready|0"; do
  IFS='|' read -r name page frames fps state check <<<"$run"
  marker="body:is([data-amflow=\"$state\"], [data-amflow=\"maps-ready\"])[data-amflow-frames=\"$frames\"][data-amflow-fps=\"$fps\"]"
  echo "::: browser: $page (waiting for $marker)"
  if ! (cd "$HERE" && UDD_PARENT="$OUT" VIEWPORT=1280x900 CHECK_MAPS=$check \
      node shot.mjs "http://127.0.0.1:$PORT/$page" "$OUT/$name.png" "$marker" 240000); then
    echo "browser run '$name' failed (screenshot: $OUT/$name.png)"
    status=1
  fi
done
for mode in drop pick; do
  echo "::: browser: $mode vtest-2s.webm"
  if ! (cd "$HERE" && UDD_PARENT="$OUT" node open-file.mjs "$mode" "http://127.0.0.1:$PORT/index.html?backbone=tiny-dinov2/" \
      vtest-2s.webm "$DIST/vtest-2s.webm" "$OUT/$mode.png" 20 10.00); then
    echo "browser run '$mode' failed (screenshot: $OUT/$mode.png)"
    status=1
  fi
done
# name | NO_WEBGPU | URL parameters | where the model must run | the worker module that must be
# fetched | the ones that must not be | the pair's marker
#  - maps: WebGPU (SwiftShader) in the WebGPU worker;
#  - maps-cpu: no WebGPU adapter on the page, so the CPU worker alone (the WebGPU module is never
#    fetched), its pair split with its helper worker (data-amflow-pair-helper="1"); Chromium has
#    relaxed SIMD, so it is the relaxed-SIMD flavour and the SIMD128 one is never fetched;
#  - maps-cpu-simd128: the same with ?relaxed-simd=off, the SIMD128 flavour (what a browser
#    without relaxed SIMD runs);
#  - maps-cpu-fallback: ?backend=wgpu skips the page's check, the WebGPU worker finds no adapter
#    and hands over to the CPU worker;
#  - maps-displacement: ?flow=displacement, the displacement flow's direction maps (one more
#    request to the WebGPU worker after the pair's vanilla flow).
for run in "maps|0||gpu|amflow-worker_bg.wasm|amflow-worker-cpu_bg.wasm amflow-worker-cpu-relaxed_bg.wasm|[data-amflow-pair-helper=\"0\"]" \
           "maps-cpu|1||cpu|amflow-worker-cpu-relaxed_bg.wasm|amflow-worker_bg.wasm amflow-worker-cpu_bg.wasm|[data-amflow-pair-helper=\"1\"]" \
           "maps-cpu-simd128|1|&relaxed-simd=off|cpu|amflow-worker-cpu_bg.wasm|amflow-worker_bg.wasm amflow-worker-cpu-relaxed_bg.wasm|[data-amflow-pair-helper=\"1\"]" \
           "maps-cpu-fallback|1|&backend=wgpu|cpu|amflow-worker-cpu-relaxed_bg.wasm||" \
           "maps-displacement|0|&flow=displacement|gpu|amflow-worker_bg.wasm|amflow-worker-cpu_bg.wasm amflow-worker-cpu-relaxed_bg.wasm|"; do
  IFS='|' read -r name nowebgpu params compute fetched unfetched pair <<<"$run"
  page="index.html?backbone=tiny-dinov2/$params"
  marker="body[data-amflow=\"maps-ready\"][data-amflow-compute=\"$compute\"][data-amflow-maps-ms][data-amflow-longest-task-ms]$pair"
  echo "::: browser: $page, WebGPU off: $nowebgpu (waiting for $marker)"
  before=$(wc -l <"$OUT/requests.log")
  if ! (cd "$HERE" && UDD_PARENT="$OUT" NO_WEBGPU=$nowebgpu VIEWPORT=1280x900 CHECK_MAPS=1 \
      node shot.mjs "http://127.0.0.1:$PORT/$page" "$OUT/$name.png" "$marker" 240000); then
    echo "browser run '$name' failed (screenshot: $OUT/$name.png)"
    status=1
  fi
  # Each run has a fresh profile, so whatever module it used came from the server.
  requests=$(tail -n +"$((before + 1))" "$OUT/requests.log")
  if ! grep -q "GET /$fetched " <<<"$requests"; then
    echo "browser run '$name' did not fetch $fetched"; status=1
  fi
  for module in $unfetched; do
    if grep -q "GET /$module " <<<"$requests"; then
      echo "browser run '$name' fetched $module, which it does not run"; status=1
    fi
  done
done
echo "::: browser: a dataset's block ranking dropped on the page"
if ! (cd "$HERE" && UDD_PARENT="$OUT" node ranking.mjs "http://127.0.0.1:$PORT/index.html?backbone=tiny-dinov2/" "$OUT/ranking.png"); then
  echo "browser run 'ranking' failed (screenshot: $OUT/ranking.png)"
  status=1
fi
# The camera (?camera): Chromium's fake camera (a moving test pattern) reaching live maps with a
# rate, no camera at all, and a refused permission, each with its message.
FAKE_CAMERA="--use-fake-device-for-media-stream --use-fake-ui-for-media-stream"
# name | extra flags | marker
for run in "camera|$FAKE_CAMERA|body[data-amflow-live-rate]" \
           "camera-missing|--use-fake-ui-for-media-stream|body[data-amflow=\"error\"][data-amflow-error*=\"no camera was found\"]" \
           "camera-refused|--use-fake-device-for-media-stream --deny-permission-prompts|body[data-amflow=\"error\"][data-amflow-error*=\"permission to use the camera was refused\"]"; do
  IFS='|' read -r name flags marker <<<"$run"
  check=0; fail='body[data-amflow="error"]'
  [ "$name" = camera ] && check=1
  [ "$name" = camera ] || fail='body[data-amflow-never]'
  echo "::: browser: ?camera, $name (waiting for $marker)"
  if ! (cd "$HERE" && UDD_PARENT="$OUT" EXTRA_FLAGS="$flags" FAIL_MARKER="$fail" VIEWPORT=1280x900 CHECK_MAPS=$check \
      node shot.mjs "http://127.0.0.1:$PORT/index.html?backbone=tiny-dinov2/&camera" "$OUT/$name.png" "$marker" 240000); then
    echo "browser run '$name' failed (screenshot: $OUT/$name.png)"
    status=1
  fi
done
echo "::: browser: the page's own weights (first paint, Cache API, a corrupted copy)"
if ! (cd "$HERE" && NO_WEBGPU=1 node weights.mjs "http://127.0.0.1:$PORT" "$OUT/requests.log" "$OUT"); then
  echo "browser run 'weights' failed (screenshots: $OUT/weights*.png)"
  status=1
fi
exit $status
