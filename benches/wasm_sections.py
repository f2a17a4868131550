#!/usr/bin/env python3
"""Sizes of a WebAssembly module by section, for BENCHMARKS.md's bundle-size row: the code
(what the page downloads and compiles) apart from the data segments that hold the embedded
backbone and demo checkpoint, and the custom sections (names, debug info) that wasm-opt strips.

usage: python3 benches/wasm_sections.py PATH.wasm
"""
import sys

NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
         6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
         12: "data count"}


def leb(buf, i):
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def sections(buf):
    if buf[:4] != b"\0asm":
        raise SystemExit("not a WebAssembly module")
    i, sizes = 8, {}
    while i < len(buf):
        sid = buf[i]
        size, i = leb(buf, i + 1)
        sizes[NAMES.get(sid, str(sid))] = sizes.get(NAMES.get(sid, str(sid)), 0) + size
        i += size
    return sizes


buf = open(sys.argv[1], "rb").read()
sizes = sections(buf)
mb = lambda n: f"{n / 1e6:.1f} MB"  # noqa: E731
print(f"total {mb(len(buf))}")
for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
    print(f"  {name:<10} {mb(size)}")
print(f"without data and custom sections: {mb(len(buf) - sizes.get('data', 0) - sizes.get('custom', 0))}")
