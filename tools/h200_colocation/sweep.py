#!/usr/bin/env python3
"""The H200 co-location sweep of issue #14: every paper mix at one batch size under every strategy,
in one process, each strategy measured `--reps` times in the same run (interleaved: rep 0 of all,
then rep 1 of all), with the workers running without stopping between plans.

  sweep.py --batch 1 --profile P/profile_b1.json [--mixes all] [--reps 2] [--window 1] [--warmup 0.3]
           [--strategies baseline,static-equal,kernel-wise,eclip-budget,eclip,static-best,eclip-tuned]
           [--tune-time 60] [--out DIR]

P/profile_b<batch>.json is `eclip profile --sizes all` (every partition size): the co-location
model predicts with it; kernel-wise and eclip-budget read its size classes. Per batch: idle power,
each model alone on the whole device (alone_b<batch>.json: normalised throughput, Jain), then per
mix:
  static search   (or --static-best mix=split: an earlier search's best, measured again) the equal split, its 12 one-atom neighbours and two splits in proportion to each
                  model's solo time (and its square root), each measured once; then the best
                  split's one-atom neighbours, until none is better (every split listed with its
                  numbers in <mix>_b<batch>.json "static_search"). static-best = the best of them
                  by throughput.
  static-best-slo (only when listed) the same search ranked by the tuner's constraints first (the
                  library's judgement: splits that keep Baseline's Jain index and every worker's p95
                  within Baseline's slowest, then the least broken), then by throughput: the best
                  split a user with that latency target finds by trying (up to --slo-max splits of
                  its own; those static-best's search measured in the run are reused).
  eclip-tuned     eclip.torch.tune: the library's search with the co-location model as predictor,
                  measured windows, from Baseline, the equal split and the model's picks
                  (--model-starts; by default its best static splits under the objective and under
                  the other of throughput and energy, and its best plan grown from the first);
                  objective --objective (throughput) under Baseline's measured Jain index and, with
                  --p95-limit baseline (the default), every worker's p95 within Baseline's slowest
                  (both the mean of --reference windows of Baseline: rep 0's and those after it,
                  kind "reference" in "runs"; its whole report in "tune").
  eclip-tuned-energy  the same search maximising inferences/J (only when listed in --strategies;
                  report in "tune_energy").
  eclip-tuned-plan-starts  eclip-tuned with the model's picks before 2026-12-01 (its best plans
                  under both objectives, no static split; only when listed; report in
                  "tune_plan_starts"): the A/B of the starts.
  reps            every strategy's plan measured --reps times.
Output (DIR): <mix>_b<batch>.json (every window's full record), summary.csv (one row per mix,
batch, strategy, rep), plans/."""
import argparse
import csv
import datetime
import json
import os
import sys
import time
import traceback

import eclip  # the library (ECLIP_LIBRARY): the mixes, and everything below

# The library's default mixes (eclip_default_mixes): mix i holds models {i, i+1, i+2, i+4} mod 7.
MIXES = eclip.default_mixes()
PAPER_MODELS = list(dict.fromkeys(m for models in MIXES.values() for m in models))  # every model, once
SUMMARY_COLUMNS = ["mix", "batch", "strategy", "rep", "throughput", "inferences_per_j", "jain", "slowest_p95_ms"]


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
            out.writerow(SUMMARY_COLUMNS + [f"w{i}_throughput" for i in range(4)])
        out.writerow(["" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for v in row])


def size_class_profile(full, classes):
    """The profile at the topology's size classes (what kernel-wise and eclip-budget read)."""
    at = [full["configs"].index(c) for c in classes]
    out = dict(full, configs=list(classes), units=[full["units"][i] for i in at], models=[])
    for m in full["models"]:
        out["models"].append(dict(m, kernels=[dict(k, us=[k["us"][i] for i in at]) for k in m["kernels"]]))
    return out


