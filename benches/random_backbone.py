#!/usr/bin/env python3
"""A DINOv2 of the embedded backbone's exact shape with random weights, in Hugging Face layout,
for timing on a machine the real weights cannot reach (benches/gpu.sh: the GPU machine's
transfers are bounded at 64 MiB, the ViT-S/14 weights alone are 45 MB). The work a forward pass
does depends on the shapes, not the values, so timings on it are the real backbone's.

  --like HEADER.json  the tensor names, dtypes and shapes of the real model.safetensors (its
                      header, which `benches/gpu.sh kit` writes)
  --config FILE       its config.json (copied beside the weights)
  --out DIR           where config.json and model.safetensors are written

Weights are drawn as Hugging Face initialises a DINOv2 (truncated normal, std 0.02), norms'
scales 1 and biases 0, layer scales at the config's `layerscale_value`; nothing but numpy.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--like", required=True)
p.add_argument("--config", required=True)
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

header = json.load(open(a.like))
config = json.load(open(a.config))
rng = np.random.default_rng(a.seed)
dtypes = {"F16": np.float16, "F32": np.float32}


def values(name, shape):
    n = int(np.prod(shape)) if shape else 1
    if name.endswith(".bias"):
        return np.zeros(n)
    if name.startswith(("layernorm.", "encoder.layer.")) and ("norm" in name and name.endswith(".weight")):
        return np.ones(n)
    if name.endswith(".lambda1"):
        return np.full(n, config.get("layerscale_value", 1.0))
    return np.clip(rng.normal(0.0, 0.02, n), -0.04, 0.04)


names = sorted(k for k in header if k != "__metadata__")
out_header, blobs, offset = {}, [], 0
for name in names:
    t = header[name]
    data = values(name, t["shape"]).astype(dtypes[t["dtype"]]).tobytes()
    out_header[name] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [offset, offset + len(data)]}
    blobs.append(data)
    offset += len(data)
out_header["__metadata__"] = {"format": "pt", "amflow": "random weights of the embedded backbone's shape (benches/random_backbone.py)"}
text = json.dumps(out_header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for blob in blobs:
        f.write(blob)
shutil.copy(a.config, os.path.join(a.out, "config.json"))
print(f"{a.out}: {len(names)} tensors, {offset / 1e6:.1f} MB of random weights")
