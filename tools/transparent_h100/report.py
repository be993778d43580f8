#!/usr/bin/env python3
"""Tables (and a plot) from one run of tools/transparent_h100/run_h100.sh (issue 9, item 5).

  report.py RUN_DIR [--graph-csv docs/results/h100-colocation-2026-11-25/summary.csv ...] [--png out.png]

colo.jsonl's configurations are "<mix>/<config>" (run_h100.sh's COLO_MIXES), or plain names
for one mix given by --mix (default mix2).

RUN_DIR holds log.txt and colo.jsonl. Prints markdown:
  - launch overhead: launch_loop's host ns per launch per configuration (min of 7 reps per process;
    median over the alternating processes) and eclip's own ns per launch from the ECLIP_STATS line
    of the same processes (in-process, so free of the process-to-process noise);
  - co-location: every configuration per round, and each one's throughput and inferences/J as a
    ratio to the round's Baseline of the same mode (mps-* to mps-baseline, threads-* to
    threads-baseline), mean over rounds;
  - the graph-based harness's ratios for the same mix from the --graph-csv files, side by side.
--png draws the co-location ratios (matplotlib; Debian's python3-matplotlib).
"""
import argparse
import csv
import json
import os
import re
import statistics
import sys


def parse_log(path):
    loops, eclip_ns, stage = {}, {}, None
    for line in open(path):
        m = re.match(r"=== \[\d+s\] (\S+): env", line)
        if m:
            stage = m.group(1)
            continue
        if not stage or not stage.startswith("launch_loop-"):
            continue
        cfg = stage.split("-", 2)[2]
        if line.startswith("LAUNCH_LOOP "):
            loops.setdefault(cfg, []).append(json.loads(line[len("LAUNCH_LOOP "):])["min_ns"])
        m = re.search(r"worker 0: (\d+) launches.*, ([\d.]+) ns in eclip per launch", line)
        if m and int(m.group(1)) > 0:
            eclip_ns.setdefault(cfg, []).append(float(m.group(2)))
    return loops, eclip_ns


def graph_ratios(paths, mix):
    """strategy -> (throughput ratio, inferences/J ratio) for `mix` from report.py's summary.csv."""
    out = {}
    for p in paths:
        rows = {}
        with open(p) as f:
            for r in csv.DictReader(f):
                if r["mix"] == mix:
                    rows[r["strategy"]] = (float(r["throughput_rps"]), float(r["inferences_per_j"]))
        if "baseline" not in rows:
            continue
        b = rows["baseline"]
        for s, (t, e) in rows.items():
            out.setdefault(s, (t / b[0], e / b[1], os.path.relpath(p)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--graph-csv", nargs="*", default=[])
    ap.add_argument("--mix", default="mix2")
    ap.add_argument("--png")
    a = ap.parse_args()

    loops, ens = parse_log(os.path.join(a.run, "log.txt"))
    print("### Host time per launch (launch_loop, %d alternating processes per configuration)\n" %
          max((len(v) for v in loops.values()), default=0))
    print("| configuration | ns per launch (median of processes) | range | vs none | eclip's own ns per launch (in process) |")
    print("|---|---|---|---|---|")
    none = statistics.median(loops["none"]) if "none" in loops else None
    for cfg, v in loops.items():
        med = statistics.median(v)
        own = ("%.0f (%.0f-%.0f)" % (statistics.median(ens[cfg]), min(ens[cfg]), max(ens[cfg]))) if cfg in ens else "-"
        print("| %s | %.0f | %.0f-%.0f | %s | %s |" % (cfg, med, min(v), max(v),
                                                  "%+.0f" % (med - none) if none else "-", own))

    all_rows = [json.loads(l) for l in open(os.path.join(a.run, "colo.jsonl"))]
    mixes = {}
    for r in all_rows:  # configs are "<mix>/<config>" (or plain: --mix)
        mix = r["config"].split("/")[0] if "/" in r["config"] else a.mix
        mixes.setdefault(mix, []).append(r)
    ratios = {}
    for mix, rows in mixes.items():
        by = {}
        for r in rows:
            by.setdefault(r["config"].split("/")[-1], []).append(r)
        print("\n### Co-location, %s (%s) in transparent mode (%s s windows)\n" % (
            mix, ", ".join(rows[0]["models"]), rows[0]["seconds"]))
        print("| configuration | round | req/s | inferences/J | avg W | " +
              " | ".join("%s req/s, p95 ms" % w["model"] for w in rows[0]["workers"]) + " |")
        print("|---|---|---|---|---|" + "---|" * len(rows[0]["workers"]))
        for c, rs in by.items():
            for i, r in enumerate(rs):
                print("| %s | %d | %.0f | %.2f | %.0f | %s |" % (
                    c, i + 1, r["req_per_s"], r["req_per_j"], r["avg_w"],
                    " | ".join("%.1f, %.1f" % (w["req_per_s"], w["p95_ms"]) for w in r["workers"])))
        print("\n#### %s: ratios to the same round's Baseline (mean over rounds, range)\n" % mix)
        print("| configuration | throughput | inferences/J | rounds |")
        print("|---|---|---|---|")
        for c, rs in by.items():
            base = by.get(c.split("-")[0] + "-baseline")
            if not base or c.endswith("-baseline"):
                continue
            t = [r["req_per_s"] / b["req_per_s"] for r, b in zip(rs, base)]
            e = [r["req_per_j"] / b["req_per_j"] for r, b in zip(rs, base)]
            ratios[(mix, c)] = (statistics.mean(t), statistics.mean(e), t, e)
            print("| %s | %.3f (%.2f-%.2f) | %.3f (%.2f-%.2f) | %d |" % (
                c, statistics.mean(t), min(t), max(t), statistics.mean(e), min(e), max(e), len(t)))
        g = graph_ratios(a.graph_csv, mix)
        if g:
            print("\n#### %s: the graph-based harness (issue 8; CUDA graphs, one process)\n" % mix)
            print("| strategy | throughput | inferences/J | source |")
            print("|---|---|---|---|")
            for s_, (t, e, src) in g.items():
                print("| %s | %.3f | %.3f | %s |" % (s_, t, e, src))
    if a.png and ratios:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        keys = list(ratios)
        names = ["%s\n%s" % k if len(mixes) > 1 else k[1] for k in keys]
        ratios = {n: ratios[k] for n, k in zip(names, keys)}
        fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(names)), 3.8))
        x = range(len(names))
        ax.bar([i - 0.2 for i in x], [ratios[n][0] for n in names], 0.4, label="throughput")
        ax.bar([i + 0.2 for i in x], [ratios[n][1] for n in names], 0.4, label="inferences/J")
        for i, n in enumerate(names):
            ax.plot([i - 0.2] * len(ratios[n][2]), ratios[n][2], "k.", ms=4)
            ax.plot([i + 0.2] * len(ratios[n][3]), ratios[n][3], "k.", ms=4)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=15, fontsize=8)
        ax.set_ylabel("ratio to the round's Baseline")
        ax.set_title("Transparent mode on the H100, %s (bars: mean; dots: rounds)" % ", ".join(mixes))
        ax.legend()
        fig.tight_layout()
        fig.savefig(a.png, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
