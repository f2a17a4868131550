#!/usr/bin/env python3
"""Holds the published web page to its size budget: every WebAssembly module ≤ 8 MB.

Run by trunk after every build (a post_build hook in Trunk.toml) over its staging folder
($TRUNK_STAGING_DIR). The budget is for the published build (`trunk build --release`, the `web`
profile and wasm-opt); a development build ($TRUNK_PROFILE=debug) is only listed. Over budget,
the build fails with each module's size, so a release that makes the page heavier is seen
before it is published. BENCHMARKS.md ("The web page") has the sizes and what was tried.
"""

import os
import sys

# Bytes, decimal megabytes: the "every .wasm file in dist/ ≤ 8 MB".
BUDGET = 8_000_000


def main():
    stage = os.environ.get("TRUNK_STAGING_DIR")
    if not stage:
        sys.exit("size_budget.py: TRUNK_STAGING_DIR is not set (trunk sets it for hooks)")
    release = os.environ.get("TRUNK_PROFILE") == "release"
    modules = sorted(n for n in os.listdir(stage) if n.endswith(".wasm"))
    if not modules:
        sys.exit(f"size_budget.py: no .wasm module in {stage}")
    over = []
    for name in modules:
        size = os.path.getsize(os.path.join(stage, name))
        print(f"size_budget.py: {name}: {size:,} bytes")
        if size > BUDGET:
            over.append(f"{name} ({size:,} bytes)")
    if release and over:
        sys.exit(
            f"size_budget.py: over the {BUDGET:,}-byte budget of a published module: "
            + ", ".join(over)
        )


if __name__ == "__main__":
    main()
