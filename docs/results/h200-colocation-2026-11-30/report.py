#!/usr/bin/env python3
"""Builds this report's summary.csv, static_search.csv, tables.md and plots from raw/.

  python3 report.py        (from this folder; matplotlib for the plots)

summary.csv: one row per (mix, batch, strategy, rep) of the final run (FINAL: the library after the
simulator's sharing fix; its batch-8 rows of the strategies it did not re-measure and its MPS rows
from the 850e555 run, FINAL_850, whose own rows are summary_850e555.csv); summary_first.csv the first
run's (SOURCES and their MPS rows); summary_current.csv, summary_energy.csv and summary_4b1800c.csv the later runs on one
library each. tables.md, per batch: per mix the mean over repetitions of each strategy, as ratios to
Baseline, to static-best and to the better MPS setting, the issue's targets (and, for the first run,
the model's error); then the batch-1 follow-up run (followup_b1.csv). Plots per batch."""
import csv
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools", "h200_colocation"))
from runs import read_json, run_files, stored  # noqa: E402 - each mix's record, kept gzip-compressed in raw/

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = os.path.join(HERE, "raw")
# The first run: (raw folder, batch, the mixes taken from it, whether its MPS rows are taken). Batch 1: mixes 1-4,
# 5-6 (+ MPS) and 7 again (the second call's mix 7 stopped on an error); batch 8: two calls.
SOURCES = [("sweep_mix1-4", 1, {"mix1", "mix2", "mix3", "mix4"}, False),
           ("sweep_mix5-6_mps", 1, {"mix5", "mix6"}, True),
           ("sweep_mix7", 1, {"mix7"}, False),
           ("sweep_b8_mix1-4", 8, {"mix1", "mix2", "mix3", "mix4"}, False),
           ("sweep_b8_mix5-7_mps", 8, {"mix5", "mix6", "mix7"}, True)]
# The batch-1 follow-up (a later run, its own Baseline and static-best): the tuner with p95 limits
# and the energy objective on the mixes whose targets the first run missed.
FOLLOWUP = "followup_b1"
ORDER = ["baseline", "static-equal", "static-best", "static-best-slo", "mps-25", "mps-50", "kernel-wise", "eclip-budget", "eclip",
         "eclip-tuned"]
FIRST_ORDER = [s for s in ORDER if s != "static-best-slo"]  # the runs before static-best-slo existed
FOLLOWUP_ORDER = ["baseline", "static-equal", "static-best", "eclip", "eclip-tuned", "eclip-tuned-energy"]
MIXES = [f"mix{i}" for i in range(1, 8)]
METRICS = ("throughput", "inferences_per_j", "jain", "slowest_p95_ms")


def read_summary(folder):
    path = os.path.join(RAW, folder, "summary.csv")
    if not os.path.exists(path):
        print(f"{path}: missing, skipped")
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def rows():
    out = []
    for folder, batch, mixes, with_mps in SOURCES:
        for r in read_summary(folder):
            mps = r["strategy"].startswith("mps-")
            if int(r["batch"]) == batch and ((mps and with_mps) or (not mps and r["mix"] in mixes)):
                out.append(r)
    return out


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def means(data):
    """{(batch, mix, strategy): {metric: mean over the repetitions}}"""
    agg = defaultdict(lambda: defaultdict(list))
    for r in data:
        for k in METRICS:
            agg[(int(r["batch"]), r["mix"], r["strategy"])][k].append(float(r[k]) if r[k] else None)
    return {key: {k: mean(v) for k, v in d.items()} for key, d in agg.items()}


def ratio_tables(m, batch, order):
    lines = [f"# Batch {batch}, mean of the repetitions per strategy", "",
             "Throughput (req/s) and inferences/J as ratios to Baseline on the same mix; Jain; slowest p95 (ms).", "",
             "| mix | " + " | ".join(order) + " |", "|---" * (len(order) + 1) + "|"]
    for metric, label in (("throughput", "thr"), ("inferences_per_j", "inf/J")):
        for mix in MIXES:
            b = m.get((batch, mix, "baseline"), {}).get(metric)
            cells = []
            for s in order:
                v = m.get((batch, mix, s), {}).get(metric)
                cells.append(f"{v / b:.2f}x" if v and b else "n/a")
            lines.append(f"| {mix} {label} | " + " | ".join(cells) + " |")
    for metric in ("jain", "slowest_p95_ms"):
        for mix in MIXES:
            cells = [f"{m[(batch, mix, s)][metric]:.3f}" if (batch, mix, s) in m and m[(batch, mix, s)][metric]
                     is not None else "n/a" for s in order]
            lines.append(f"| {mix} {metric} | " + " | ".join(cells) + " |")
    return lines


def verdict(a, b):
    """a >= b: "yes"; within 2 % of b (the issue's tie, the tuner's noise band): "tie"; else "no"."""
    return "yes" if a >= b else ("tie" if a >= b * 0.98 else "no")


