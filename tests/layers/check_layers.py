#!/usr/bin/env python3
"""The layering rule of docs/design.md ("Layers"), checked on every #include of the tree.

    core <- plan <- planner;  core <- runtime <- backends;  energy above the backends;
    model (the co-location simulation) above planner and backends;
    C ABI, interposer and CLI on top;  experiments use anything, nothing uses them.

A file in a layer's folder (include/eclip/<layer>/ or src/<layer>/) may include eclip headers only
from the layers listed for it below; the vendor-free layers include no vendor header. Exits 1 and
names every offending line, or prints one line per layer and exits 0.

Usage: check_layers.py [ROOT]   (ROOT: the repository, default: two folders up from this file)
"""
import pathlib
import re
import sys

# layer -> the eclip layers its files may include (itself always included)
ALLOWED = {
    "core": {"core"},
    "plan": {"core", "plan"},
    "planner": {"core", "plan", "planner"},
    "runtime": {"core", "plan", "runtime"},
    "backend": {"core", "plan", "runtime", "backend"},
    "energy": {"core", "runtime", "backend", "energy"},
    "model": {"core", "plan", "planner", "runtime", "backend", "model"},
    "c_api": {"core", "plan", "planner", "runtime", "backend", "energy", "model", "c_abi", "umbrella"},
    "preload": {"core", "plan", "runtime", "backend", "c_abi"},
    "umbrella": {"core", "plan", "planner", "runtime", "energy"},
    "experiments": {"core", "plan", "planner", "runtime", "backend", "energy", "model", "umbrella"},
    "cli": {"core", "plan", "planner", "runtime", "backend", "energy", "model", "experiments", "c_abi", "umbrella"},
}
# model includes only the simulated backend (backend/sim.hpp), which includes no vendor header.
VENDOR_FREE = {"core", "plan", "planner", "runtime", "model", "experiments", "umbrella"}
VENDOR_HEADER = re.compile(r"^(hip/|hsa/|rocm_smi/|cuda|cu[A-Za-z]*\.h|nvml\.h|nvrtc)")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
SOURCES = {".hpp", ".h", ".cpp", ".c", ".cu", ".hip"}


def layer_of_file(rel: pathlib.PurePosixPath):
    parts = rel.parts
    if parts[:2] == ("include", "eclip"):
        if len(parts) == 3:
            return "umbrella" if parts[2] == "eclip.hpp" else "c_abi"
        return parts[2]
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    return None


def layer_of_include(name: str):
    if not name.startswith("eclip/"):
        return None
    parts = name.split("/")
    if len(parts) == 2:  # eclip/eclip.hpp, eclip/eclip_c.h, eclip/preload.h
        return "umbrella" if parts[1] == "eclip.hpp" else "c_abi"
    return parts[1]


def check(root: pathlib.Path):
    problems, seen = [], {}
    for path in sorted(list((root / "include").rglob("*")) + list((root / "src").rglob("*"))):
        if path.suffix not in SOURCES or not path.is_file():
            continue
        rel = pathlib.PurePosixPath(path.relative_to(root).as_posix())
        layer = layer_of_file(rel)
        if layer is None:
            continue
        if layer not in ALLOWED and layer != "c_abi":
            problems.append(f"{rel}: folder '{layer}' is no layer of docs/design.md (known: {', '.join(ALLOWED)})")
            continue
        seen[layer] = seen.get(layer, 0) + 1
        allowed = ALLOWED.get(layer, {"c_abi"})
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            target = layer_of_include(inc)
            if target is not None and target not in allowed and target != layer:
                problems.append(f"{rel}:{n}: layer '{layer}' includes {inc} (layer '{target}'); "
                                f"'{layer}' may include only {', '.join(sorted(allowed))}")
            if layer in VENDOR_FREE and VENDOR_HEADER.match(inc):
                problems.append(f"{rel}:{n}: layer '{layer}' includes the vendor header {inc}")
    return problems, seen


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    problems, seen = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"layers: {len(problems)} include(s) break the layering rule")
        return 1
    for layer in ALLOWED:
        print(f"layers: {layer}: {seen.get(layer, 0)} files, includes only {', '.join(sorted(ALLOWED[layer] | {layer}))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