# The tuned strategies: (name, objective (None: --objective), the model's picks the search starts
# from (None: --model-starts, else the library's default), the key of its report in <mix>_b<batch>.json).
TUNED = (("eclip-tuned", None, None, "tune"), ("eclip-tuned-energy", "energy", None, "tune_energy"),
         # The picks before 2026-12-01 (the model's best plans under both objectives), for an A/B
         # of the starts in one run.
         ("eclip-tuned-plan-starts", None, ["plan", "plan-other"], "tune_plan_starts"))


# The static search below is the user's alternative the issue compares against ("the best static
# split found by trying some"), kept deliberately apart from the library's search (the tuner): it
# moves one atom between homes and starts from the equal and the solo-time-proportional splits.
def neighbours(split):
    out = []
    for a in range(len(split)):
        for b in range(len(split)):
            if a != b and split[a] > 1:
                s = list(split)
                s[a] -= 1
                s[b] += 1
                out.append(s)
    return out


def proportional(weights, groups):
    left = groups - len(weights)
    total = sum(weights)
    want = [w / total * left for w in weights]
    split = [1 + int(x) for x in want]
    rest = sorted(range(len(weights)), key=lambda i: want[i] - int(want[i]), reverse=True)
    for i in rest[:groups - sum(split)]:
        split[i] += 1
    return split


