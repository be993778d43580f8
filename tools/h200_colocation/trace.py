#!/usr/bin/env python3
"""A Perfetto-readable trace of saved co-location plans running: issue #14's "where a target is
missed, a Perfetto trace of a request".

  trace.py --batch 1 --plans DIR/plans --mix mix6 --strategies baseline,eclip-tuned [--window 0.05]
           [--warmup 0.5] [--out DIR]

For each strategy, the plan sweep.py wrote (DIR/plans/<strategy>_<mix>_b<batch>.json) is run by
the same runner (eclip.torch.runner.Colocation) for `--warmup` seconds, then `--window` seconds
under torch.profiler (CUPTI: every kernel with its stream, start and end; a worker's request is
its graphs' kernels, one after another, on its partition's streams). Written: <mix>_b<batch>_<strategy>.trace.json.gz (the Chrome
trace format Kineto exports; ui.perfetto.dev opens it) and, per strategy, the window's record
(throughput, p95) in <mix>_b<batch>_traces.json."""
import argparse
import gzip
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sweep import MIXES, log, write_json  # noqa: E402  (the same mixes and writer as the sweep)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--plans", required=True, help="the folder of plan files sweep.py wrote")
    ap.add_argument("--mix", required=True, choices=sorted(MIXES))
    ap.add_argument("--strategies", default="baseline,eclip-tuned")
    ap.add_argument("--window", type=float, default=0.05)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--out", default="traces")
    args = ap.parse_args()

    import eclip
    from eclip.torch import require_torch
    from eclip.torch import models as zoo
    from eclip.torch.chain import ChainedModel
    from eclip.torch.runner import Colocation
    torch = require_torch()
    os.makedirs(args.out, exist_ok=True)
    backend = eclip.Backend("cuda")
    ms = MIXES[args.mix]
    units = [ChainedModel.of(zoo.build(m, args.batch)).units() for m in ms]
    records = {}
    for s in [x for x in args.strategies.split(",") if x]:
        path = os.path.join(args.plans, f"{s}_{args.mix}_b{args.batch}.json")
        if not os.path.exists(path):
            log(f"{args.mix} {s}: no plan at {path}: skipped")
            continue
        with eclip.Plan.from_file(backend, path) as plan, Colocation(backend, plan, units, ms) as colo:
            colo.run(args.warmup, 0.0)  # the workers running and warm before the profiled window
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                    torch.profiler.ProfilerActivity.CUDA]) as prof:
                rec = colo.run(args.window, 0.0, label=f"{args.mix}:{s}:traced")
            tmp = tempfile.mkdtemp()
            try:
                raw = os.path.join(tmp, "trace.json")
                prof.export_chrome_trace(raw)
                out = os.path.join(args.out, f"{args.mix}_b{args.batch}_{s}.trace.json.gz")
                with open(raw, "rb") as f, gzip.open(out, "wb") as g:
                    shutil.copyfileobj(f, g)
            finally:
                shutil.rmtree(tmp)
        records[s] = rec
        log(f"{args.mix} {s}: traced {args.window * 1e3:.0f} ms, {rec['throughput_rps']:.0f} req/s, "
            "p95 " + " ".join(f"{w['model'][:8]} {w['p95_ms'] or 0:.2f}" for w in rec["workers"]) + f" -> {out}")
    write_json(os.path.join(args.out, f"{args.mix}_b{args.batch}_traces.json"), records)


if __name__ == "__main__":
    main()
