#!/usr/bin/env python3
"""How well does each model's energy per request alone predict a co-location's power?

  power_check.py RUN_DIR [RUN_DIR ...] [--out power_check.json]

For every window of a sweep (RUN_DIR/<mix>_b<batch>.json, with the log_sweep_b<batch>.txt beside
it that holds the idle power and each model alone on the whole device), the average power is
predicted as idle + sum over workers of (requests/s x that model's dynamic energy per request
alone), where the dynamic energy per request alone is (its power alone - idle) / its requests/s
alone; printed against the measured power, with the mean and largest relative error per run.

An analysis of measured data, not a model the library uses: the co-location model's power (the
simulated device's static power plus active power per busy SM, eclip/backend/sim.hpp) is what the
planner and `eclip simulate` predict with; this checks whether per-model energy, which profiles do
not record yet, would predict better."""
import argparse
import glob
import json
import os
import re
import statistics

from runs import read_json, run_files  # a sweep record, compressed or not


def solo_energy(log_text):
    """(idle W, {model: (requests/s alone, W alone)}) from a sweep log."""
    idle = re.search(r"idle ([\d.]+) W", log_text)
    solo = re.findall(r"alone (\S+): ([\d.]+) req/s ([\d.]+) W", log_text)
    if not idle or not solo:
        raise ValueError("the log has no idle power or no model alone with its power")
    return float(idle.group(1)), {m: (float(r), float(w)) for m, r, w in solo}


def check(run_dir):
    logs = glob.glob(os.path.join(run_dir, "log_sweep_b*.txt"))
    if len(logs) != 1:
        raise ValueError(f"{run_dir}: expected one log_sweep_b<batch>.txt, found {len(logs)}")
    idle, solo = solo_energy(open(logs[0]).read())
    rows = []
    for path in run_files(run_dir):
        doc = read_json(path)
        for r in doc.get("runs", []):
            if not r.get("avg_power_w"):
                continue
            dynamic = sum(w["throughput_rps"] * (solo[w["model"]][1] - idle) / solo[w["model"]][0]
                          for w in r["workers"])
            rows.append({"mix": doc["mix"], "batch": doc["batch"], "strategy": r["strategy_name"], "rep": r.get("rep"),
                         "measured_w": r["avg_power_w"], "predicted_w": idle + dynamic,
                         "error": (idle + dynamic) / r["avg_power_w"] - 1})
    return {"run": run_dir, "idle_w": idle, "alone": solo, "windows": rows,
            "mean_abs_error": statistics.mean(abs(x["error"]) for x in rows) if rows else None,
            "max_abs_error": max(abs(x["error"]) for x in rows) if rows else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = []
    for d in args.runs:
        res = check(d)
        out.append(res)
        for x in res["windows"]:
            print(f"{d} b{x['batch']} {x['mix']} {x['strategy']:12s} measured {x['measured_w']:5.0f} W  "
                  f"predicted {x['predicted_w']:5.0f} W  ({x['error']:+.1%})")
        print(f"{d}: {len(res['windows'])} windows, mean |error| {res['mean_abs_error']:.1%}, "
              f"largest {res['max_abs_error']:.1%}")
    if args.out:
        tmp = f"{args.out}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(out, f, indent=1)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
