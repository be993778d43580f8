#!/usr/bin/env python3
"""Fits the co-location model's contention and power parameters to measured co-runs, and reports
its prediction error. The model is the library's simulation (eclip.search.predict over the C ABI:
the same code `eclip simulate --device h200` and the planner run); nothing is re-modelled here.

  fit_model.py --runs DIR [--runs DIR2] --profile P/profile_b1.json [--batch 1] [--out fit_b1.json]
  fit_model.py --runs DIR --profile P --check fit.json     # prediction error only, fixed parameters
  fit_model.py ... --fix fair_share=0,co_residence=0.1     # those held, the others fitted

Every window in DIR/<mix>_b<batch>.json (calibrate or sweep output: each record holds its plan) is
predicted. The contention parameters (fair_share: block dispatch, 1 = fair sharing of SMs, 0 =
first come first served; bandwidth_slowdown: the slowdown of every kernel per unit of the rest of
the device busy; demand_tolerance: how many SMs a kernel group occupies, from its time curve;
size_priority: the first-come part served largest kernel first rather than in start order;
co_residence: how far kernels sharing SMs may together exceed them) minimise the mean squared log error of every worker's throughput over the
windows; then the per-SM active power minimises the squared log error of the average power (static
power from the measured idle power; not fitted when every group of the profile carries its
measured energy, which the simulated device charges instead). The error is reported per window, as ratios to the same mix's
Baseline (what the issue's 10 % target is about) and absolute."""
import argparse
import json
import math
import os
import sys

from runs import read_json, run_files  # a sweep record, compressed or not


