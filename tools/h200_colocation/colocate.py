#!/usr/bin/env python3
"""Real co-located inference on one NVIDIA GPU through the eclip package: one mix of models, each a
worker in a closed loop, under each strategy's plan from the library's planner, with throughput,
tail latency, fairness and energy.

  colocate.py --mix mix1 --models albert,densenet201,alexnet,resnext101_32x8d --profile profile_b1.json \
      [--strategies baseline,model-wise,kernel-wise,eclip] [--reps 2] [--window 4] [--out DIR]

Per strategy: eclip.Plan.make(backend, profile, models, strategy) (written to DIR/plans/), then
eclip.torch.Colocation: each model cut into its groups (eclip.torch.models), each group a CUDA graph
captured on the partition the router gives it with that partition's context current, one thread per
worker, a request = one eclip_router_launch_graphs call; warm-up, then the measured window with an
NVML energy window (eclip.EnergyMeter, torch.cuda.synchronize at the edges). Before the mix: each
model alone on the whole device (the library's baseline plan for it), for normalised throughputs
and Jain's index, and the idle power.

Output in DIR: <mix>_b<batch>.json (every run's full record; rewritten whole after each run) and
summary.csv, one row appended per run: mix, batch, strategy, rep, throughput_rps, inferences_per_j,
jain, slowest_p95_ms, then each worker's throughput (w0_rps, w1_rps, ...; the models are in the
JSON). Needs torch (CUDA), torchvision, transformers, and libeclip_c built with the CUDA backend
(ECLIP_LIBRARY or --lib)."""
import argparse
import csv
import datetime
import json
import os
import sys
import time
import traceback


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def write_json(path, obj):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def append_summary(path, rec, batch):
    row = [rec["mix"], batch, rec["strategy_name"], rec["rep"], rec.get("throughput_rps"),
           rec.get("inferences_per_j"), rec.get("jain"), rec.get("slowest_p95_ms")]
    row += [w["throughput_rps"] for w in rec["workers"]]
    new = not os.path.exists(path)
    with open(path, "a", newline="") as f:
        out = csv.writer(f)
        if new:
            out.writerow(["mix", "batch", "strategy", "rep", "throughput_rps", "inferences_per_j", "jain",
                          "slowest_p95_ms"] + [f"w{i}_rps" for i in range(len(rec["workers"]))])
        out.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in row])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mix", required=True, help="the mix's name (a label in the outputs)")
    ap.add_argument("--models", required=True, help="comma-separated models, one worker each")
    ap.add_argument("--profile", required=True, help="eclip.profile from `eclip profile` for this batch size")
    ap.add_argument("--strategies", default="baseline,model-wise,kernel-wise,eclip")
    ap.add_argument("--budget", type=int, default=None, help="ECLIP's switch budget (default: the library's)")
    ap.add_argument("--tolerance", type=float, default=None, help="minimum-threshold tolerance (default: the library's)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--window", type=float, default=4.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=1.0, help="closed-loop warm-up seconds before each window")
    ap.add_argument("--alone-s", type=float, default=2.0, help="window of each model alone (0: no normalisation)")
    ap.add_argument("--idle-s", type=float, default=3.0)
    ap.add_argument("--energy", default="nvml", help='energy meter spec, or "none"')
    ap.add_argument("--out", default="colo_out", help="output folder")
    ap.add_argument("--lib", default=None, help="libeclip_c.so with the CUDA backend")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    strategies = [s for s in args.strategies.split(",") if s]

    import eclip
    from eclip import _loader
    from eclip.torch import require_torch
    torch = require_torch()
    from eclip.torch import models as zoo
    from eclip.torch.chain import ChainedModel
    from eclip.torch.runner import Colocation
    _loader.load(args.lib)
    torch.backends.cudnn.benchmark = False
    os.makedirs(os.path.join(args.out, "plans"), exist_ok=True)
    backend = eclip.Backend("cuda")
    profile = eclip.Profile.from_file(args.profile)
    meter = None
    if args.energy != "none":
        try:
            meter = eclip.EnergyMeter(args.energy)
            log(f"energy: {meter.description}")
        except eclip.EclipError as e:
            log(f"energy meter unavailable: {e}")
    out_path = os.path.join(args.out, f"{args.mix}_b{args.batch}.json")
    out = {"kind": "eclip.colocation", "mix": args.mix, "models": models, "batch": args.batch,
           "device": backend.topology.device, "topology": backend.name, "library": eclip.version(),
           "torch": torch.__version__, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "window_s": args.window, "warmup_s": args.warmup, "reps": args.reps,
           "energy_meter": meter.description if meter else None, "idle": [], "alone": {}, "runs": []}

    chained = []  # one per worker (a model twice in a mix gets two sets of buffers)
    for m in models:
        t0 = time.time()
        gm = zoo.build(m, args.batch)
        chk = zoo.check(gm)
        chained.append(ChainedModel.of(gm))
        log(f"built {m} b{args.batch}: {len(gm.groups)} groups, check {chk} ({time.time() - t0:.1f} s)")
    sync = torch.cuda.synchronize
    idle_w = None
    if meter:
        w = meter.idle(args.idle_s, sync).as_dict()
        out["idle"].append(w)
        idle_w = w["avg_power_w"]
        log(f"idle power {idle_w:.1f} W")
    if args.alone_s > 0:
        for m, ch in zip(models, chained):
            if m in out["alone"]:
                continue
            with eclip.Plan.make(backend, profile, [m], "baseline") as plan, \
                    Colocation(backend, plan, [ch.units()], [m]) as run:
                rec = run.run(args.alone_s, args.warmup, label=f"alone:{m}")
            out["alone"][m] = rec
            log(f"alone {m}: {rec['throughput_rps']:.1f} req/s, p95 {rec['workers'][0]['p95_ms']:.2f} ms")
            torch.cuda.empty_cache()
    alone_rps = {m: r["throughput_rps"] for m, r in out["alone"].items()}
    failed = False
    for s in strategies:
        try:
            plan = eclip.Plan.make(backend, profile, models, s, args.budget, args.tolerance)
            plan.write(os.path.join(args.out, "plans", f"{s}_{args.mix}.json"))
            run = Colocation(backend, plan, [ch.units() for ch in chained], models, meter)
        except Exception as e:
            traceback.print_exc()
            out["runs"].append({"mix": args.mix, "strategy_name": s, "error": f"{type(e).__name__}: {e}"})
            failed = True
            write_json(out_path, out)
            continue
        try:
            for rep in range(args.reps):
                rec = run.run(args.window, args.warmup, alone_rps, idle_w, label=f"{args.mix}:{s}")
                rec.update({"mix": args.mix, "strategy_name": s, "rep": rep, "batch": args.batch})
                out["runs"].append(rec)
                write_json(out_path, out)
                append_summary(os.path.join(args.out, "summary.csv"), rec, args.batch)
                failed |= bool(rec["errors"])
                log(f"rep{rep} {args.mix} {s:12s} {rec['throughput_rps']:8.1f} req/s  "
                    f"{(rec.get('inferences_per_j') or 0):7.3f} inf/J  jain {rec['jain'] or 0:.3f}  " +
                    "  ".join(f"{w['model'][:10]} {w['throughput_rps']:.0f}/{w['p95_ms'] or 0:.2f}"
                              for w in rec["workers"]) + (f"  ERR {rec['errors']}" if rec["errors"] else ""))
        finally:
            run.close()
            plan.close()
            torch.cuda.empty_cache()
    if meter:
        out["idle"].append(meter.idle(args.idle_s, sync).as_dict())
    write_json(out_path, out)
    log(f"wrote {out_path}")
    # Parked capture threads hold library handles of green contexts already destroyed: leave without
    # running PyTorch's handle destructors on them.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    main()
