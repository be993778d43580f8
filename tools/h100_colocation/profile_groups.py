#!/usr/bin/env python3
"""eclip profile: each model's kernel groups timed at every partition size on the NVIDIA GPU.

For each model and batch: the model is split into its top-level blocks (models.py), each block is
captured as a CUDA graph on a green-context stream of 8/16/32/64 SMs (the first 1/2/4/8 atoms, eclip's
pool for home group 0) and on the whole device (132 SMs, a plain stream), and the chain of graphs is
replayed `reps` times per size behind a 2 ms sleep kernel (so the host is ahead and the groups run
back to back, as in a request), with a CUDA event between groups. A group's time at a size is the
median over the repetitions of its event interval.

Output (--out): profile_b<batch>.json, an "eclip.profile" (device "H100", configs [1,2,4,8,16], units
[8,16,32,64,132]) whose "kernels" are the groups, for `eclip plan --profile` and `eclip simulate
--profile`; profile_b<batch>_details.json with the request latency per size, the grouped-vs-whole
correctness check, the spread of every group, and the host cost of launching a group through eclip.
Usage: eclip profile [--models a,b] [--batches 1,8] [--out DIR]  (or python3 profile_groups.py ...)"""
import argparse
import datetime
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plans  # noqa: E402
from eclip_ctypes import Backend, EclipError, Lib  # noqa: E402


def die(msg, code=1):
    print(f"eclip profile: {msg}", file=sys.stderr)
    sys.exit(code)


def check_environment(lib_path):
    try:
        import torch
    except ImportError as e:
        die(f"PyTorch is not importable by {sys.executable} ({e}); the profiler needs Python 3 with PyTorch "
            "(a CUDA build), torchvision and transformers, and an NVIDIA GPU (pass --python to eclip profile)")
    if not torch.cuda.is_available():
        die(f"no CUDA GPU visible to PyTorch {torch.__version__} (built for CUDA {torch.version.cuda}); "
            "profiling needs an NVIDIA GPU")
    try:
        lib = Lib(lib_path)
    except (OSError, FileNotFoundError) as e:
        die(f"cannot load libeclip_c: {e}")
    try:
        backend = Backend(lib, "cuda")
    except EclipError as e:
        die(f"libeclip_c ({lib.path}) cannot open the cuda backend: {e}")
    if backend.name != "H100" or backend.groups != plans.GROUPS:
        die(f"this profiler's configs are the H100's (16 groups of 15x8+12 SMs); the device is {backend.name} "
            f"({backend.device}, {backend.groups} groups)")
    return torch, lib, backend


def time_chain(torch, graphs, stream, reps, sleep_cycles):
    """Per-group medians (us) and the request's median (us) of `reps` back-to-back replays."""
    G = len(graphs)
    evs = [[torch.cuda.Event(enable_timing=True) for _ in range(G + 1)] for _ in range(reps + 1)]
    with torch.cuda.stream(stream):
        for r in range(reps + 1):  # repetition 0 is a warm-up
            torch.cuda._sleep(sleep_cycles)
            for g in range(G):
                evs[r][g].record(stream)
                graphs[g].replay()
            evs[r][G].record(stream)
    stream.synchronize()
    per = [[evs[r][g].elapsed_time(evs[r][g + 1]) * 1000.0 for r in range(1, reps + 1)] for g in range(G)]
    req = [evs[r][0].elapsed_time(evs[r][G]) * 1000.0 for r in range(1, reps + 1)]
    med = [plans.percentile(x, 50) for x in per]
    spread = [(max(x) - min(x)) / max(plans.percentile(x, 50), 1e-9) for x in per]
    return med, spread, plans.percentile(req, 50)