def target_table(m, batch, tuned="eclip-tuned"):
    """Issue #14 item 6 for `tuned` against the same batch's static-best, best MPS and Baseline."""
    slo = any((batch, mix, "static-best-slo") in m for mix in MIXES)
    lines = ["", f"# Targets, batch {batch} ({tuned})", "",
             f"| mix | {tuned} / static-best thr | inf/J | / best MPS thr | inf/J | " +
             ("/ static-best-slo thr | inf/J | " if slo else "") + "Jain >= Baseline | slowest p95 <= Baseline |",
             "|---|---|---|---|---|" + ("---|---|" if slo else "") + "---|---|"]
    avg = defaultdict(list)
    for mix in MIXES:
        t, sb, b = m.get((batch, mix, tuned)), m.get((batch, mix, "static-best")), m.get((batch, mix, "baseline"))
        mps = [m[(batch, mix, s)] for s in ("mps-25", "mps-50") if (batch, mix, s) in m]
        if not (t and sb and b):
            lines.append(f"| {mix} |" + " n/a |" * (8 if slo else 6))
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
        if slo:
            sl = m.get((batch, mix, "static-best-slo"))
            r += [t["throughput"] / sl["throughput"], t["inferences_per_j"] / sl["inferences_per_j"]] if sl else [None] * 2
        cell = [f"{x:.3f}" if x else "n/a" for x in r]
        lines.append(f"| {mix} | " + " | ".join(cell) +
                     f" | {verdict(t['jain'], b['jain'])} ({t['jain']:.3f} vs {b['jain']:.3f})"
                     f" | {verdict(b['slowest_p95_ms'], t['slowest_p95_ms'])}"
                     f" ({t['slowest_p95_ms']:.2f} vs {b['slowest_p95_ms']:.2f} ms) |")
    if avg["sb_thr"]:
        lines += ["", f"Averages over {len(avg['sb_thr'])} mixes: {tuned} / static-best throughput "
                      f"{mean(avg['sb_thr']):.3f}x, inferences/J {mean(avg['sb_ipj']):.3f}x; {tuned} / Baseline "
                      f"throughput {mean(avg['base_thr']):.3f}x, inferences/J {mean(avg['base_ipj']):.3f}x."]
    return lines


