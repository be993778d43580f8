#!/usr/bin/env python3
"""Builds this report's summary.csv, static_search.csv, tables.md and plots from raw/.

  python3 report.py        (from this folder; matplotlib for the plots)

summary.csv: one row per (mix, batch, strategy, rep) from the three sweep calls (mixes 1-4, 5-6,
7: mix 7 of the second call stopped on an error and was measured again in the third) and the MPS
call. tables.md: per mix the mean over repetitions of each strategy, as ratios to Baseline, to
static-best and to the better MPS setting, and the issue's targets."""
import csv
import glob
import json
import os
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "raw")
SOURCES = [("sweep_mix1-4", {"mix1", "mix2", "mix3", "mix4"}), ("sweep_mix5-6_mps", {"mix5", "mix6"}),
           ("sweep_mix7", {"mix7"})]
ORDER = ["baseline", "static-equal", "static-best", "mps-25", "mps-50", "kernel-wise", "eclip-budget", "eclip",
         "eclip-tuned"]
MIXES = [f"mix{i}" for i in range(1, 8)]


def rows():
    out = []
    for folder, mixes in SOURCES:
        with open(os.path.join(RAW, folder, "summary.csv")) as f:
            for r in csv.DictReader(f):
                mps = r["strategy"].startswith("mps-")
                if (mps and folder == "sweep_mix5-6_mps") or (not mps and r["mix"] in mixes):
                    out.append(r)
    return out


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def main():
    data = rows()
    header = list(data[0].keys())
    with open(os.path.join(HERE, "summary.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(data)
    agg = defaultdict(lambda: defaultdict(list))
    for r in data:
        for k in ("throughput", "inferences_per_j", "jain", "slowest_p95_ms"):
            agg[(r["mix"], r["strategy"])][k].append(float(r[k]) if r[k] else None)
    m = {key: {k: mean(v) for k, v in d.items()} for key, d in agg.items()}

    # Every static split measured by the static search, with its numbers.
    with open(os.path.join(HERE, "static_search.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mix", "split", "throughput", "inferences_per_j", "jain", "slowest_p95_ms", "workers_rps"])
        for folder, mixes in SOURCES:
            for path in sorted(glob.glob(os.path.join(RAW, folder, "mix*_b1.json"))):
                doc = json.load(open(path))
                if doc["mix"] not in mixes:
                    continue
                for s in doc.get("static_search", []):
                    w.writerow([doc["mix"], "/".join(map(str, s["split"])), f"{s['throughput_rps']:.1f}",
                                f"{s['inferences_per_j']:.4f}", f"{s['jain']:.3f}",
                                f"{s.get('slowest_p95_ms') or 0:.3f}",
                                " ".join(f"{x:.1f}" for x in s["workers_rps"])])

    lines = ["# Batch 1, mean of the repetitions per strategy", "",
             "Throughput (req/s) and inferences/J as ratios to Baseline on the same mix; Jain; slowest p95 (ms).", "",
             "| mix | " + " | ".join(ORDER) + " |", "|---" * (len(ORDER) + 1) + "|"]
    for metric, label in (("throughput", "thr"), ("inferences_per_j", "inf/J")):
        for mix in MIXES:
            b = m.get((mix, "baseline"), {}).get(metric)
            cells = []
            for s in ORDER:
                v = m.get((mix, s), {}).get(metric)
                cells.append(f"{v / b:.2f}x" if v and b else "n/a")
            lines.append(f"| {mix} {label} | " + " | ".join(cells) + " |")
    for metric in ("jain", "slowest_p95_ms"):
        for mix in MIXES:
            cells = [f"{m[(mix, s)][metric]:.3f}" if (mix, s) in m and m[(mix, s)][metric] is not None else "n/a"
                     for s in ORDER]
            lines.append(f"| {mix} {metric} | " + " | ".join(cells) + " |")

    # Targets (issue #14, item 6).
    lines += ["", "# Targets", "", "| mix | tuned / static-best thr | inf/J | tuned / best MPS thr | inf/J | "
              "tuned Jain >= Baseline | tuned slowest p95 <= Baseline |", "|---|---|---|---|---|---|---|"]
    avg = defaultdict(list)
    for mix in MIXES:
        t, sb, b = m.get((mix, "eclip-tuned")), m.get((mix, "static-best")), m.get((mix, "baseline"))
        mps = [m[(mix, s)] for s in ("mps-25", "mps-50") if (mix, s) in m]
        if not (t and sb and b):
            lines.append(f"| {mix} | n/a | n/a | n/a | n/a | n/a | n/a |")
            continue
        best_mps_thr = max(x["throughput"] for x in mps) if mps else None
        best_mps_ipj = max(x["inferences_per_j"] for x in mps) if mps else None
        r = [t["throughput"] / sb["throughput"], t["inferences_per_j"] / sb["inferences_per_j"]]
        r += [t["throughput"] / best_mps_thr if best_mps_thr else None,
              t["inferences_per_j"] / best_mps_ipj if best_mps_ipj else None]
        avg["sb_thr"].append(r[0])
        avg["sb_ipj"].append(r[1])
        avg["base_thr"].append(t["throughput"] / b["throughput"])
        avg["base_ipj"].append(t["inferences_per_j"] / b["inferences_per_j"])
        cell = [f"{x:.3f}" if x else "n/a" for x in r]
        lines.append(f"| {mix} | " + " | ".join(cell) +
                     f" | {'yes' if t['jain'] >= b['jain'] else 'no'} ({t['jain']:.3f} vs {b['jain']:.3f})"
                     f" | {'yes' if t['slowest_p95_ms'] <= b['slowest_p95_ms'] else 'no'}"
                     f" ({t['slowest_p95_ms']:.2f} vs {b['slowest_p95_ms']:.2f} ms) |")
    if avg["sb_thr"]:
        lines += ["", f"Averages over {len(avg['sb_thr'])} mixes: eclip-tuned / static-best throughput "
                      f"{mean(avg['sb_thr']):.3f}x, inferences/J {mean(avg['sb_ipj']):.3f}x; eclip-tuned / Baseline "
                      f"throughput {mean(avg['base_thr']):.3f}x, inferences/J {mean(avg['base_ipj']):.3f}x."]
    # The co-location model (the library's simulation with the fitted H200 preset) against the
    # measured windows of the sweep (fit_model.py --check: model_vs_measured_b1.json).
    mv_path = os.path.join(HERE, "model_vs_measured_b1.json")
    if os.path.exists(mv_path):
        mv = json.load(open(mv_path))
        per = defaultdict(lambda: defaultdict(list))
        for r in mv["rows"]:
            if r["kind"] == "rep" and "measured_ratio" in r:
                per[r["mix"]][r["strategy"]].append((r["measured_ratio"], r["predicted_ratio"]))
        strategies = [s for s in ORDER if not s.startswith("mps")]
        lines += ["", "# Co-location model vs measurement (throughput / Baseline, mean of the repetitions)", "",
                  f"Parameters: {mv['parameters']}. Over all {mv['windows']} sweep windows: mean |ratio error| "
                  f"{mv['ratio_abs_error_mean']:.3f}, max {mv['ratio_abs_error_max']:.3f}, within 10 %: "
                  f"{mv['ratio_within_10pct']:.0%}.", "",
                  "| mix | " + " | ".join(strategies[1:]) + " | same best strategy | same order |",
                  "|---" * len(strategies) + "|---|---|"]
        for mix in MIXES:
            cells, meas, pred = [], {}, {}
            for s in strategies[1:]:
                xs = per[mix].get(s)
                if not xs:
                    cells.append("n/a")
                    continue
                meas[s], pred[s] = mean([a for a, _ in xs]), mean([b for _, b in xs])
                cells.append(f"{meas[s]:.2f} / {pred[s]:.2f} ({pred[s] / meas[s] - 1:+.0%})")
            order_m = sorted(meas, key=meas.get, reverse=True)
            order_p = sorted(pred, key=pred.get, reverse=True)
            lines.append(f"| {mix} | " + " | ".join(cells) +
                         f" | {'yes' if order_m[:1] == order_p[:1] else 'no'} | {'yes' if order_m == order_p else 'no'} |")
        lines.append("")
        lines.append("Cells: measured / predicted ratio to Baseline (relative error).")
    with open(os.path.join(HERE, "tables.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plots")
        return
    for metric, fname, title in (("throughput", "throughput.png", "throughput / Baseline"),
                                 ("inferences_per_j", "inferences_per_joule.png", "inferences per joule / Baseline")):
        fig, ax = plt.subplots(figsize=(12, 4))
        width = 0.8 / len(ORDER)
        for i, s in enumerate(ORDER):
            ys = []
            for mix in MIXES:
                v, b = m.get((mix, s), {}).get(metric), m.get((mix, "baseline"), {}).get(metric)
                ys.append(v / b if v and b else 0)
            ax.bar([x + i * width for x in range(len(MIXES))], ys, width, label=s)
        ax.axhline(1.0, color="k", lw=0.5)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(MIXES))])
        ax.set_xticklabels(MIXES)
        ax.set_title(f"H200, batch 1: {title} (mean of 2 repetitions)")
        ax.legend(ncol=5, fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(HERE, fname), dpi=110)


if __name__ == "__main__":
    main()
