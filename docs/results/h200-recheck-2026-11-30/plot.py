#!/usr/bin/env python3
"""Plots raw/summary.csv (one mix through the eclip package on the H200): throughput and
inferences/J per strategy, each repetition a dot, as ratios to Baseline's mean. Writes mix1.png."""
import csv
import pathlib
import statistics

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

here = pathlib.Path(__file__).parent
rows = list(csv.DictReader(open(here / "raw" / "summary.csv")))
strategies = list(dict.fromkeys(r["strategy"] for r in rows))
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
for ax, col, label in ((axes[0], "throughput_rps", "throughput / Baseline"),
                       (axes[1], "inferences_per_j", "inferences per J / Baseline")):
    base = statistics.mean(float(r[col]) for r in rows if r["strategy"] == "baseline")
    for i, s in enumerate(strategies):
        ys = [float(r[col]) / base for r in rows if r["strategy"] == s]
        ax.bar(i, statistics.mean(ys), color="#9ab")
        ax.plot([i] * len(ys), ys, "k.")
        ax.text(i, statistics.mean(ys) + 0.03, f"{statistics.mean(ys):.2f}x", ha="center")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(range(len(strategies)), strategies)
    ax.set_ylabel(label)
    ax.set_ylim(0, 1.95)
fig.suptitle("mix1 (albert, densenet201, alexnet, resnext101) batch 1, NVIDIA H200, 2 reps")
fig.tight_layout()
fig.savefig(here / "mix1.png", dpi=110)
print("wrote", here / "mix1.png")
