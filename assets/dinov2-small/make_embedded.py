"""Write the embedded default backbone: dinov2-small with its weights narrowed to float16.

    python make_embedded.py SRC_DIR [OUT_DIR]

SRC_DIR holds a Hugging Face DINOv2 `config.json` and float32 `model.safetensors`
(../shared/models/dinov2-small). OUT_DIR (default: this folder) gets `config.json` unchanged and
`model.safetensors` with the weight matrices (linear and patch-projection weights: 99.6% of
the parameters) stored as F16 (round to nearest even), halving its size; norms, biases, layer
scales, tokens and position embeddings stay F32. amflow widens everything to f32 on load.
Standard library only.
"""
import json, os, struct, sys

src = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
raw = open(os.path.join(src, "model.safetensors"), "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8 : 8 + n])
data = raw[8 + n :]

meta = header.pop("__metadata__", {}) or {}
meta["amflow"] = "float16 weight matrices of a float32 checkpoint, made by assets/dinov2-small/make_embedded.py"
new_header, chunks, offset = {"__metadata__": meta}, [], 0
for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
    info = header[name]
    begin, end = info["data_offsets"]
    blob = data[begin:end]
    narrow = len(info["shape"]) >= 2 and not name.startswith("embeddings.") or name.endswith("projection.weight")
    if info["dtype"] == "F32" and narrow:
        count = len(blob) // 4
        values = struct.unpack(f"<{count}f", blob)
        blob = struct.pack(f"<{count}e", *values)
        dtype = "F16"
    else:
        dtype = info["dtype"]
    new_header[name] = {"dtype": dtype, "shape": info["shape"], "data_offsets": [offset, offset + len(blob)]}
    chunks.append(blob)
    offset += len(blob)

text = json.dumps(new_header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned
tmp = os.path.join(out, "model.safetensors.tmp")
with open(tmp, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for c in chunks:
        f.write(c)
os.replace(tmp, os.path.join(out, "model.safetensors"))
with open(os.path.join(src, "config.json")) as f:
    config = f.read()
with open(os.path.join(out, "config.json"), "w") as f:
    f.write(config)
print("wrote", out, offset, "bytes of tensors")