def model_table(batch):
    """The co-location model (the library's simulation with the fitted H200 preset) against the
    measured sweep windows (fit_model.py --check: model_vs_measured_b<batch>.json)."""
    mv_path = os.path.join(HERE, f"model_vs_measured_b{batch}.json")
    if not os.path.exists(mv_path):
        return []
    mv = json.load(open(mv_path))
    per = defaultdict(lambda: defaultdict(list))
    for r in mv["rows"]:
        if r["kind"] == "rep" and "measured_ratio" in r:
            per[r["mix"]][r["strategy"]].append((r["measured_ratio"], r["predicted_ratio"]))
    strategies = [s for s in FIRST_ORDER if not s.startswith("mps")]
    lines = ["", f"# Co-location model vs measurement, batch {batch} (throughput / Baseline, mean of the "
                 "repetitions)", "",
             f"Parameters: {mv['parameters']} (fitted at batch {mv.get('fit_batch', 1)}). Over all {mv['windows']} "
             f"sweep windows: mean |ratio error| {mv['ratio_abs_error_mean']:.3f}, max "
             f"{mv['ratio_abs_error_max']:.3f}, within 10 %: {mv['ratio_within_10pct']:.0%}.", "",
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
    lines += ["", "Cells: measured / predicted ratio to Baseline (relative error)."]
    return lines


def static_search_rows(sources):
    """Every split a static search measured: (folder, batch, mixes) per source."""
    out = []
    for folder, batch, mixes in sources:
        for path in run_files(os.path.join(RAW, folder), f"mix*_b{batch}.json"):
            doc = read_json(path)
            if doc["mix"] not in mixes:
                continue
            for s in doc.get("static_search", []):
                out.append([doc["mix"], batch, s.get("search", "static-best"), "/".join(map(str, s["split"])),
                            f"{s['throughput_rps']:.1f}", f"{s['inferences_per_j']:.4f}", f"{s['jain']:.3f}",
                            f"{s.get('slowest_p95_ms') or 0:.3f}", " ".join(f"{x:.1f}" for x in s["workers_rps"])])
    return out


def followup_lines():
    # The run's summary.csv also holds the batch-8 rows of the calls before it (one results folder
    # on the device): only its batch-1 rows are the follow-up.
    data = [r for r in read_summary(FOLLOWUP) if r["batch"] == "1"]
    if not data:
        return [], []
    m = means(data)
    mixes = [x for x in MIXES if (1, x, "baseline") in m]
    lines = ["", "# Batch-1 follow-up run (mixes the first run missed a target on; its own Baseline and "
                 "static-best)", "",
             "eclip-tuned: objective throughput, every worker's p95 within Baseline's slowest p95 (+2 %); "
             "eclip-tuned-energy: objective inferences/J, same limits. Ratios to this run's static-best; "
             "Jain and slowest p95 (ms) as measured.", "",
             "| mix | strategy | thr / static-best | inf/J / static-best | thr / Baseline | inf/J / Baseline | Jain | "
             "slowest p95 |", "|---|---|---|---|---|---|---|---|"]
    for mix in mixes:
        sb, b = m.get((1, mix, "static-best")), m[(1, mix, "baseline")]
        for s in FOLLOWUP_ORDER:
            v = m.get((1, mix, s))
            if not v:
                continue
            f = (lambda k, ref: f"{v[k] / ref[k]:.3f}" if ref and v[k] and ref[k] else "n/a")
            lines.append(f"| {mix} | {s} | {f('throughput', sb)} | {f('inferences_per_j', sb)} | "
                         f"{f('throughput', b)} | {f('inferences_per_j', b)} | {v['jain']:.3f} | "
                         f"{v['slowest_p95_ms']:.2f} |")
    return data, lines


# Later runs of a few mixes, each with its own Baseline, static-best (the earlier search's best
# split, measured again: sweep.py --static-best) and, where run, MPS: (title, raw folder, batch).
RERUNS = [("Batch 8, constraint-aware search (13:27 UTC, commit e17fad7)", "rerun2_b8", 8),
          ("Batch 8, constraint-aware search and the unconfine move (13:35 UTC, commit 9eec06f)", "rerun3_b8", 8),
          ("Batch 1, constraint-aware search and the unconfine move (13:36 UTC, commit 9eec06f)", "rerun3_b1", 1),
          ("Batch 1, with the idle-group move too (13:59 UTC, commit dd8b3e1)", "rerun4_b1", 1),
          ("Batch 1, with the idle-group move too (14:02 UTC, commit dd8b3e1)", "rerun4_b1_mix45", 1),
          ("Batch 8, the review-mended library (14:30 UTC, commit d964752)", "rerun5_b8_mix5", 8),
          ("Batch 1, the fourth session's final library (16:09 UTC, commit 9f3a7d6)", "rerun6a_b1", 1),
          ("Batch 8, the fourth session's final library (16:13 UTC, commit 9f3a7d6)", "rerun6b_b8", 8),
          ("Batch 1, the fourth session's final library (16:18 UTC, commit 9f3a7d6)", "rerun6c", 1),
          ("Batch 8, the fourth session's final library (16:23 UTC, commit 9f3a7d6)", "rerun6c", 8),
          ("Batch 8, the model's three best plans as tuner starts (16:33 UTC, commit d6aa083 + 14ac1a2)",
           "rerun7_starts3", 8),
          ("Batch 1, the model's three best plans as tuner starts (16:36 UTC, commit d6aa083 + 14ac1a2)",
           "rerun7_starts3", 1),
          ("Batch 8, the model's best plan as the tuner's space spells it (16:40 UTC, as 1bda6ec)",
           "rerun8_start1", 8),
          ("Batch 1, the search sees the p95 limits (18:50 UTC, commit b04b031)", "rerun9_b1", 1),
          ("Batch 8, the search sees the p95 limits (18:57 UTC, commit b04b031)", "rerun9_b8", 8),
          ("Batch 8, the search sees the p95 limits (19:02 UTC, commit b04b031)", "rerun9_b8b", 8)]
RERUN_ORDER = ["baseline", "static-best", "mps-25", "mps-50", "eclip-tuned", "eclip-tuned-energy"]


def rerun_lines():
    """Per rerun: each strategy's mean over its repetitions as ratios to that run's static-best,
    the better MPS setting (by the same metric) and Baseline; Jain and slowest p95 as measured."""
    lines = []
    for title, folder, batch in RERUNS:
        m = means([r for r in read_summary(folder) if int(r["batch"]) == batch])
        mixes = [x for x in MIXES if (batch, x, "baseline") in m]
        lines += ["", f"# {title}: raw/{folder}", "",
                  "| mix | strategy | thr / static-best | inf/J / static-best | thr / better MPS | inf/J / better MPS | "
                  "thr / Baseline | inf/J / Baseline | Jain | slowest p95 ms |", "|---|---|---|---|---|---|---|---|---|---|"]
        for mix in mixes:
            sb, b = m.get((batch, mix, "static-best")), m[(batch, mix, "baseline")]
            mps = [m[k] for k in ((batch, mix, "mps-25"), (batch, mix, "mps-50")) if k in m]
            best_mps = {k: max(x[k] for x in mps) for k in METRICS} if mps else None
            for s in RERUN_ORDER:
                v = m.get((batch, mix, s))
                if not v:
                    continue
                f = (lambda k, ref: f"{v[k] / ref[k]:.3f}" if ref and v[k] and ref[k] else "n/a")
                lines.append(f"| {mix} | {s} | {f('throughput', sb)} | {f('inferences_per_j', sb)} | "
                             f"{f('throughput', best_mps)} | {f('inferences_per_j', best_mps)} | "
                             f"{f('throughput', b)} | {f('inferences_per_j', b)} | {v['jain']:.3f} | "
                             f"{v['slowest_p95_ms']:.2f} |")
    return lines


# Every mix on one library (b04b031: the model's start and the search's repair see the p95
# limits): (raw folder, batch, mixes, which rows: "sweep" Baseline, static-best and eclip-tuned,
# "mps" the MPS rows). MPS was not run again with b04b031: its rows come from the runs of
# 9f3a7d6 (rerun6a_b1, rerun6c, rerun6b_b8), the first batch-8 run (mixes 2 and 6) and
# rerun5_b8_mix5, each beside another Baseline of the same models on the same GPU.
CURRENT_LIBRARY = "b04b031"
CURRENT = [("rerun9_b1", 1, set(MIXES), "sweep"),
           ("rerun9_b8", 8, {"mix1", "mix4", "mix6", "mix7"}, "sweep"),
           ("rerun9_b8b", 8, {"mix2", "mix3", "mix5"}, "sweep"),
           ("rerun6a_b1", 1, {"mix1", "mix2", "mix7"}, "mps"),
           ("rerun6c", 1, {"mix3", "mix4", "mix5", "mix6"}, "mps"),
           ("rerun6b_b8", 8, {"mix1", "mix3", "mix4", "mix7"}, "mps"),
           ("sweep_b8_mix5-7_mps", 8, {"mix2", "mix6"}, "mps"),
           ("rerun5_b8_mix5", 8, {"mix5"}, "mps")]


# Profiles with each group's measured energy (3ff1519): the energy objective's tuner on every
# batch-1 mix but mix2, in two calls of one device session; MPS re-run on this library in the first.
ENERGY_LIBRARY = "3ff1519"
ENERGY = [("rerun10_energy_b1/call1/sweep", 1, {"mix3"}, "sweep"),
          ("rerun10_energy_b1/call2/sweep", 1, {"mix1", "mix4", "mix5", "mix6", "mix7"}, "sweep"),
          ("rerun10_energy_b1/call1/sweep", 1, set(MIXES), "mps")]


# The tuner starting from the model's plans under both throughput and energy (4b1800c), every
# batch-1 mix in two calls of the same session as ENERGY, whose MPS rows it is compared with.
BOTH_STARTS_LIBRARY = "4b1800c"
BOTH_STARTS = [("rerun11_b1/call1/sweep", 1, {"mix1", "mix3", "mix4", "mix5", "mix7"}, "sweep"),
               ("rerun11_b1/call2/sweep", 1, {"mix2", "mix6"}, "sweep"),
               ("rerun10_energy_b1/call1/sweep", 1, set(MIXES), "mps")]


# The previous final run (850e555, the library of 4b1800c): every strategy at both batches, every
# mix, two repetitions, in four calls of one device session (mixes 1-4, then 5-7 and MPS, per batch).
FINAL_850_LIBRARY = "850e555"
FINAL_850 = [(f"final_{FINAL_850_LIBRARY}/b{b}_call1/sweep", b, {"mix1", "mix2", "mix3", "mix4"}, "sweep") for b in (1, 8)]
FINAL_850 += [(f"final_{FINAL_850_LIBRARY}/b{b}_call2/sweep", b, {"mix5", "mix6", "mix7"}, "sweep") for b in (1, 8)]
FINAL_850 += [(f"final_{FINAL_850_LIBRARY}/b{b}_call2/sweep", b, set(MIXES), "mps") for b in (1, 8)]

# The final run (50224fd: the library after the simulator's sharing fix, which the tuner's model
# starts and ranking use), five calls of one device session. Batch 1: every strategy, every mix,
# MPS; mix6 twice (b1_call2 with static-best-slo's search, whose repetitions the call's time limit
# cut after static-best; b1_call3, the session's fifth call (8a3dd6b: the same library), measured
# Baseline, static-best, static-best-slo and eclip-tuned again). Batch 8: Baseline, static-best and eclip-tuned on every
# mix and every strategy on mix6; the strategies not re-measured (static-equal, kernel-wise,
# eclip-budget, eclip on the other mixes, MPS) are the 850e555 run's, 2 hours earlier.
FINAL_LIBRARY = "50224fd"
F = f"final_{FINAL_LIBRARY}"
TUNED_AND_REFERENCES = {"baseline", "static-best", "static-best-slo", "eclip-tuned"}
OTHER_STRATEGIES = {"static-equal", "kernel-wise", "eclip-budget", "eclip"}  # not re-measured at batch 8
FINAL = [(f"{F}/b1_call1/sweep", 1, {"mix1", "mix2", "mix3", "mix4"}, "sweep"),
         (f"{F}/b1_call2/sweep", 1, {"mix5", "mix7"}, "sweep"),
         (f"{F}/b1_call2/sweep", 1, {"mix6"}, "sweep", OTHER_STRATEGIES),
         (f"{F}/b1_call3/sweep", 1, {"mix6"}, "sweep", TUNED_AND_REFERENCES),
         (f"{F}/b1_call2/sweep", 1, set(MIXES), "mps"),
         (f"{F}/b8_call1/sweep", 8, {"mix2", "mix4", "mix5", "mix6"}, "sweep"),
         (f"{F}/b8_call2/sweep", 8, {"mix1", "mix3", "mix7"}, "sweep"),
         (f"final_{FINAL_850_LIBRARY}/b8_call1/sweep", 8, {"mix1", "mix2", "mix3", "mix4"}, "sweep", OTHER_STRATEGIES),
         (f"final_{FINAL_850_LIBRARY}/b8_call2/sweep", 8, {"mix5", "mix7"}, "sweep", OTHER_STRATEGIES),
         (f"final_{FINAL_850_LIBRARY}/b8_call2/sweep", 8, set(MIXES), "mps")]


# Every strategy again at batch 1 with 32 hardware queues per context (tenth session, 2026-12-01
# 04:03-04:24 UTC): the library and sweep of 3784454, run_h200.sh exporting
# CUDA_DEVICE_MAX_CONNECTIONS=32 (every earlier run had the driver's 8); static-best and mix6's
# static-best-slo given as the final run's searches found them; MPS (one stream per process, no
# routed streams) is the final run's.
QUEUES_LIBRARY = "3784454"
Q = f"queues_{QUEUES_LIBRARY}"
QUEUES = [(f"{Q}/b1_call3/sweep", 1, {"mix1", "mix2", "mix3", "mix4"}, "sweep"),
          (f"{Q}/b1_call4/sweep", 1, {"mix5", "mix6", "mix7"}, "sweep"),
          (f"{F}/b1_call2/sweep", 1, set(MIXES), "mps")]


# The tuner's starts from the model's best static splits (eleventh session, 2026-12-01 05:41-06:05
# UTC device clock): library and sweep of 268712c, CUDA_DEVICE_MAX_CONNECTIONS left unset
# (run_h200.sh QUEUES=library: the library's own setting of 32 is what ran); eclip-tuned (the new
# default picks) and eclip-tuned-plan-starts (the picks before, the model's best plans under both
# objectives) tuned in the same process, one after the other, in alternating order, each from
# Baseline with no cached setups; static-best and static-best-slo given as earlier searches found
# them (static-best-slo: the 28-split searches of the final run, mix6, and of 3784454, mix5). MPS
# (one stream per process) from the final run: batch 1 50224fd, batch 8 850e555.
STARTS_LIBRARY = "268712c"
ST = f"starts_{STARTS_LIBRARY}"
STARTS = [(f"{ST}/b1_call1/sweep", 1, {"mix1", "mix2", "mix3"}, "sweep"),
          (f"{ST}/b1_call2/sweep", 1, {"mix5", "mix6"}, "sweep"),
          (f"{ST}/b1_call3/sweep", 1, {"mix4", "mix7"}, "sweep"),
          (f"{ST}/b8_call4/sweep", 8, set(MIXES), "sweep"),
          (f"{F}/b1_call2/sweep", 1, set(MIXES), "mps"),
          (f"final_{FINAL_850_LIBRARY}/b8_call2/sweep", 8, set(MIXES), "mps")]
# The search's pick (27dcce0: within the noise band of the best value, the most inferences/J),
# 06:12-06:14 UTC the same day, mixes 1 and 4 at batch 1, where the starts run's searches had
# measured such a plan without picking it; 32 queues as above.
PICK_LIBRARY = "27dcce0"
PICK = [(f"pick_{PICK_LIBRARY}/b1_call5/sweep", 1, {"mix1", "mix4"}, "sweep"),
        (f"{F}/b1_call2/sweep", 1, {"mix1", "mix4"}, "mps")]
STARTS_ORDER = ["baseline", "kernel-wise", "static-best", "static-best-slo", "mps-25", "mps-50",
                "eclip-tuned-plan-starts", "eclip-tuned"]
# Twelfth session (2026-12-01 07:27-07:47 UTC, device clock): the library of a56f3b1 (the starts and
# the pick; staged as 5c82611 and 3162fd1, which add tools/h200_colocation/setup_cost.py only), every
# mix at batch 1 in two calls (mixes 5-7 with the A/B of the starts), then the A/B on mixes 1-3 in a
# third (its mix4 cut by the call's time limit). 32 queues set by the library; MPS from the final run.
HEAD_LIBRARY = "5c82611"
HD = f"head_{HEAD_LIBRARY}"
HEAD = [(f"{HD}/b1_call1/sweep", 1, {"mix1", "mix2", "mix3", "mix4"}, "sweep"),
        (f"{HD}/b1_call2/sweep", 1, {"mix5", "mix6", "mix7"}, "sweep"),
        (f"{F}/b1_call2/sweep", 1, set(MIXES), "mps")]
HEAD_AB = [(f"{HD}/ab_call3/sweep", 1, {"mix1", "mix2", "mix3"}, "sweep"),
           (f"{HD}/b1_call2/sweep", 1, {"mix5", "mix6", "mix7"}, "sweep")]
# Capture streams and threads per partition (1c60931), 07:56-08:02 UTC: mixes 1 and 4, then 2 and 5.
CAPTURE_LIBRARY = "1c60931"
CP = f"capture_{CAPTURE_LIBRARY}"
CAPTURE = [(f"{CP}/call4/sweep", 1, {"mix1", "mix4"}, "sweep"), (f"{CP}/call6/sweep", 1, {"mix2", "mix5"}, "sweep"),
           (f"{F}/b1_call2/sweep", 1, {"mix1", "mix2", "mix4", "mix5"}, "mps")]
SETUP_COST = [("before (a56f3b1)", f"{HD}/ab_call3/setup_cost_cycles_mix1_b1.json"),
              (f"after ({CAPTURE_LIBRARY})", f"{CP}/call4/setup_cost_cycles_mix1_b1.json")]


# Fourteenth session (2026-12-02 01:27-01:51 UTC, device clock): the library of e2e82f5 (Turns, the
# capture's wait for a worker's request in flight, 2d318ca; the pick measured again, e2e82f5) at
# both batches, every mix, Baseline, static-best (the first run's searches' best splits) and
# eclip-tuned, two repetitions (call 1: batch 8, with the GPU tests and setups while the workers
# run; call 2: batch 1); then 08cb816 (the tuner's floor and p95 limit the mean of three Baseline
# windows) on batch-8 mixes 6, 4, 2 and batch-1 mixes 6, 3 (call 3). 32 queues set by the library;
# MPS from the final run (batch 1 50224fd, batch 8 850e555).
CONFIRM_LIBRARY = "e2e82f5"
CF = f"confirm_{CONFIRM_LIBRARY}"
CONFIRM = [(f"{CF}/call1/sweep", 8, set(MIXES), "sweep"), (f"{CF}/call2/sweep", 1, set(MIXES), "sweep"),
           (f"{F}/b1_call2/sweep", 1, set(MIXES), "mps"), (f"final_{FINAL_850_LIBRARY}/b8_call2/sweep", 8, set(MIXES), "mps")]
REFERENCE_LIBRARY = "08cb816"
REFERENCE = [(f"{CF}/call3_{REFERENCE_LIBRARY}/sweep", 8, {"mix2", "mix4", "mix6"}, "sweep"),
             (f"{CF}/call3_{REFERENCE_LIBRARY}/sweep", 1, {"mix3", "mix6"}, "sweep")]
# 3892d0f (after the pick is measured again, another plan takes over only past the noise band):
# batch-1 mixes 5 and 2, 02:02-02:05 UTC (call 4).
BAND_LIBRARY = "3892d0f"
BAND = [(f"{CF}/call4_{BAND_LIBRARY}/sweep", 1, {"mix2", "mix5"}, "sweep")]
# Fifteenth session (2026-12-02 05:32-05:57 UTC, device clock): aadb2ea (the search expands a near
# miss, a plan better than the incumbent that breaks the constraints by at most twice the noise
# band, before it stops) at both batches, every mix, Baseline, static-best, eclip-tuned and MPS
# 25/50 %, two repetitions, all in one run (call 1: batch 8, whose MPS failed with 32 queues per
# client; call 2: batch 1 and its MPS; call 3: batch 8's MPS at 8 queues per client, the GPU tests).
NEAR_MISS_LIBRARY = "aadb2ea"
NM = f"near_miss_{NEAR_MISS_LIBRARY}"
NEAR_MISS = [(f"{NM}/call1/sweep", 8, set(MIXES), "sweep"), (f"{NM}/call2/sweep", 1, set(MIXES), "sweep"),
             (f"{NM}/call2/sweep", 1, set(MIXES), "mps"), (f"{NM}/call3/sweep", 8, set(MIXES), "mps")]
# Call 4 (06:16-06:19 UTC): batch-8 mixes 6 and 4 again with 2-s windows (about 130 albert requests
# per window, 52 at 0.8 s), the rest as call 1.
WINDOW2 = [(f"{NM}/call4/sweep", 8, {"mix4", "mix6"}, "sweep")]


def confirm_lines():
    """Each tuning's pick measured again (e2e82f5, 08cb816): its first window and the second, the
    p95 limit it was held to, and what was kept."""
    lines = ["", f"# The pick measured again ({CONFIRM_LIBRARY}; {REFERENCE_LIBRARY}: floor and limit the mean of three "
                 f"Baseline windows; {BAND_LIBRARY}: another plan takes over only past the noise band; {NEAR_MISS_LIBRARY}: near misses expanded)", "",
             "| library | batch | mix | p95 limit ms | plan measured again | req/s first, again | slowest p95 ms first, "
             "again | kept | tuning wall s |", "|---|---|---|---|---|---|---|---|---|"]
    for library, sources in ((CONFIRM_LIBRARY, CONFIRM), (REFERENCE_LIBRARY, REFERENCE), (BAND_LIBRARY, BAND),
                             (NEAR_MISS_LIBRARY, NEAR_MISS), (f"{NEAR_MISS_LIBRARY}, 2-s windows", WINDOW2)):
        for folder, batch, mixes, which, *_ in sources:
            if which != "sweep":
                continue
            for mix in sorted(mixes):
                t = read_json(os.path.join(RAW, folder, f"{mix}_b{batch}.json"))["tune"]
                for again in (x for x in t["trials"] if "repeats" in x):
                    first = t["trials"][again["repeats"]]
                    a, b = first["evaluation"], again["evaluation"]
                    lines.append(f"| {library} | {batch} | {mix} | {t['objective']['p95_limit_ms'][0]:.2f} | "
                                 f"{first['candidate']['label']} | {a['total_rps']:.0f}, {b['total_rps']:.0f} | "
                                 f"{max(a['p95_ms']):.2f}, {max(b['p95_ms']):.2f} | {t['best']['label']} | "
                                 f"{t['wall_s']:.0f} |")
    doc = json.load(open(os.path.join(RAW, CF, "call1", "setup_cost_running_mix1_b8.json")))
    lines += ["", f"Plans set up while the workers serve ({CONFIRM_LIBRARY}, setup_cost.py --running, mix1, batch 8; "
                  "waits: the setup's time spent waiting for each worker's request in flight):", "",
              "| split | setup s | captures s | waits s | requests served by then |", "|---|---|---|---|---|"]
    for x in doc["setups"]:
        lines.append(f"| {x['split']} | {x['setup_s']:.3f} | {x['captures_s']:.3f} | {x['waits_s']:.3f} | "
                     f"{' / '.join(map(str, x['served']))} |")
    return lines


def setup_cost_lines():
    """What setting a plan up again and again costs and leaves held, before and after the capture
    threads and streams were kept per partition (setup_cost.py --cycles 5, mix1 batch 1), and what
    that did to the tuner's trials."""
    lines = ["", "# Setting plans up again and again (setup_cost.py, mix1, batch 1, six splits x 5 cycles, cache=1)", "",
             "| library | cycle | setup s (mean) | new capture threads | allocated MiB after | reserved MiB | threads |",
             "|---|---|---|---|---|---|---|"]
    for name, path in SETUP_COST:
        doc = json.load(open(os.path.join(RAW, path)))
        n = len(doc["setups"]) // 5
        for c in range(5):
            cyc = doc["setups"][c * n:(c + 1) * n]
            last = cyc[-1]
            new = sum(sum(e["new_thread"] for e in s["captures"]) for s in cyc)
            lines.append(f"| {name} | {c + 1} | {mean([s['setup_s'] for s in cyc]):.3f} | {new} | "
                         f"{last['allocated_mib']:.0f} | {last['reserved_mib']:.0f} | {last['threads']} |")
    lines += ["", "The tuner's trials (eclip-tuned, batch 1; interval: mean seconds between trials; capture: median "
                  "seconds a trial's plan took to set up):", "",
              "| library | mix | trials | interval s | capture s | wall s | stop |", "|---|---|---|---|---|---|---|"]
    for name, sources in ((f"a56f3b1 ({HEAD_LIBRARY})", HEAD), (CAPTURE_LIBRARY, CAPTURE)):
        for folder, batch, mixes, which, *_ in sources:
            if which != "sweep":
                continue
            for mix in sorted(mixes):
                t = read_json(os.path.join(RAW, folder, f"{mix}_b{batch}.json"))["tune"]
                at = [x["at_s"] for x in t["trials"]]
                caps = sorted(x["capture_s"] for x in t["measurements"])
                lines.append(f"| {name} | {mix} | {len(at)} | {mean([b - a for a, b in zip(at, at[1:])]):.2f} | "
                             f"{caps[len(caps) // 2]:.3f} | {t['wall_s']:.0f} | {t['stop_reason']} |")
    return lines


def starts_lines(sources=STARTS, library=STARTS_LIBRARY):
    """The A/B of the tuner's starts (eclip-tuned vs eclip-tuned-plan-starts, same run) and what
    each model pick measured when the search started from it."""
    data = run_rows(sources, ())
    m = means(data)
    lines = ["", f"# The tuner's starts, A/B in one run ({library}, batch 1)", "",
             "| mix | eclip-tuned / eclip-tuned-plan-starts thr | inf/J | eclip-tuned plan | plan-starts plan |",
             "|---|---|---|---|---|"]
    ratios = defaultdict(list)
    for mix in MIXES:
        a, b = m.get((1, mix, "eclip-tuned")), m.get((1, mix, "eclip-tuned-plan-starts"))
        if not (a and b):
            continue
        folder = next(f for f, batch, mixes, which, *_ in sources if batch == 1 and mix in mixes and which == "sweep")
        doc = read_json(os.path.join(RAW, folder, f"{mix}_b1.json"))
        ratios["thr"].append(a["throughput"] / b["throughput"])
        ratios["ipj"].append(a["inferences_per_j"] / b["inferences_per_j"])
        lines.append(f"| {mix} | {ratios['thr'][-1]:.3f} | {ratios['ipj'][-1]:.3f} | {doc['tune']['best']['label']} "
                     f"| {doc['tune_plan_starts']['best']['label']} |")
    if ratios["thr"]:
        lines += ["", f"Means over {len(ratios['thr'])} mixes: throughput {mean(ratios['thr']):.3f}x, "
                      f"inferences/J {mean(ratios['ipj']):.3f}x."]
    lines += ["", "Each start as measured in the tuning window (req/s; predicted: the model's number):", "",
              "| batch | mix | search | start | measured | predicted | static-best (same run) | constraints |",
              "|---|---|---|---|---|---|---|---|"]
    for folder, batch, mixes, which, *_ in sources:
        if which != "sweep":
            continue
        for mix in sorted(mixes):
            path = os.path.join(RAW, folder, f"{mix}_b{batch}.json")
            if not stored(path):
                continue
            doc = read_json(path)
            sb = m.get((batch, mix, "static-best"), {}).get("throughput")
            for key, name in (("tune", "eclip-tuned"), ("tune_plan_starts", "plan-starts")):
                for tr in doc.get(key, {}).get("trials", []):
                    if tr["round"] != 0 or tr["candidate"]["label"] in ("shared",) or not tr.get("evaluation"):
                        continue
                    thr = tr["evaluation"]["total_rps"]
                    kept = tr["score"] is not None and tr["score"] > -1e300
                    lines.append(f"| {batch} | {mix} | {name} | {tr['candidate']['label']} | {thr:.0f} | "
                                 f"{tr['predicted']:.0f} | {f'{thr / sb:.3f}x' if sb else 'n/a'} | "
                                 f"{'kept' if kept else tr.get('note', '')} |")
    return lines


# The searches for static-best-slo (the final run's mix6, both batches).
SLO_SEARCHES = [(f"{F}/b1_call2/sweep", 1, {"mix6"}), (f"{F}/b8_call1/sweep", 8, {"mix6"})]


def run_rows(sources, skip):
    """The summary rows of one run: (folder, batch, mixes, "sweep" or "mps"[, the strategies taken
    from it]) per source, strategies in `skip` left out."""
    out = []
    for folder, batch, mixes, which, *only in sources:
        for r in read_summary(folder):
            kind = "mps" if r["strategy"].startswith("mps-") else "sweep"
            if (int(r["batch"]) == batch and r["mix"] in mixes and r["strategy"] not in skip and kind == which
                    and (not only or r["strategy"] in only[0])):
                out.append(r)
    return out


def section_lines(title, data, tuned="eclip-tuned"):
    """One later run's targets: its title, then the target table of each batch it measured."""
    m = means(data)
    lines = ["", f"# {title}", ""]
    for batch in sorted({int(r["batch"]) for r in data}):
        lines += target_table(m, batch, tuned)
    return lines


# The later runs, each on one library: (csv, title, sources, strategies left out, the tuned
# strategy its targets are for, plots' prefix and note[, the strategies plotted: default Baseline,
# static-best, MPS and the tuned one]).
SECTIONS = [
    (f"summary_{NEAR_MISS_LIBRARY}.csv", f"Both batches, MPS in the same run, the search's near misses, {NEAR_MISS_LIBRARY} "
     f"(summary_{NEAR_MISS_LIBRARY}.csv)", NEAR_MISS, (), "eclip-tuned", "near_miss_",
     f"library {NEAR_MISS_LIBRARY}, 32 hardware queues, mean of 2 repetitions",
     ["baseline", "static-best", "mps-25", "mps-50", "eclip-tuned"]),
    (f"summary_{NEAR_MISS_LIBRARY}_window2.csv", f"Batch-8 mixes 6 and 4 with 2-s windows, {NEAR_MISS_LIBRARY} "
     f"(summary_{NEAR_MISS_LIBRARY}_window2.csv)", WINDOW2, (), "eclip-tuned", "window2_",
     f"library {NEAR_MISS_LIBRARY}, 2-s windows, mean of 2 repetitions", ["baseline", "static-best", "eclip-tuned"]),
    (f"summary_{CONFIRM_LIBRARY}.csv", f"Both batches on one library, the pick measured again, {CONFIRM_LIBRARY} "
     f"(summary_{CONFIRM_LIBRARY}.csv; MPS from {FINAL_LIBRARY} and, batch 8, {FINAL_850_LIBRARY})", CONFIRM, (),
     "eclip-tuned", "confirm_", f"library {CONFIRM_LIBRARY}, 32 hardware queues, mean of 2 repetitions",
     ["baseline", "static-best", "mps-25", "mps-50", "eclip-tuned"]),
    (f"summary_{REFERENCE_LIBRARY}.csv", f"The floor and p95 limit from three Baseline windows, {REFERENCE_LIBRARY} "
     f"(summary_{REFERENCE_LIBRARY}.csv)", REFERENCE, (), "eclip-tuned", "reference_",
     f"library {REFERENCE_LIBRARY}, 32 hardware queues, mean of 2 repetitions", ["baseline", "static-best", "eclip-tuned"]),
    (f"summary_{BAND_LIBRARY}.csv", f"The pick kept within the noise band, {BAND_LIBRARY} (summary_{BAND_LIBRARY}.csv)",
     BAND, (), "eclip-tuned", "band_", f"library {BAND_LIBRARY}, 32 hardware queues, mean of 2 repetitions",
     ["baseline", "static-best", "eclip-tuned"]),
    (f"summary_{CAPTURE_LIBRARY}.csv", f"Capture threads and streams per partition, {CAPTURE_LIBRARY} "
     f"(summary_{CAPTURE_LIBRARY}.csv; MPS from {FINAL_LIBRARY})", CAPTURE, (), "eclip-tuned", "capture_",
     f"library {CAPTURE_LIBRARY}, 32 hardware queues, mean of 2 repetitions",
     ["baseline", "static-best", "mps-25", "mps-50", "eclip-tuned"]),
    (f"summary_{HEAD_LIBRARY}.csv", f"Every mix at batch 1 with the starts and the pick, {HEAD_LIBRARY} "
     f"(summary_{HEAD_LIBRARY}.csv; MPS from {FINAL_LIBRARY})", HEAD, (), "eclip-tuned", "head_",
     "library a56f3b1, 32 hardware queues, mean of 2 repetitions",
     ["baseline", "static-best", "mps-25", "mps-50", "eclip-tuned-plan-starts", "eclip-tuned"]),
    (f"summary_{PICK_LIBRARY}.csv", f"The search's pick by inferences/J within the noise band, {PICK_LIBRARY} "
     f"(summary_{PICK_LIBRARY}.csv; MPS from {FINAL_LIBRARY})", PICK, (), "eclip-tuned", "pick_",
     f"library {PICK_LIBRARY}, 32 hardware queues, mean of 2 repetitions",
     ["baseline", "static-best", "mps-25", "mps-50", "eclip-tuned"]),
    (f"summary_{STARTS_LIBRARY}.csv", f"The tuner from the model's best static splits, {STARTS_LIBRARY} "
     f"(summary_{STARTS_LIBRARY}.csv; MPS from {FINAL_LIBRARY} and, batch 8, {FINAL_850_LIBRARY})", STARTS, (),
     "eclip-tuned", "starts_", f"library {STARTS_LIBRARY}, 32 hardware queues, mean of 2 repetitions", STARTS_ORDER),
    ("summary_queues.csv", f"Batch 1 with 32 hardware queues, {QUEUES_LIBRARY} (summary_queues.csv; MPS from "
     f"{FINAL_LIBRARY})", QUEUES, (), "eclip-tuned", "queues_",
     f"library {QUEUES_LIBRARY}, 32 hardware queues, mean of 2 repetitions", ORDER),
    (f"summary_{FINAL_850_LIBRARY}.csv", f"The previous final run, {FINAL_850_LIBRARY} (summary_{FINAL_850_LIBRARY}.csv)",
     FINAL_850, (), "eclip-tuned", f"{FINAL_850_LIBRARY}_", f"library {FINAL_850_LIBRARY}, mean of 2 repetitions",
     FIRST_ORDER),
    ("summary_current.csv", f"Every mix on one library, {CURRENT_LIBRARY} (summary_current.csv)", CURRENT,
     ("eclip-tuned-energy",), "eclip-tuned", "current_", f"library {CURRENT_LIBRARY}, mean of 2 repetitions"),
    ("summary_energy.csv", f"The energy objective on profiles with measured energy, {ENERGY_LIBRARY} "
     "(summary_energy.csv)", ENERGY, ("eclip-tuned",), "eclip-tuned-energy", "energy_",
     f"library {ENERGY_LIBRARY}, energy objective, mean of 2 repetitions"),
    (f"summary_{BOTH_STARTS_LIBRARY}.csv", f"The tuner from both objectives' model plans, {BOTH_STARTS_LIBRARY} "
     f"(summary_{BOTH_STARTS_LIBRARY}.csv)", BOTH_STARTS, ("eclip-tuned-energy",), "eclip-tuned",
     f"{BOTH_STARTS_LIBRARY}_", f"library {BOTH_STARTS_LIBRARY}, mean of 2 repetitions"),
]


def write_rows(name, data, header=None):
    with open(os.path.join(HERE, name), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header or list(data[0].keys()))
        w.writeheader()
        w.writerows(data)


def plots(m, batches, order=ORDER, prefix="", note="mean of 2 repetitions"):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plots")
        return
    for batch in batches:
        suffix = "" if batch == 1 else f"_b{batch}"
        for metric, fname, title in (("throughput", "throughput", "throughput / Baseline"),
                                     ("inferences_per_j", "inferences_per_joule", "inferences per joule / Baseline")):
            fig, ax = plt.subplots(figsize=(12, 4))
            width = 0.8 / len(order)
            for i, s in enumerate(order):
                ys = []
                for mix in MIXES:
                    v, b = m.get((batch, mix, s), {}).get(metric), m.get((batch, mix, "baseline"), {}).get(metric)
                    ys.append(v / b if v and b else 0)
                ax.bar([x + i * width for x in range(len(MIXES))], ys, width, label=s)
            ax.axhline(1.0, color="k", lw=0.5)
            ax.set_xticks([x + 0.4 - width / 2 for x in range(len(MIXES))])
            ax.set_xticklabels(MIXES)
            ax.set_title(f"H200, batch {batch}: {title} ({note})")
            ax.legend(ncol=5, fontsize=7)
            fig.tight_layout()
            fig.savefig(os.path.join(HERE, f"{prefix}{fname}{suffix}.png"), dpi=110)
            plt.close(fig)


def main():
    final = run_rows(FINAL, ())
    header = list(final[0].keys())
    write_rows("summary.csv", final)
    final_m = means(final)
    data = rows()
    write_rows("summary_first.csv", data, header)
    m = means(data)
    batches = sorted({int(r["batch"]) for r in data})

    # Every static split measured by the static search, with its numbers.
    for name, sources in (("static_search.csv", [src[:3] for src in SOURCES]), ("static_search_slo.csv", SLO_SEARCHES)):
        with open(os.path.join(HERE, name), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["mix", "batch", "search", "split", "throughput", "inferences_per_j", "jain", "slowest_p95_ms",
                        "workers_rps"])
            w.writerows(static_search_rows(sources))

    lines = [f"# The final run: every strategy, both batches, library {FINAL_LIBRARY} (summary.csv; batch 8's "
             f"{', '.join(sorted(OTHER_STRATEGIES))} on mixes other than mix6 and its MPS rows from "
             f"{FINAL_850_LIBRARY})", ""]
    for batch in (1, 8):
        lines += ratio_tables(final_m, batch, ORDER) + target_table(final_m, batch) + [""]
    lines += ["# The first run (summary_first.csv)", ""]
    for batch in batches:
        lines += ratio_tables(m, batch, FIRST_ORDER) + target_table(m, batch) + model_table(batch) + [""]
    follow, more = followup_lines()
    lines += more + rerun_lines()
    later = []
    for name, title, sources, skip, tuned, prefix, note, *order in SECTIONS:
        rows_of = run_rows(sources, skip)
        write_rows(name, rows_of, header)
        lines += section_lines(title, rows_of, tuned)
        later.append((rows_of, order[0] if order else ["baseline", "static-best", "mps-25", "mps-50", tuned], prefix,
                      note))
    lines += starts_lines()
    lines += starts_lines(HEAD_AB, f"{HEAD_LIBRARY}: with the pick") + setup_cost_lines() + confirm_lines()
    if follow:
        write_rows("followup_b1.csv", follow)
    with open(os.path.join(HERE, "tables.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    plots(final_m, (1, 8), note=f"library {FINAL_LIBRARY}; batch 8 partly {FINAL_850_LIBRARY} (report), mean of 2 repetitions")
    plots(m, batches, FIRST_ORDER, prefix="first_")
    for rows_of, order, prefix, note in later:
        plots(means(rows_of), sorted({int(r["batch"]) for r in rows_of}), order, prefix, note)


if __name__ == "__main__":
    main()
