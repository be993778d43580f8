#!/usr/bin/env python3
"""Drives libeclip_c.so from Python with ctypes and runs PyTorch work on the streams it routes to.

Checks, on an NVIDIA GPU: a chain of dependent matmuls routed over two partitions and the whole
device gives the same result as the chain on one stream, and the router's counters add up.
Usage: c_abi_torch.py PATH/TO/libeclip_c.so. Exits 77 (skipped) without torch+CUDA or a driver.
"""
import ctypes
import json
import sys


class Route(ctypes.Structure):
    _fields_ = [("stream", ctypes.c_uint64), ("kernel", ctypes.c_uint32), ("slot", ctypes.c_uint16),
                ("status", ctypes.c_uint16), ("flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class Counters(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in
                ("requests", "launches", "switches", "barriers", "unrouted", "backend_errors", "budget_held")]


class TopologyInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 64), ("device", ctypes.c_char * 128), ("units", ctypes.c_uint32),
                ("groups", ctypes.c_uint32), ("max_masked_streams", ctypes.c_uint32), ("vendor", ctypes.c_uint32)]


def main():
    lib = ctypes.CDLL(sys.argv[1])
    lib.eclip_last_error.restype = ctypes.c_char_p

    def check(rc):
        if rc != 0:
            raise RuntimeError(f"eclip error {rc}: {lib.eclip_last_error().decode()}")

    try:
        import torch
    except ImportError as e:
        print(f"SKIPPED: no torch ({e})")
        return 77
    if not torch.cuda.is_available():
        print("SKIPPED: torch sees no CUDA device")
        return 77
    torch.cuda.init()

    be = ctypes.c_void_p()
    rc = lib.eclip_backend_create(b"cuda", ctypes.byref(be))
    if rc == 5:
        print(f"SKIPPED: no NVIDIA driver ({lib.eclip_last_error().decode()})")
        return 77
    check(rc)
    info = TopologyInfo()
    check(lib.eclip_backend_topology(be, ctypes.byref(info)))
    groups = info.groups
    print(f"backend: {info.name.decode()} ({info.device.decode()}), {info.units} SMs in {groups} atoms")

    configs = [1, 1, 2, groups, 2, 1, groups, 2] * 8  # 64 units per request
    plan_groups = []
    for k, c in enumerate(configs):
        if plan_groups and plan_groups[-1]["config"] == c:
            plan_groups[-1]["count"] += 1
        else:
            plan_groups.append({"first": k, "count": 1, "config": c})
    plan = {"format": "eclip.plan", "version": 1, "device": info.name.decode(), "strategy": "ctypes-test",
            "switch_budget": None, "workers": [{"model": "matmul-chain", "groups": plan_groups}]}
    p = ctypes.c_void_p()
    check(lib.eclip_plan_from_json(be, json.dumps(plan).encode(), ctypes.byref(p)))
    pool = ctypes.c_void_p()
    check(lib.eclip_pool_create(be, p, ctypes.byref(pool)))
    router = ctypes.c_void_p()
    check(lib.eclip_router_create(pool, p, ctypes.c_int64(-1), ctypes.byref(router)))

    torch.manual_seed(0)
    w = torch.randn(1024, 1024, device="cuda", dtype=torch.float32) / 32
    x0 = torch.randn(1024, 1024, device="cuda", dtype=torch.float32)
    torch.backends.cuda.matmul.allow_tf32 = False

    def step(x):
        return torch.tanh(x @ w)

    ref = x0.clone()
    for _ in range(len(configs) * 4):
        ref = step(ref)
    torch.cuda.synchronize()

    streams = {}
    x = x0.clone()
    torch.cuda.synchronize()
    r = Route()
    for _ in range(4):
        check(lib.eclip_router_begin_request(router, 0))
        for _ in configs:
            check(lib.eclip_router_route(router, 0, ctypes.byref(r)))
            s = streams.setdefault(r.stream, torch.cuda.ExternalStream(r.stream))
            with torch.cuda.stream(s):
                y = step(x)
            # The caching allocator must not reuse x's memory before the routed stream is done.
            x.record_stream(s)
            x = y
            x.record_stream(s)
    torch.cuda.synchronize()
    c = Counters()
    check(lib.eclip_router_counters(router, -1, ctypes.byref(c)))
    err = (x - ref).abs().max().item()
    print(f"routed {c.launches} matmul units over {len(streams)} streams: {c.switches} switches, "
          f"{c.barriers} barriers, {c.backend_errors} backend errors; max |routed - reference| = {err:g}")
    lib.eclip_router_destroy(router)
    lib.eclip_pool_destroy(pool)
    lib.eclip_plan_destroy(p)
    lib.eclip_backend_destroy(be)
    # Partitions may lead cuBLAS to other algorithms (its heuristics see the SM count), so compare
    # with a tolerance; misordering would give O(1) differences.
    ok = err < 1e-3 and c.launches == len(configs) * 4 and c.backend_errors == 0 and len(streams) == 3
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