def short(rec):
    return (f"{rec['throughput_rps']:8.1f} req/s  {(rec.get('inferences_per_j') or 0):6.3f} inf/J  "
            f"jain {rec.get('jain') or 0:.3f}  " +
            "  ".join(f"{w['model'][:8]} {w['throughput_rps']:.0f}/{w['p95_ms'] or 0:.2f}" for w in rec["workers"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--mixes", default="all")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--window", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=0.3)
    ap.add_argument("--strategies", default="baseline,static-equal,kernel-wise,eclip-budget,eclip,static-best,eclip-tuned")
    ap.add_argument("--static-search", type=int, default=1, help="0: skip the static search")
    ap.add_argument("--static-max", type=int, default=16, help="most splits the static search measures (>= 15)")
    ap.add_argument("--slo-max", type=int, default=28,
                    help="most splits static-best-slo's search measures itself (splits static-best's search "
                         "measured in the same run are reused)")
    ap.add_argument("--static-best", default="",
                    help="mix=split,... (e.g. mix6=3/3/8/2): static-best is this split, found by an earlier "
                         "run's search, measured again here without searching (a re-measurement)")
    ap.add_argument("--static-best-slo", default="",
                    help="mix=split,...: static-best-slo is this split, found by an earlier run's search under "
                         "the constraints, measured again here without searching")
    ap.add_argument("--calibrate", type=int, default=0,
                    help="N > 0: only Baseline and N static splits per mix (the equal split, the two proportional "
                         "ones, then one-atom neighbours of the equal split), once each: the co-runs the "
                         "co-location model's contention parameters are fitted from")
    ap.add_argument("--tune-time", type=float, default=60.0)
    ap.add_argument("--tune-segments", type=int, default=2)
    ap.add_argument("--noise", type=float, default=0.02)
    ap.add_argument("--objective", default="throughput", choices=["throughput", "energy", "normalized"],
                    help="eclip-tuned's objective (eclip-tuned-energy always maximises inferences/J)")
    ap.add_argument("--p95-limit", default="baseline", choices=["baseline", "none"],
                    help="baseline: the tuner keeps every worker's p95 within Baseline's slowest p95 "
                         "(within the noise band)")
    ap.add_argument("--reference", type=int, default=3,
                    help="Baseline's windows (rep 0's and more) the tuner's fairness floor and p95 limit are the mean of")
    ap.add_argument("--model-starts", default="",
                    help="eclip-tuned's model picks (eclip.torch.tune --model-starts; default the library's)")
    ap.add_argument("--out", default="sweep_out")
    args = ap.parse_args()
    mixes = list(MIXES) if args.mixes == "all" else [m for m in args.mixes.split(",") if m]
    strategies = [s for s in args.strategies.split(",") if s]

    def given_splits(option, value):
        out = {}
        for item in filter(None, value.split(",")):
            mix, _, split = item.partition("=")
            try:
                out[mix] = [int(x) for x in split.split("/")]
            except ValueError:
                ap.error(f"{option} {item!r}: expected mix=a/b/c/d, e.g. mix6=3/3/8/2")
            if mix not in MIXES or len(out[mix]) != len(MIXES[mix]):
                ap.error(f"{option} {item!r}: unknown mix or not one home per worker")
        return out

    if args.reference < 1:
        ap.error(f"--reference {args.reference}: at least 1 (Baseline's rep 0)")
    given_best = given_splits("--static-best", args.static_best)
    given_slo = given_splits("--static-best-slo", args.static_best_slo)

    from eclip import search as esearch
    from eclip.torch import require_torch
    from eclip.torch import models as zoo
    from eclip.torch.chain import ChainedModel
    from eclip.torch.runner import Colocation
    from eclip.torch.tune import evaluation_of, solo_rates, tune, tuning_spec
    torch = require_torch()
    torch.backends.cudnn.benchmark = False
    os.makedirs(os.path.join(args.out, "plans"), exist_ok=True)
    backend = eclip.Backend("cuda")
    meter = eclip.EnergyMeter("nvml")
    full = json.load(open(args.profile))
    classes = [c.groups for c in backend.size_classes()]
    prof_full = eclip.Profile.from_json(full)
    prof_classes = eclip.Profile.from_json(size_class_profile(full, classes))
    groups = backend.topology.groups
    solo_us = {m["model"]: sum(k["us"][-1] for k in m["kernels"]) for m in full["models"]}
    summary = os.path.join(args.out, "summary.csv")

    needed = [m for m in PAPER_MODELS if any(m in MIXES[x] for x in mixes)]
    chained = {}
    for m in needed:
        t0 = time.time()
        chained[m] = ChainedModel.of(zoo.build(m, args.batch))
        log(f"built {m} b{args.batch}: {len(chained[m])} units ({time.time() - t0:.1f} s)")
    idle = meter.idle(2.0, torch.cuda.synchronize).as_dict()
    log(f"idle {idle['avg_power_w']:.1f} W")
    alone, _ = solo_rates(backend, needed, [chained[m].units() for m in needed], args.window, args.warmup, meter, log)
    write_json(os.path.join(args.out, f"alone_b{args.batch}.json"), alone)

    failed = False
    for mix in mixes:
        ms = MIXES[mix]
        units = [chained[m].units() for m in ms]
        space = {"models": ms, "segments": [[len(u)] for u in units]}
        out = {"kind": "eclip.sweep", "mix": mix, "models": ms, "batch": args.batch, "device": backend.name,
               "library": eclip.version(), "torch": torch.__version__,
               "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "window_s": args.window,
               "warmup_s": args.warmup, "idle": idle, "alone_rps": alone, "runs": [], "static_search": [],
               "plans": {}}
        path = os.path.join(args.out, f"{mix}_b{args.batch}.json")
        plans = {}
        t_mix = time.time()
        try:
            plans["baseline"] = esearch.baseline(backend, ms, [len(u) for u in units])
            for s in ("static-equal", "kernel-wise", "eclip-budget"):
                if s in strategies:
                    plans[s] = eclip.Plan.make(backend, prof_classes, ms, s)
            if "eclip" in strategies:
                t0 = time.time()
                plans["eclip"] = eclip.Plan.make(backend, prof_full, ms, "eclip")
                out["eclip_plan_s"] = time.time() - t0
            colo = Colocation(backend, plans["baseline"], units, ms, meter, cache=6)
        except Exception as e:  # noqa: BLE001 - the other mixes still run
            traceback.print_exc()
            out["error"] = f"{type(e).__name__}: {e}"
            write_json(path, out)
            failed = True
            continue
        try:
            def measure(name, plan, rep, kind="rep"):
                capture = colo.switch(plan)
                rec = colo.run(args.window, args.warmup, alone, idle["avg_power_w"], label=f"{mix}:{name}")
                rec.update({"mix": mix, "strategy_name": name, "rep": rep, "batch": args.batch, "kind": kind,
                            "switch_capture_s": capture})
                out["runs"].append(rec)
                log(f"{kind}{rep} {mix} {name:14s} {short(rec)}  (capture {capture:.2f} s)")
                return rec

            base = measure("baseline", plans["baseline"], 0)
            append_summary(summary, base, args.batch)
            # The tuner's reference (and static-best-slo's): rep 0 and the windows after it, as
            # tune.baseline_windows measures them.
            reference = [base]
            if "static-best-slo" in strategies or any(t[0] in strategies for t in TUNED):
                reference += [measure("baseline", plans["baseline"], i, "reference") for i in range(1, args.reference)]
            if args.calibrate:
                equal = [groups // 4 + (1 if i < groups % 4 else 0) for i in range(4)]
                cands = [equal] + [proportional(w, groups) for w in ([solo_us[m] for m in ms],
                                                                      [solo_us[m] ** 0.5 for m in ms])]
                cands += neighbours(equal)[::3]
                seen = []
                for split in cands:
                    if split in seen or len(seen) >= args.calibrate:
                        continue
                    seen.append(split)
                    with esearch.plan_for(backend, space, {"split": split}, "static") as p:
                        rec = measure("static " + "/".join(map(str, split)), p, 0, "calibrate")
                    out["static_search"].append({"split": split, "throughput_rps": rec["throughput_rps"],
                                                 "inferences_per_j": rec.get("inferences_per_j"), "jain": rec.get("jain"),
                                                 "workers_rps": [w["throughput_rps"] for w in rec["workers"]]})
                strategies = []
            # The user's alternatives: the best static split by throughput (static-best), and the
            # best that keeps the tuner's constraints (static-best-slo: a user with a latency
            # target tries splits and keeps the best one that meets it).
            def tuned_spec(objective, model_starts=None):
                # The p95 target: no worker slower at p95 than Baseline's slowest worker;
                # this and the Jain floor hold within the noise band (the objective's tolerance).
                return tuning_spec(ms, units, reference, alone, objective, None,
                                   None if args.p95_limit == "baseline" else [], args.noise, args.tune_time,
                                   args.tune_segments, args.profile, model_starts=model_starts)

            searched = {}  # split -> its search record, shared by both searches

            def static_search(key, limit, name):
                equal = [groups // 4 + (1 if i < groups % 4 else 0) for i in range(4)]
                queue = [equal] + neighbours(equal)
                for weights in ([solo_us[m] for m in ms], [solo_us[m] ** 0.5 for m in ms]):
                    queue.append(proportional(weights, groups))
                tried, skipped, measured = {}, set(), 0
                while measured < limit:
                    if not queue and tried:  # the next round: the best split's one-atom neighbours
                        best = max(tried, key=lambda t: key(tried[t]))
                        queue = [s for s in neighbours(list(best)) if tuple(s) not in tried and tuple(s) not in skipped]
                    if not queue:
                        break
                    split = queue.pop(0)
                    if tuple(split) in tried or tuple(split) in skipped:
                        continue
                    if tuple(split) in searched:  # measured by the other search in this run
                        tried[tuple(split)] = searched[tuple(split)]
                        continue
                    try:
                        p = esearch.plan_for(backend, space, {"split": split}, "static")
                    except eclip.EclipError as e:  # a split the plan space refuses: not a candidate
                        log(f"{mix} static {split}: skipped ({e})")
                        skipped.add(tuple(split))
                        continue
                    with p:
                        rec = measure("static " + "/".join(map(str, split)), p, 0, "search")
                    measured += 1
                    tried[tuple(split)] = searched[tuple(split)] = rec
                    out["static_search"].append({"split": split, "search": name, "throughput_rps": rec["throughput_rps"],
                                                 "inferences_per_j": rec.get("inferences_per_j"), "jain": rec.get("jain"),
                                                 "slowest_p95_ms": rec.get("slowest_p95_ms"),
                                                 "workers_rps": [w["throughput_rps"] for w in rec["workers"]]})
                best = max(tried, key=lambda t: key(tried[t]))
                return list(best), tried[best], len(tried)

            if "static-best" in strategies and mix in given_best:
                out["static_best_split"] = given_best[mix]
                out["static_best_given"] = True
                plans["static-best"] = esearch.plan_for(backend, space, {"split": given_best[mix]}, "static-best")
            elif args.static_search and "static-best" in strategies:
                t0 = time.time()
                best, _, n = static_search(lambda rec: rec["throughput_rps"], args.static_max, "static-best")
                out["static_best_split"] = best
                out["static_search_s"] = time.time() - t0
                plans["static-best"] = esearch.plan_for(backend, space, {"split": best}, "static-best")
                log(f"{mix} static search: {n} splits in {out['static_search_s']:.0f} s, best {best}")
            if "static-best-slo" in strategies and mix in given_slo:
                out["static_best_slo_split"] = given_slo[mix]
                out["static_best_slo_given"] = True
                plans["static-best-slo"] = esearch.plan_for(backend, space, {"split": given_slo[mix]}, "static-best-slo")
            elif "static-best-slo" in strategies:
                t0 = time.time()
                objective = tuned_spec("throughput")["objective"]

                def kept_first(rec):  # the library's judgement: keeping the constraints, then the least broken
                    v = esearch.violation(objective, evaluation_of(rec))
                    return (v == 0, -v, rec["throughput_rps"])

                best, rec, n = static_search(kept_first, args.slo_max, "static-best-slo")
                kept = kept_first(rec)[0]
                out["static_best_slo_split"] = best
                out["static_best_slo_keeps"] = kept
                out["static_slo_search_s"] = time.time() - t0
                plans["static-best-slo"] = esearch.plan_for(backend, space, {"split": best}, "static-best-slo")
                log(f"{mix} static search under the constraints: {n} splits in {out['static_slo_search_s']:.0f} s, "
                    f"best {best} ({'keeps them' if kept else 'none keeps them: the least broken'})")
            tuned = [t for t in TUNED if t[0] in strategies]
            if mixes.index(mix) % 2:  # an A/B of two searches alternates which one goes first
                tuned.reverse()
            for name, objective, model_starts, key in tuned:
                objective = objective or args.objective
                # Each search starts alike: on Baseline, with no other plan's graphs cached.
                colo.switch(plans["baseline"])
                colo.clear_cache()
                if model_starts is None:
                    model_starts = args.model_starts.split(",") if args.model_starts else None
                best, report = tune(colo, backend, ms, tuned_spec(objective, model_starts), args.window, args.warmup,
                                    log=log, alone_rps=alone, idle_w=idle["avg_power_w"])
                out[key] = report
                plans[name] = best
                log(f"{mix} {name}: {report['best']['label']} after {len(report['trials'])} trials, "
                    f"{report['wall_s']:.0f} s, {report['stop_reason']}")
            for s, p in plans.items():
                out["plans"][s] = p.to_dict()
                p.write(os.path.join(args.out, "plans", f"{s}_{mix}_b{args.batch}.json"))
            order = [s for s in strategies if s in plans]
            out["strategy_errors"] = {}
            for rep in range(args.reps):
                for s in order:
                    if s == "baseline" and rep == 0:
                        continue  # measured first, above
                    if s in out["strategy_errors"]:
                        continue
                    try:
                        rec = measure(s, plans[s], rep)
                    except Exception as e:  # noqa: BLE001 - e.g. a partition a kernel cannot launch on
                        traceback.print_exc()
                        out["strategy_errors"][s] = f"{type(e).__name__}: {e}"
                        log(f"{mix} {s}: cannot run: {e}")
                        failed = True
                        colo.close()
                        colo = Colocation(backend, plans["baseline"], units, ms, meter, cache=6)
                        continue
                    append_summary(summary, rec, args.batch)
                write_json(path, out)
        except Exception as e:  # noqa: BLE001 - the other mixes still run
            traceback.print_exc()
            out["error"] = f"{type(e).__name__}: {e}"
            failed = True
        finally:
            out["seconds"] = time.time() - t_mix
            write_json(path, out)
            colo.close()
            for p in plans.values():
                p.close()
            torch.cuda.empty_cache()
        log(f"{mix} done in {out['seconds']:.0f} s")
    sys.stdout.flush()
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    main()
