#!/usr/bin/env python3
"""Where a plan's setup time goes (the tuner pays it on every trial it has not cached): the pool
(its green contexts and streams), each new capture thread's cuDNN/cuBLAS handles (made by a tiny
convolution and GEMM in the slot's context before the capture would make them), and the captures
(eager warm-up run plus graph capture).

  setup_cost.py --batch 1 --mix mix1 --splits 4/4/4/4,3/4/5/4,... [--cycles K] [--running] [--out FILE.json]

Each split is set up from scratch in a Colocation that is not running (no workers) and keeps one
setup (cache=1: the one before is freed), so the times are the setup's alone; --cycles goes through
the list K times, to see what a long tuning leaves behind: after each setup the device's free
memory, PyTorch's allocated and reserved memory, and the process's live threads. --running: the
workers serve (on the plan before) while each setup is made, as in a tuning, so a setup also waits
for each worker's request in flight before capturing its units ("waits" below: the setup's time
not spent in the pool, new threads, handles or captures). Prints one line per setup and writes every
capture's times as JSON."""
import argparse
import json
import threading
import time

import eclip
from sweep import MIXES, log, write_json


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--mix", default="mix1", choices=sorted(MIXES))
    ap.add_argument("--splits", required=True, help="comma-separated a/b/c/d atoms per worker")
    ap.add_argument("--cycles", type=int, default=1)
    ap.add_argument("--running", action="store_true", help="the workers serve while the setups are made")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from eclip import search as esearch
    from eclip.torch import require_torch
    from eclip.torch import models as zoo
    from eclip.torch import capture as capmod
    from eclip.torch import runner
    from eclip.torch.chain import ChainedModel
    torch = require_torch()
    torch.backends.cudnn.benchmark = False
    backend = eclip.Backend("cuda")
    ms = MIXES[args.mix]
    units = [ChainedModel.of(zoo.build(m, args.batch)).units() for m in ms]
    space = {"models": ms, "segments": [[len(u)] for u in units]}

    events = []
    real_pool = runner.Pool

    def timed_pool(*a, **k):
        t0 = time.perf_counter()
        p = real_pool(*a, **k)
        events.append({"what": "pool", "s": time.perf_counter() - t0})
        return p
    runner.Pool = timed_pool

    x = torch.randn(1, 8, 16, 16, device="cuda")
    wc = torch.randn(8, 8, 3, 3, device="cuda")
    a = torch.randn(64, 64, device="cuda")

    def handles():  # the first cuDNN and cuBLAS calls of a thread make its handles in the current context
        torch.nn.functional.conv2d(x, wc, padding=1)
        a @ a
        torch.cuda.current_stream().synchronize()

    real_capture = capmod.PartitionCapture.capture

    def timed_capture(self, worker, slot, fn, mempool=None, warmup=1, owner=None):
        stream = self.capture_stream(worker, slot, owner)
        rec = {"what": "capture", "worker": worker, "slot": slot,
               "new_thread": stream.cuda_stream not in capmod._threads_of.get(self.pool.backend, {})}
        if rec["new_thread"]:
            t0 = time.perf_counter()
            self._thread(stream)
            rec["thread_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            self.run(worker, slot, handles, owner)
            rec["handles_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            self.run(worker, slot, handles, owner)
            rec["handles_again_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        g = real_capture(self, worker, slot, fn, mempool, warmup, owner)
        rec["capture_s"] = time.perf_counter() - t0
        events.append(rec)
        return g
    capmod.PartitionCapture.capture = timed_capture

    base = esearch.baseline(backend, ms, [len(u) for u in units])
    colo = runner.Colocation(backend, base, units, ms, None, cache=1)
    out = {"mix": args.mix, "models": ms, "batch": args.batch, "device": backend.name, "running": args.running,
           "setups": []}
    if args.running:
        colo.run(window_s=0.2, warmup_s=0.0)  # the workers start, and keep running until close()
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    for split in splits * max(args.cycles, 1):
        atoms = [int(v) for v in split.split("/")]
        plan = esearch.plan_for(backend, space, {"split": atoms}, "static")
        del events[:]
        t0 = time.perf_counter()
        spent = colo.switch(plan)
        wall = time.perf_counter() - t0
        torch.cuda.empty_cache()  # what stays is held, not cached
        caps = [e for e in events if e["what"] == "capture"]
        rec = {"split": split, "wall_s": wall, "setup_s": spent,
               "pool_s": sum(e["s"] for e in events if e["what"] == "pool"),
               "threads_s": sum(e.get("thread_s", 0) for e in caps),
               "handles_s": sum(e.get("handles_s", 0) for e in caps),
               "handles_again_s": sum(e.get("handles_again_s", 0) for e in caps),
               "captures_s": sum(e["capture_s"] for e in caps), "captures": caps,
               "served": [len(wk.log) for wk in colo.workers],
               "new_threads": sum(e["new_thread"] for e in caps),
               "free_mib": torch.cuda.mem_get_info()[0] / 2**20,
               "allocated_mib": torch.cuda.memory_allocated() / 2**20,
               "reserved_mib": torch.cuda.memory_reserved() / 2**20, "threads": threading.active_count()}
        rec["waits_s"] = spent - rec["pool_s"] - rec["threads_s"] - rec["handles_s"] - rec["handles_again_s"] \
            - rec["captures_s"]
        out["setups"].append(rec)
        plan.close()
        log(f"{args.mix} {split}: setup {spent:.3f} s (wall {wall:.3f}): pool {rec['pool_s']:.3f}, new threads "
            f"{rec['threads_s']:.3f}, handles {rec['handles_s']:.3f} (again {rec['handles_again_s']:.3f}), "
            f"captures {rec['captures_s']:.3f} over {len(caps)} ({rec['new_threads']} new threads), waits "
            f"{rec['waits_s']:.3f}; free {rec['free_mib']:.0f} MiB, allocated "
            f"{rec['allocated_mib']:.0f}, reserved {rec['reserved_mib']:.0f}, threads {rec['threads']}")
    colo.close()
    base.close()
    if args.out:
        write_json(args.out, out)
    print(json.dumps({k: v for k, v in out.items() if k != "setups"}))


if __name__ == "__main__":
    main()