def launch_cost_us(torch, lib, backend, chained, cs, requests=8):
    """Host microseconds per group launched through eclip (route + cuGraphLaunch, one C call per request)."""
    import gpu
    from eclip_ctypes import Plan, Pool, Route, Router
    pj = plans.plan_json("baseline", [chained.name], [[plans.WHOLE] * chained.G])
    plan = Plan(backend, json.dumps(pj))
    pool = Pool(backend, plan)
    router = Router(pool, plan)
    try:
        execs = gpu.exec_array([chained.exec_handle(g, "whole", cs) for g in range(chained.G)])
        routes = (Route * chained.G)()
        costs = []
        for _ in range(requests):
            torch.cuda.synchronize()
            router.begin_request(0)
            t0 = time.perf_counter()
            router.launch_graphs(0, execs, chained.G, 1, routes)
            costs.append((time.perf_counter() - t0) * 1e6 / chained.G)
        torch.cuda.synchronize()
        return plans.percentile(costs[1:], 50)
    finally:
        router.close()
        pool.close()
        plan.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="profile_h100")
    ap.add_argument("--models", default=",".join(plans.MODELS))
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--sleep-ms", type=float, default=2.0, help="sleep kernel ahead of each repetition")
    ap.add_argument("--lib", default=None, help="libeclip_c.so with the cuda backend")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in plans.MODELS:
            die(f"unknown model {m!r} (known: {', '.join(plans.MODELS)})", 2)
    batches = [int(b) for b in args.batches.split(",") if b]

    torch, lib, backend = check_environment(args.lib)
    import gpu
    import models as model_zoo
    torch.backends.cudnn.benchmark = False
    os.makedirs(args.out, exist_ok=True)
    cs = gpu.CaptureStreams(backend)
    keys = [plans.placement_key(0, c) for c in plans.CONFIGS]
    sleep_cycles = int(args.sleep_ms * 1e-3 * 1.98e9)  # the H100's SM clock under load (docs/workloads.md)
    t_start = time.time()
    failed = []
    for batch in batches:
        prof = {"format": "eclip.profile", "version": 1, "device": "H100", "configs": plans.CONFIGS,
                "units": plans.UNITS, "models": []}
        details = {"batch": batch, "device": backend.device, "torch": torch.__version__,
                   "date": datetime.date.today().isoformat(), "reps": args.reps, "models": {}}
        for name in models:
            t0 = time.time()
            try:
                gm = model_zoo.build(name, batch)
                chk = model_zoo.check(gm)
                chained = gpu.ChainedModel(gm)
                per_cfg, spreads, req = [], [], []
                for key in keys:
                    graphs = chained.capture_all(key, cs)
                    med, spread, r = time_chain(torch, graphs, cs.torch_stream(key), args.reps, sleep_cycles)
                    per_cfg.append(med)
                    spreads.append(spread)
                    req.append(r)
                host_us = launch_cost_us(torch, lib, backend, chained, cs)
                kernels = []
                for g, (gname, _) in enumerate(gm.groups):
                    kernels.append({"name": gname, "us": [round(max(per_cfg[c][g], 0.01), 2)
                                                          for c in range(len(keys))]})
                prof["models"].append({"model": name, "host_gap_us": round(host_us, 2), "kernels": kernels})
                details["models"][name] = {
                    "groups": chained.G, "check": chk, "request_us": [round(x, 1) for x in req],
                    "group_sum_us": [round(sum(per_cfg[c]), 1) for c in range(len(keys))],
                    "max_spread": [round(max(s), 3) for s in spreads], "host_us_per_group_launch": host_us,
                    "seconds": round(time.time() - t0, 1)}
                print(f"b{batch} {name:20s} {chained.G:3d} groups  request us " +
                      " / ".join(f"{x:.0f}" for x in req) + f"  check {'ok' if chk['ok'] else 'MISMATCH'} "
                      f"({chk.get('max_abs_diff', chk.get('why'))})  launch {host_us:.2f} us/group  "
                      f"{time.time() - t0:.1f} s", flush=True)
                chained.drop_graphs()
                del chained, gm
            except Exception as e:  # keep going: one model's failure must not lose the others
                traceback.print_exc()
                details["models"][name] = {"error": f"{type(e).__name__}: {e}"}
                failed.append(f"b{batch} {name}")
                print(f"b{batch} {name}: FAILED: {e}", flush=True)
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        for suffix, obj in (("", prof), ("_details", details)):
            path = os.path.join(args.out, f"profile_b{batch}{suffix}.json")
            with open(path, "w") as f:
                json.dump(obj, f, indent=1)
            print(f"wrote {path}", flush=True)
    cs.close()
    backend.close()
    print(f"done in {time.time() - t_start:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
