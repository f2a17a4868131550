#!/usr/bin/env python3
"""Writes the web page's asset manifest, amflow-assets.json (see src/manifest.rs).

Run by trunk after every build (a post_build hook in Trunk.toml) over its staging folder
($TRUNK_STAGING_DIR), where index.html's copy links have put the default backbone and the demo
checkpoint: each file's size and SHA-256, so that the page can tell a complete, current
download from a torn or stale one. Written to a temporary file, synced and renamed, so a
reader never sees half a manifest.
"""

import hashlib
import json
import os
import sys

# The files the page fetches, relative to index.html (src/manifest.rs names the same paths).
FILES = [
    "dinov2-small/config.json",
    "dinov2-small/model.safetensors",
    "demo/synth-classifier.safetensors",
]


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def main():
    stage = os.environ.get("TRUNK_STAGING_DIR")
    if not stage:
        sys.exit("asset_manifest.py: TRUNK_STAGING_DIR is not set (trunk sets it for hooks)")
    files = {}
    for name in FILES:
        path = os.path.join(stage, name)
        if not os.path.isfile(path):
            sys.exit(f"asset_manifest.py: {path} is missing (index.html copies it)")
        files[name] = {"bytes": os.path.getsize(path), "sha256": sha256(path)}
    out = os.path.join(stage, "amflow-assets.json")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"format": "amflow-assets/1", "files": files}, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
