#!/usr/bin/env python3
"""Co-location in transparent mode (issue 9, item 5; docs/results/h100-transparent-*).

Unmodified eager PyTorch models (the same construction as smoke.py: seeded random weights, fp16,
batch 1, torch.inference_mode) serve requests in a closed loop, several at once on one GPU. The
only eclip-aware line is `eclip_begin_request()` before each request, looked up with
eclip.preload (absent without the preload). Placement comes from the environment alone:
LD_PRELOAD=libeclip_preload_cuda.so ECLIP_PLAN=<plan> ECLIP_WORKER=<i>.

  colocate.py run --models a,b,c,d --mode procs|threads --seconds S --out X.json [--env K=V ...]
      procs:   one process per model (worker i = ECLIP_WORKER=i); under MPS when the caller started
               the MPS daemon (the script only reports CUDA_MPS_* it sees)
      threads: one process, one thread per model, each on its own torch.cuda.Stream and
               eclip_set_worker(i) (the per-thread identity of docs/transparent.md)
  The window starts when every worker is warm (ready files) and ends when every worker has finished
  its last request (done files), so neither start-up nor teardown is measured. Energy: eclip's
  EnergyMeter (NVML) over that window, edges aligned to counter updates; wall_s is its length.

Prints one JSON line "COLO {...}" with per-worker requests, req/s, p95 latency, the window's energy
and average power, and the interposer's counters per request where the preload is loaded.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smoke import build, counters, eclip_api, output_tensor  # noqa: E402


def serve(torch, model_name, worker, seconds, ready, go, api, stream=None, done=lambda: None):
    """Warm up, say ready, wait for go, serve for `seconds`, say done; returns the worker's record."""
    if api is not None and stream is not None:
        api["set_worker"](worker)
    model, x = build(torch, model_name)
    ctx = torch.cuda.stream(stream) if stream is not None else torch.cuda.stream(torch.cuda.current_stream())

    def infer():
        if api:
            api["begin"]()
        with torch.inference_mode():
            return output_tensor(model(x))

    with ctx:
        for _ in range(5):
            infer()
        torch.cuda.synchronize()
        ready()
        go()
        c0 = counters(api, worker)
        lat = []
        t_end = time.perf_counter() + seconds
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                break
            infer()
            (stream or torch.cuda.current_stream()).synchronize()
            lat.append(time.perf_counter() - t0)
        done()
        c1 = counters(api, worker)
    per_req = None
    if c0 and c1 and lat:
        per_req = {k: (c1[k] - c0[k]) / len(lat) for k in c1}
    lat_sorted = sorted(lat)
    return {"worker": worker, "model": model_name, "requests": len(lat), "req_per_s": len(lat) / seconds,
            "p95_ms": 1e3 * lat_sorted[int(0.95 * (len(lat_sorted) - 1))] if lat else None,
            "median_ms": 1e3 * statistics.median(lat) if lat else None, "counters_per_request": per_req}


def file_barrier(path):
    def touch():
        open(path, "w").close()

    def wait():
        while not os.path.exists(path):
            time.sleep(0.002)
    return touch, wait


def after_all(n, fn):
    """A callable that runs fn() once its n-th call (from any thread) arrives."""
    lock, calls = threading.Lock(), [0]

    def arrive():
        with lock:
            calls[0] += 1
            if calls[0] == n:
                fn()
    return arrive


def worker_main(a):
    import torch
    api = eclip_api()
    touch, _ = file_barrier(a.ready)
    _, wait = file_barrier(a.go)
    finished, _ = file_barrier(a.done)
    if a.mode == "procs":
        rec = serve(torch, a.models[0], a.worker, a.seconds, touch, wait, api, done=finished)
        recs = [rec]
    else:
        n = len(a.models)
        ready, done = after_all(n, touch), after_all(n, finished)
        recs = [None] * n

        def run(i):
            recs[i] = serve(torch, a.models[i], i, a.seconds, ready, wait, api, torch.cuda.Stream(), done)
        ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    active = bool(api and api["active"]())
    with open(a.out, "w") as f:
        json.dump({"workers": recs, "preload_loaded": bool(api), "preload_active": active}, f)