def load_runs(dirs, batch):
    runs = []
    for d in dirs:
        for path in run_files(d, f"mix*_b{batch}.json"):
            doc = read_json(path)
            for r in doc.get("runs", []):
                if r.get("plan") and r.get("throughput_rps"):
                    runs.append({"mix": doc["mix"], "name": r["strategy_name"], "kind": r.get("kind", "rep"),
                                 "plan": r["plan"], "workers": [w["throughput_rps"] for w in r["workers"]],
                                 "total": r["throughput_rps"], "power_w": r.get("avg_power_w"),
                                 "idle_w": (doc.get("idle") or {}).get("avg_power_w")})
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", action="append", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--duration-ms", type=float, default=400)
    ap.add_argument("--check", default=None, help="a fit JSON: report its error, fit nothing")
    ap.add_argument("--out", default=None)
    ap.add_argument("--fix", default="",
                    help="NAME=VALUE,... contention parameters held fixed (fewer grid points: at batch 8 a "
                         "prediction costs ~10x batch 1's, and the whole grid takes over an hour on 2 cores)")
    args = ap.parse_args()
    names = ("fair_share", "bandwidth_slowdown", "demand_tolerance", "size_priority", "co_residence")
    pinned = {}
    for item in filter(None, args.fix.split(",")):
        k, _, v = item.partition("=")
        try:
            pinned[k] = float(v)
        except ValueError:
            ap.error(f"--fix {item!r}: expected NAME=NUMBER")
        if k not in names:
            ap.error(f"--fix {item!r}: {k} is not one of {', '.join(names)}")
    import eclip
    from eclip import search as es
    runs = load_runs(args.runs, args.batch)
    if not runs:
        sys.exit(f"no windows with plans in {args.runs} at batch {args.batch}")
    be = eclip.Backend("sim:h200")
    prof = eclip.Profile.from_file(args.profile)
    plans = [eclip.Plan.from_json(be, r["plan"]) for r in runs]
    idle = [r["idle_w"] for r in runs if r["idle_w"]]
    idle_w = sum(idle) / len(idle) if idle else 124.0
    unit_idle_w = 0.5
    static_w = idle_w - 132 * unit_idle_w

    def predict_all(params):
        dev = dict(params, duration_ms=args.duration_ms, warmup_ms=50)
        return [es.predict(prof, p, dev) for p in plans]

    def thr_error(preds):
        errs = []
        for r, p in zip(runs, preds):
            for m, q in zip(r["workers"], p["throughput_rps"]):
                if m > 0 and q > 0:
                    errs.append(math.log(q / m) ** 2)
        return sum(errs) / len(errs)

    if args.check:
        params = json.load(open(args.check))["parameters"]
    else:
        fixed = {"static_w": static_w, "unit_idle_w": unit_idle_w}
        grid = [{"fair_share": fs, "bandwidth_slowdown": bw, "demand_tolerance": dt, "size_priority": sp,
                 "co_residence": cr}
                for fs in (0.0, 0.3, 0.6) for bw in (0.2, 0.4, 0.6) for dt in (0.1, 0.25, 0.5)
                for sp in (0.0, 0.5, 1.0) for cr in (0.0, 0.1, 0.2)]
        best = None
        seen = set()
        for rnd in range(2):  # a coarse grid, then a finer one around its best point
            for g in grid:
                g.update(pinned)
                key = tuple(sorted(g.items()))
                if key in seen:
                    continue
                seen.add(key)
                e = thr_error(predict_all(dict(g, **fixed)))
                print(f"{g}: rms log error {math.sqrt(e):.3f}", flush=True)
                if best is None or e < best[0]:
                    best = (e, g)
            c = best[1]
            grid = [{"fair_share": round(min(max(c["fair_share"] + dfs, 0.0), 1.0), 4),
                     "bandwidth_slowdown": round(max(c["bandwidth_slowdown"] + dbw, 0.0), 4),
                     "demand_tolerance": round(max(c["demand_tolerance"] * f, 0.01), 4),
                     "size_priority": round(min(max(c["size_priority"] + dsp, 0.0), 1.0), 4),
                     "co_residence": round(max(c["co_residence"] + dcr, 0.0), 4)}
                    for dfs in (-0.15, 0.0, 0.15) for dbw in (-0.1, 0.0, 0.1) for f in (0.6, 1.0, 1.6)
                    for dsp in (-0.25, 0.0, 0.25) for dcr in (-0.05, 0.0, 0.05)]
        params = dict(best[1], **fixed)
        with open(args.profile) as f:
            profile_doc = json.load(f)
        if all("energy_uj" in k for m in profile_doc["models"] for k in m["kernels"]):
            # Every group carries its measured energy: no kernel draws power per busy SM, so
            # unit_active_w changes nothing and is not fitted (the output leaves it out).
            print("the profile carries every group's energy: unit_active_w not fitted", flush=True)
        else:
            # The per-SM active power, given the contention fit.
            pbest = None
            for active in [x / 4 for x in range(4, 25)]:
                preds = predict_all(dict(params, unit_active_w=active))
                e = [math.log(p["power_w"] / r["power_w"]) ** 2 for r, p in zip(runs, preds) if r["power_w"]]
                e = sum(e) / len(e)
                if pbest is None or e < pbest[0]:
                    pbest = (e, active)
            params["unit_active_w"] = pbest[1]
    preds = predict_all(params)
    base = {}
    for r, p in zip(runs, preds):
        if r["name"] == "baseline":
            base.setdefault(r["mix"], (r, p))
    rows = []
    for r, p in zip(runs, preds):
        row = {"mix": r["mix"], "strategy": r["name"], "kind": r["kind"], "measured_rps": r["total"],
               "predicted_rps": sum(p["throughput_rps"]), "measured_w": r["power_w"], "predicted_w": p["power_w"]}
        if r["mix"] in base:
            br, bp = base[r["mix"]]
            row["measured_ratio"] = r["total"] / br["total"]
            row["predicted_ratio"] = sum(p["throughput_rps"]) / sum(bp["throughput_rps"])
            row["ratio_error"] = row["predicted_ratio"] / row["measured_ratio"] - 1
            if r["power_w"] and br["power_w"]:
                row["measured_ipj_ratio"] = (r["total"] / r["power_w"]) / (br["total"] / br["power_w"])
                row["predicted_ipj_ratio"] = (sum(p["throughput_rps"]) / p["power_w"]) / (sum(bp["throughput_rps"]) / bp["power_w"])
        rows.append(row)
    errs = [abs(r["ratio_error"]) for r in rows if "ratio_error" in r and r["strategy"] != "baseline"]
    power_errs = [abs(r["predicted_w"] / r["measured_w"] - 1) for r in rows if r["measured_w"]]
    ipj_errs = [abs(r["predicted_ipj_ratio"] / r["measured_ipj_ratio"] - 1) for r in rows
                if "measured_ipj_ratio" in r and r["strategy"] != "baseline"]
    out = {"format": "eclip.model_fit", "batch": args.batch, "profile": os.path.basename(args.profile),
           "parameters": params, "windows": len(runs), "throughput_rms_log_error": math.sqrt(thr_error(preds)),
           "ratio_abs_error_mean": sum(errs) / len(errs) if errs else None,
           "ratio_abs_error_max": max(errs) if errs else None,
           "ratio_within_10pct": sum(e <= 0.10 for e in errs) / len(errs) if errs else None,
           "power_abs_error_mean": sum(power_errs) / len(power_errs) if power_errs else None,
           "power_abs_error_max": max(power_errs) if power_errs else None,
           "ipj_ratio_abs_error_mean": sum(ipj_errs) / len(ipj_errs) if ipj_errs else None, "rows": rows}
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))
    for r in rows:
        print(f"{r['mix']:5s} {r['strategy']:22s} measured {r['measured_rps']:8.1f} predicted {r['predicted_rps']:8.1f}"
              + (f"  ratio {r['measured_ratio']:.2f} vs {r['predicted_ratio']:.2f} ({r['ratio_error']:+.0%})"
                 if "ratio_error" in r else "")
              + (f"  W {r['measured_w']:.0f} vs {r['predicted_w']:.0f}" if r["measured_w"] else ""))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
