#!/usr/bin/env python3
"""Online re-planning on the H200 (issue #14, item 4): one live co-location whose mix changes while
it serves, re-planned each time by eclip.torch.tune.OnlineTuner.

  online.py --batch 1 --profile P/profile_b1.json --mixes mix1,mix3,mix1 [--window 0.8] [--warmup 0.25]
            [--tune-time 40] [--out DIR]

Every model of the mixes is built and measured alone first (the tuner's fairness needs each one's
solo throughput). The first mix starts on Baseline and is tuned; then, per later mix, the workers
it shares with the current mix keep running (the same threads, never stopped), the others leave or
join (Colocation.set_mix), and the tuner re-plans from the new mix's Baseline. After each tuning
the tuned plan is measured --reps times. Output (DIR): online_b<batch>.json (per step: the mix, the
models kept, joined and left, the re-plan time, the search report, the measured windows) and the
log."""
import argparse
import datetime
import os
import sys
import time

from sweep import MIXES, PAPER_MODELS, log, short, write_json


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--mixes", default="mix1,mix3,mix1")
    ap.add_argument("--window", type=float, default=0.8)
    ap.add_argument("--warmup", type=float, default=0.25)
    ap.add_argument("--tune-time", type=float, default=40.0)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--out", default="online_out")
    args = ap.parse_args()
    mixes = [m for m in args.mixes.split(",") if m]
    unknown = [m for m in mixes if m not in MIXES]
    if unknown or len(mixes) < 2:
        ap.error(f"--mixes {args.mixes!r}: two or more of {', '.join(MIXES)}")

    import eclip
    from eclip import search as esearch
    from eclip.torch import require_torch
    from eclip.torch import models as zoo
    from eclip.torch.chain import ChainedModel
    from eclip.torch.runner import Colocation
    from eclip.torch.tune import OnlineTuner, solo_rates
    torch = require_torch()
    torch.backends.cudnn.benchmark = False
    os.makedirs(args.out, exist_ok=True)
    backend = eclip.Backend("cuda")
    meter = eclip.EnergyMeter("nvml")
    needed = [m for m in PAPER_MODELS if any(m in MIXES[x] for x in mixes)]
    units = {}
    for m in needed:
        units[m] = ChainedModel.of(zoo.build(m, args.batch)).units()
    idle = meter.idle(2.0, torch.cuda.synchronize).as_dict()
    alone, _ = solo_rates(backend, needed, [units[m] for m in needed], args.window, args.warmup, log=log)
    out = {"kind": "eclip.online", "batch": args.batch, "mixes": mixes, "device": backend.name,
           "library": eclip.version(), "torch": torch.__version__,
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "window_s": args.window,
           "warmup_s": args.warmup, "tune_time_s": args.tune_time, "idle": idle, "alone_rps": alone, "steps": []}
    path = os.path.join(args.out, f"online_b{args.batch}.json")
    first = MIXES[mixes[0]]
    with esearch.baseline(backend, first, [len(units[m]) for m in first]) as p, Colocation(backend, p, [units[m] for m in first], first, meter, cache=6) as colo:
        tuner = OnlineTuner(colo, backend, alone, args.window, args.warmup, idle["avg_power_w"], log,
                            noise=args.noise, time_limit_s=args.tune_time, segments=2, profile=args.profile)
        try:
            for i, mix in enumerate(mixes):
                ms = MIXES[mix]
                before = {id(wk.units): wk for wk in colo.workers}
                threads = {wk.name: wk.thread for wk in colo.workers}
                step = {"mix": mix, "models": ms, "kept": [m for m in ms if m in colo.names] if i else [],
                        "joined": [m for m in ms if m not in colo.names] if i else ms,
                        "left": [m for m in colo.names if m not in ms] if i else []}
                t0 = time.perf_counter()
                if i == 0:
                    best, report = tuner.retune()
                else:
                    best, report = tuner.change_mix([units[m] for m in ms], ms)
                step["replan_s"] = time.perf_counter() - t0
                # The kept workers ran through the change: the same worker object and thread.
                step["kept_threads_unchanged"] = all(
                    before.get(id(wk.units)) is wk and threads.get(wk.name) is wk.thread
                    for wk in colo.workers if wk.name in step["kept"])
                step["tune"] = report
                step["runs"] = []
                for rep in range(args.reps):
                    rec = colo.run(args.window, args.warmup, alone, idle["avg_power_w"], label=f"{mix}:online")
                    step["runs"].append(rec)
                    log(f"step {i} {mix} rep{rep} {report['best']['label']:14s} {short(rec)}")
                out["steps"].append(step)
                write_json(path, out)
                log(f"step {i}: {mix} kept {step['kept']} joined {step['joined']} left {step['left']}: "
                    f"re-planned in {step['replan_s']:.1f} s, kept threads unchanged: {step['kept_threads_unchanged']}")
        finally:
            tuner.close()
            write_json(path, out)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