def energy_meter():
    """eclip's EnergyMeter over NVML; no synchronise hook: the workers are other processes (or this
    process's threads) and each synchronised its last request before saying done."""
    import eclip
    return eclip.EnergyMeter("nvml")


def run_main(a):
    models = a.models
    tmp = tempfile.mkdtemp(prefix="colo_")
    go = os.path.join(tmp, "go")
    extra = dict(kv.split("=", 1) for kv in a.env)
    procs, readies, dones, outs = [], [], [], []
    units = [[m] for m in models] if a.mode == "procs" else [models]
    for i, ms in enumerate(units):
        ready, out = os.path.join(tmp, "ready%d" % i), os.path.join(tmp, "out%d.json" % i)
        done = os.path.join(tmp, "done%d" % i)
        env = dict(os.environ, **extra)
        if a.mode == "procs":
            env["ECLIP_WORKER"] = str(i)
        cmd = [sys.executable, os.path.abspath(__file__), "worker", "--models", ",".join(ms), "--mode", a.mode,
               "--worker", str(i), "--seconds", str(a.seconds), "--ready", ready, "--go", go, "--done", done,
               "--out", out]
        procs.append(subprocess.Popen(cmd, env=env))
        readies.append(ready)
        dones.append(done)
        outs.append(out)
    t_wait = time.time() + a.startup_timeout
    while not all(os.path.exists(r) for r in readies):
        if time.time() > t_wait or any(p.poll() not in (None, 0) for p in procs):
            for p in procs:
                p.kill()
            print("COLO " + json.dumps({"config": a.config, "error": "workers did not get ready",
                                        "rcs": [p.poll() for p in procs]}), flush=True)
            return 1
        time.sleep(0.01)
    # The energy window is the serving window: from go until every worker's last request ended
    # (done files), not until the processes exit (their teardown is not serving).
    meter = energy_meter()
    meter.begin()
    t0 = time.time()
    open(go, "w").close()
    while not all(os.path.exists(d) for d in dones):
        if any(p.poll() not in (None, 0) for p in procs):
            break
        time.sleep(0.002)
    t1 = time.time()
    window = meter.end()
    rcs = [p.wait() for p in procs]
    workers, flags = [], []
    for o in outs:
        try:
            with open(o) as f:
                d = json.load(f)
            workers += d["workers"]
            flags.append((d["preload_loaded"], d["preload_active"]))
        except (OSError, ValueError):
            pass
    joules = window.joules
    total = sum(w["requests"] for w in workers)
    window = a.seconds
    rec = {"config": a.config, "mode": a.mode, "models": models, "seconds": window, "rcs": rcs,
           "wall_s": t1 - t0, "energy_j": joules, "avg_w": window.avg_power_w, "energy_window": window.as_dict(),
           "energy_meter": meter.description, "requests": total,
           "req_per_s": total / window, "req_per_j": total / joules if joules > 0 else None,
           "preload": flags, "workers": workers,
           "env": {k: v for k, v in extra.items()},
           "mps": {k: v for k, v in os.environ.items() if k.startswith("CUDA_MPS")}}
    print("COLO " + json.dumps(rec), flush=True)
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
    return 0 if all(r == 0 for r in rcs) else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run", "worker"])
    ap.add_argument("--models", required=True, type=lambda s: s.split(","))
    ap.add_argument("--mode", choices=["procs", "threads"], default="procs")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--config", default="")
    ap.add_argument("--env", action="append", default=[], help="K=V for every worker process")
    ap.add_argument("--startup-timeout", type=float, default=90.0)
    ap.add_argument("--out")
    ap.add_argument("--worker", type=int, default=0)
    ap.add_argument("--ready")
    ap.add_argument("--go")
    ap.add_argument("--done")
    a = ap.parse_args()
    if a.cmd == "worker":
        worker_main(a)
        return 0
    return run_main(a)


if __name__ == "__main__":
    sys.exit(main())
