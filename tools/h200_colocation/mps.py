#!/usr/bin/env python3
"""MPS, the alternative eclip is weighed against: one process per worker under the MPS daemon, each
limited to CUDA_MPS_ACTIVE_THREAD_PERCENTAGE of the SMs, every mix of a batch size.

  mps.py --mixes mix1,mix2 --batch 1 --percentages 25,50 [--reps 2] [--window 1] --out DIR

The daemon must run (run_h200.sh starts and stops it). Per percentage, one process per model the
mixes need is started with the percentage in its environment; each builds its model, captures it as
one CUDA graph on its own stream and waits. Per mix and repetition the coordinator opens an NVML
energy window (no CUDA context here), tells the mix's workers to start together and run their
closed loop until a common end time, and collects per-request latencies. Output: DIR/mps_b<batch>.json
and rows appended to DIR/summary.csv (the columns of sweep.py)."""
import argparse
import json
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sweep import MIXES, append_summary, log, write_json  # noqa: E402


def worker(args):
    import torch
    from eclip.torch import models as zoo
    from eclip.torch.chain import ChainedModel
    torch.backends.cudnn.benchmark = False
    gm = zoo.build(args.model, args.batch)
    ch = ChainedModel.of(gm)
    stream = torch.cuda.Stream()
    units = ch.units()
    with torch.inference_mode(), torch.cuda.stream(stream):
        for f in units:
            f()
        stream.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):
            for f in units:
                f()
    torch.cuda.synchronize()
    done = torch.cuda.Event()

    def request():
        t0 = time.perf_counter()
        with torch.cuda.stream(stream):
            graph.replay()
            done.record(stream)
        done.synchronize()
        return time.perf_counter() - t0

    for _ in range(3):
        request()
    print(json.dumps({"ready": True, "model": args.model, "units": len(units),
                      "sms_seen": torch.cuda.get_device_properties(0).multi_processor_count,
                      "mps_percentage": os.environ.get("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE")}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] == "run":
            t_start, t_end = float(cmd[1]), float(cmd[2])
            while time.monotonic() < t_start:
                pass
            lat, ends = [], []
            while time.monotonic() < t_end:
                lat.append(request())
                ends.append(time.monotonic())
            print(json.dumps({"lat": lat, "ends": ends}), flush=True)
    return 0


class Proc:
    def __init__(self, model, batch, pct):
        env = dict(os.environ, CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=str(pct), PYTHONUNBUFFERED="1")
        self.model = model
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", "--model", model,
                                   "--batch", str(batch)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=env)

    def read(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"MPS worker {self.model}: no answer in {timeout} s")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                continue
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"MPS worker {self.model} exited (rc {self.p.poll()})")
            if line.startswith("{"):
                return json.loads(line)
            print(f"  [{self.model}] {line.rstrip()}", flush=True)

    def send(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def close(self):
        try:
            self.send("quit")
            self.p.wait(timeout=20)
        except Exception:  # noqa: BLE001 - a stuck worker is killed
            self.p.kill()


def coordinator(args):
    import eclip
    from eclip import stats
    meter = eclip.EnergyMeter("nvml")
    sel = [m for m in args.mixes.split(",") if m]
    alone = json.load(open(args.alone)) if args.alone else {}
    out = {"kind": "eclip.mps", "batch": args.batch, "window_s": args.window, "reps": args.reps,
           "energy_meter": meter.description, "runs": [], "workers": {}}
    path = os.path.join(args.out, f"mps_b{args.batch}.json")
    needed = sorted({m for mix in sel for m in MIXES[mix]})
    for pct in [int(p) for p in args.percentages.split(",") if p]:
        t0 = time.time()
        procs = {m: Proc(m, args.batch, pct) for m in needed}
        try:
            for m, p in procs.items():
                out["workers"][f"{m}@{pct}"] = p.read(args.startup_timeout)
            log(f"MPS {pct}%: {len(procs)} workers ready in {time.time() - t0:.1f} s")
            for rep in range(args.reps):
                for mix in sel:
                    models = MIXES[mix]
                    meter.begin()
                    t_start = time.monotonic() + 0.05
                    t_end = t_start + args.window
                    for m in models:
                        procs[m].send(f"run {t_start} {t_end}")
                    res = [procs[m].read(args.window + 60) for m in models]
                    energy = meter.end().as_dict()
                    workers = []
                    for m, r in zip(models, res):
                        n = sum(1 for e in r["ends"] if e <= t_end)
                        ms = [x * 1e3 for x in r["lat"]]
                        w = {"model": m, "requests": n, "throughput_rps": n / args.window,
                             "p50_ms": stats.percentile(ms, 0.5), "p95_ms": stats.percentile(ms, 0.95)}
                        if alone.get(m):
                            w["normalized"] = w["throughput_rps"] / alone[m]
                        workers.append(w)
                    total = sum(w["throughput_rps"] for w in workers)
                    rec = {"mix": mix, "strategy_name": f"mps-{pct}", "rep": rep, "batch": args.batch,
                           "models": models, "throughput_rps": total, "workers": workers, "energy": energy,
                           "avg_power_w": energy["avg_power_w"],
                           "inferences_per_j": total / energy["avg_power_w"] if energy["avg_power_w"] else None,
                           "slowest_p95_ms": max(w["p95_ms"] for w in workers)}
                    norm = [w.get("normalized") for w in workers]
                    rec["jain"] = stats.jain(norm) if all(x is not None for x in norm) else None
                    out["runs"].append(rec)
                    append_summary(os.path.join(args.out, "summary.csv"), rec, args.batch)
                    write_json(path, out)
                    log(f"rep{rep} {mix} mps-{pct:<3d} {total:8.1f} req/s  {rec['inferences_per_j'] or 0:7.3f} inf/J  " +
                        "  ".join(f"{w['model'][:10]} {w['throughput_rps']:.0f}/{w['p95_ms'] or 0:.2f}" for w in workers))
        finally:
            for p in procs.values():
                p.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model")
    ap.add_argument("--mixes", default=",".join(MIXES))
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--percentages", default="25,50")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--alone", default=None, help="JSON {model: req/s alone} for normalised throughput and Jain")
    ap.add_argument("--startup-timeout", type=float, default=240)
    ap.add_argument("--out", default="mps_out")
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    os.makedirs(args.out, exist_ok=True)
    return coordinator(args)


if __name__ == "__main__":
    sys.exit(main())
