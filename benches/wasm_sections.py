#!/usr/bin/env python3
"""Sizes of a WebAssembly module by section, for BENCHMARKS.md's bundle-size row: the code
(what the page downloads and compiles) apart from the data segments that hold the embedded
backbone and demo checkpoint, and the custom sections (names, debug info) that wasm-opt strips.

With --crates, also the code size of every function, summed by the crate (or crate::module) its
name starts with, read from the module's name section: what the code is made of. Use a module
that still has its names (the `web` profile's target/wasm32-unknown-unknown/web/amflow.wasm,
before wasm-opt).

usage: python3 benches/wasm_sections.py PATH.wasm [--crates [DEPTH]]
"""
import collections
import re
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


def name(buf, i):
    size, i = leb(buf, i)
    return buf[i:i + size], i + size


def sections(buf):
    """(id, start, end) of every section."""
    if buf[:4] != b"\0asm":
        raise SystemExit("not a WebAssembly module")
    i, out = 8, []
    while i < len(buf):
        sid = buf[i]
        size, i = leb(buf, i + 1)
        out.append((sid, i, i + size))
        i += size
    return out


def imported_functions(buf, start):
    """How many of the imports are functions (they come first in the function index space)."""
    count, i = leb(buf, start)
    functions = 0
    for _ in range(count):
        _, i = name(buf, i)
        _, i = name(buf, i)
        kind = buf[i]
        i += 1
        if kind == 0:  # function: type index
            _, i = leb(buf, i)
            functions += 1
        elif kind == 1:  # table: element type, limits
            i += 1
            flags, i = leb(buf, i)
            _, i = leb(buf, i)
            if flags & 1:
                _, i = leb(buf, i)
        elif kind == 2:  # memory: limits
            flags, i = leb(buf, i)
            _, i = leb(buf, i)
            if flags & 1:
                _, i = leb(buf, i)
        elif kind == 3:  # global: value type, mutability
            i += 2
        else:
            raise SystemExit(f"unknown import kind {kind}")
    return functions


def body_sizes(buf, start):
    count, i = leb(buf, start)
    sizes = []
    for _ in range(count):
        size, j = leb(buf, i)
        sizes.append(size + j - i)
        i = j + size
    return sizes


def function_names(buf, start, end):
    _, i = name(buf, start)  # "name"
    names = {}
    while i < end:
        sub = buf[i]
        size, i = leb(buf, i + 1)
        if sub == 1:
            count, j = leb(buf, i)
            for _ in range(count):
                index, j = leb(buf, j)
                text, j = name(buf, j)
                names[index] = text.decode("utf-8", "replace")
        i += size
    return names


ESCAPES = [("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$BP$", "*"),
           ("$C$", ","), ("$u7b$", "{"), ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"),
           ("$SP$", "@"), ("$LP$", "("), ("$RP$", ")"), ("$u27$", "'"), ("..", "::")]


def demangle(symbol):
    """Rust's legacy mangling (`_ZN` + length-prefixed segments + hash) to a path."""
    if not symbol.startswith("_ZN"):
        return symbol
    i, parts = 3, []
    while i < len(symbol) and symbol[i] != "E":
        digits = re.match(r"\d+", symbol[i:])
        if not digits:
            break
        i += len(digits.group())
        size = int(digits.group())
        parts.append(symbol[i:i + size])
        i += size
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    path = "::".join(parts)
    for escaped, plain in ESCAPES:
        path = path.replace(escaped, plain)
    return path


def owner(path, depth):
    """The crate (depth 1) or crate::module (depth 2, …) a function belongs to: for a trait
    impl `<Type as Trait>::f`, the type's."""
    path = re.sub(r"^_?<+(?:impl |dyn )?[&*]*(?:mut |const )?", "", path)
    head = re.match(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*", path)
    if not head:
        return "?"
    return "::".join(head.group().split("::")[:depth])


def by_crate(buf, spans, depth):
    imports = next((imported_functions(buf, s) for sid, s, _ in spans if sid == 2), 0)
    sizes = next((body_sizes(buf, s) for sid, s, _ in spans if sid == 10), [])
    names = {}
    for sid, start, end in spans:
        if sid == 0 and name(buf, start)[0] == b"name":
            names = function_names(buf, start, end)
    if not names:
        raise SystemExit("the module has no name section (stripped, or after wasm-opt)")
    totals = collections.Counter()
    for k, size in enumerate(sizes):
        totals[owner(demangle(names.get(imports + k, "?")), depth)] += size
    return sum(sizes), totals


def main():
    buf = open(sys.argv[1], "rb").read()
    spans = sections(buf)
    sizes = collections.Counter()
    for sid, start, end in spans:
        sizes[NAMES.get(sid, str(sid))] += end - start
    mb = lambda n: f"{n / 1e6:.2f} MB"  # noqa: E731
    print(f"total {mb(len(buf))}")
    for section, size in sizes.most_common():
        print(f"  {section:<10} {mb(size)}")
    print(f"without data and custom sections: "
          f"{mb(len(buf) - sizes.get('data', 0) - sizes.get('custom', 0))}")
    if "--crates" in sys.argv:
        at = sys.argv.index("--crates")
        depth = int(sys.argv[at + 1]) if len(sys.argv) > at + 1 else 1
        total, totals = by_crate(buf, spans, depth)
        print(f"function bodies {mb(total)}, by {'crate' if depth == 1 else 'module'}:")
        for key, size in totals.most_common(40):
            print(f"  {mb(size):>9}  {100 * size / total:4.1f}%  {key}")


main()
