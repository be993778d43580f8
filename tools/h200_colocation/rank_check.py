#!/usr/bin/env python3
"""Does `eclip simulate` rank the strategies as the hardware did? Predicted against measured, per mix.

  rank_check.py --simulated SIM.json --runs DIR [--runs DIR2 ...] [--again DIR3 ...] [--tie 0.02]
                [--out rank_check.json]

SIM.json: `eclip simulate --json FILE` (any device preset and profile). DIR: a sweep folder
(DIR/<mix>_b<batch>.json, sweep.py's output) that measured the same strategies on the same mixes;
several (one batch size) when the mixes were measured in several calls.
For every mix and strategy in both: the throughput and inferences/J as ratios to the same run's
Baseline (measured: means over the repetitions). The measured order of two strategies counts when
their ratios differ by more than --tie (2 %: the issue's tie band); the prediction agrees on such a
pair when it orders them the same way. A mix is ranked as the hardware did when every pair that
counts agrees; the best strategy matches when the predicted best is within the tie band of the
measured best. --again: the sweep folders of another run of the same strategies on the same GPU;
then an order also counts as *reproduced* when that run separates the pair the same way by more
than --tie, and the summary says how many mixes keep every reproduced order (an order the hardware
does not repeat from one run to the next cannot be asked of a model). Printed per mix, with each
ratio's error; the JSON holds it all."""
import argparse
import itertools
import json
import os
import statistics
import sys

from fit_model import load_runs  # the sweep windows, read as the model's fit reads them
from runs import run_files


def measured(run_dirs):
    """{mix: {strategy: (throughput ratio, inferences/J ratio)}} from sweep folders' repetitions
    (fit_model.load_runs reads the windows; inferences/J = requests/s over average power)."""
    by = {}
    for r in load_runs(run_dirs, batch_of(run_dirs)):
        if r["kind"] == "rep":
            by.setdefault(r["mix"], {}).setdefault(r["name"], []).append(
                (r["total"], r["total"] / r["power_w"] if r["power_w"] else None))
    out = {}
    for mix, strategies in by.items():
        if "baseline" not in strategies:
            continue
        base_t = statistics.mean(t for t, _ in strategies["baseline"])
        base_e = statistics.mean(e for _, e in strategies["baseline"] if e)
        out[mix] = {s: (statistics.mean(t for t, _ in v) / base_t,
                        statistics.mean(e for _, e in v if e) / base_e if all(e for _, e in v) else None)
                    for s, v in strategies.items()}
    return out


def batch_of(run_dirs):
    """The batch size of sweep folders' windows (their files are <mix>_b<batch>.json)."""
    batches = {int(os.path.basename(p).split("_b")[-1].split(".")[0]) for d in run_dirs for p in run_files(d)}
    if len(batches) != 1:
        raise ValueError(f"{', '.join(run_dirs)}: expected the windows of one batch size, "
                         f"found {sorted(batches) or 'none'}")
    return batches.pop()


def predicted(sim_path):
    doc = json.load(open(sim_path))
    if doc.get("format") != "eclip.simulate":
        raise ValueError(f"{sim_path}: not `eclip simulate --json` output (format {doc.get('format')!r})")
    by = {}
    for r in doc["results"]:
        by.setdefault(r["mix"], {})[r["strategy"]] = (r["throughput_rps"], r["requests_per_joule"])
    out = {}
    for mix, s in by.items():
        if "baseline" in s:
            bt, be = s["baseline"]
            out[mix] = {k: (t / bt, e / be) for k, (t, e) in s.items()}
    return out


def separated(meas, a, b, i, tie):
    """+1 or -1 when meas orders a before or after b by more than tie in metric i, else 0."""
    ma, mb = meas[a][i], meas[b][i]
    return 0 if abs(ma / mb - 1) <= tie else (1 if ma > mb else -1)


def compare(meas, pred, tie, again=None):
    """Per metric (0: throughput, 1: inferences/J): pairs that count, those the prediction orders
    the same way, and whether the predicted best is among the measured best (within tie). again:
    another run's measurements; a pair counts only when it separates the pair the same way too."""
    strategies = [s for s in meas if s in pred and (again is None or s in again)]
    res = {}
    for i, metric in enumerate(("throughput", "inferences_per_j")):
        if any(meas[s][i] is None or (again is not None and again[s][i] is None) for s in strategies):
            continue
        pairs, agree, wrong = 0, 0, []
        for a, b in itertools.combinations(strategies, 2):
            order = separated(meas, a, b, i, tie)
            if order == 0 or (again is not None and separated(again, a, b, i, tie) != order):
                continue
            pairs += 1
            if (order > 0) == (pred[a][i] > pred[b][i]):
                agree += 1
            else:
                wrong.append(f"{a} {'>' if order > 0 else '<'} {b}")
        top = max(meas[s][i] for s in strategies)
        best_pred = max(strategies, key=lambda s: pred[s][i])
        res[metric] = {"pairs": pairs, "agree": agree, "misordered": wrong,
                       "best_matches": meas[best_pred][i] >= top / (1 + tie), "predicted_best": best_pred,
                       "measured_best": max(strategies, key=lambda s: meas[s][i])}
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--simulated", required=True)
    ap.add_argument("--runs", required=True, action="append")
    ap.add_argument("--again", action="append", default=[],
                    help="sweep folders of another run of the same strategies: orders it reproduces")
    ap.add_argument("--tie", type=float, default=0.02)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    meas, pred = measured(args.runs), predicted(args.simulated)
    again = measured(args.again) if args.again else {}
    mixes = [m for m in meas if m in pred]
    if not mixes:
        print(f"no mix in both {args.simulated} and {', '.join(args.runs)}", file=sys.stderr)
        return 2
    report = {"simulated": args.simulated, "runs": " + ".join(args.runs), "again": " + ".join(args.again),
              "tie": args.tie, "mixes": {}}
    errors = {"throughput": [], "inferences_per_j": []}
    for mix in mixes:
        m, p = meas[mix], pred[mix]
        cmp = compare(m, p, args.tie)
        reproduced = compare(m, p, args.tie, again[mix]) if mix in again else None
        rows = {s: {"measured": m[s], "predicted": p[s]} for s in m if s in p}
        for s, r in rows.items():
            if s == "baseline":
                continue
            for i, metric in enumerate(errors):
                if r["measured"][i]:
                    errors[metric].append(abs(r["predicted"][i] / r["measured"][i] - 1))
        report["mixes"][mix] = {"strategies": rows, "order": cmp}
        if reproduced is not None:
            report["mixes"][mix]["reproduced_order"] = reproduced
        print(f"== {mix}: strategy  throughput x Baseline measured / predicted   inferences/J measured / predicted")
        for s, r in rows.items():
            (mt, me), (pt, pe) = r["measured"], r["predicted"]
            print(f"   {s:14s} {mt:5.2f} / {pt:5.2f} ({pt / mt - 1:+4.0%})      "
                  + (f"{me:5.2f} / {pe:5.2f} ({pe / me - 1:+4.0%})" if me else "n/a"))
        for metric, c in cmp.items():
            print(f"   {metric}: {c['agree']} of {c['pairs']} measured orders kept"
                  + (f" (misordered: {', '.join(c['misordered'])})" if c["misordered"] else "")
                  + f"; best {'matches' if c['best_matches'] else 'differs'} (predicted {c['predicted_best']}, "
                    f"measured {c['measured_best']})")
        for metric, c in (reproduced or {}).items():
            print(f"   {metric}, orders the other run reproduces: {c['agree']} of {c['pairs']} kept"
                  + (f" (misordered: {', '.join(c['misordered'])})" if c["misordered"] else ""))
    summary = {}
    for metric, errs in errors.items():
        # Each mix's comparison of this metric under `key` ("order" or "reproduced_order"), where made.
        def made(key):
            return [report["mixes"][mx][key][metric] for mx in mixes if metric in report["mixes"][mx].get(key, {})]

        ranked = made("order")
        summary[metric] = {
            "mixes_ranked_as_measured": sum(not c["misordered"] for c in ranked),
            "mixes_best_matches": sum(c["best_matches"] for c in ranked),
            "mixes": len(ranked),
            "ratio_abs_error_mean": statistics.mean(errs) if errs else None,
            "ratio_within_10pct": sum(e <= 0.10 for e in errs) / len(errs) if errs else None}
        reproduced = made("reproduced_order")
        if reproduced:
            summary[metric]["mixes_reproduced_orders_kept"] = sum(not c["misordered"] for c in reproduced)
            summary[metric]["mixes_with_another_run"] = len(reproduced)
        s = summary[metric]
        print(f"{metric}: ranked as measured on {s['mixes_ranked_as_measured']} of {s['mixes']} mixes, best strategy "
              f"on {s['mixes_best_matches']}; ratio error mean {s['ratio_abs_error_mean']:.1%}, "
              f"within 10 % {s['ratio_within_10pct']:.0%}"
              + (f"; every order the other run reproduces kept on {s['mixes_reproduced_orders_kept']} of "
                 f"{s['mixes_with_another_run']}" if "mixes_with_another_run" in s else ""))
    report["summary"] = summary
    if args.out:
        tmp = f"{args.out}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
