#!/usr/bin/env python3
"""Summarises the H100 co-location runs: per mix and strategy the mean over repetitions of total
throughput, each worker's throughput and p95, Jain's fairness (over throughputs normalised by each
model alone on the whole GPU), inferences per joule, average power; ratios to Baseline; the issue's
targets; the simulator's predictions beside the measurements. Writes summary.csv, summary.json,
tables.md and PNG plots into --out. Runs anywhere (matplotlib optional for the plots).

  report.py --inproc colo_inproc.json [--mps colo_mps.json] [--sim sim.json] [--power power.json] --out DIR"""
import argparse
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from eclip import stats  # noqa: E402  (pure Python: needs neither libeclip_c nor torch)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def mix_order(names):
    """mix1, mix2, ..., mix10: by number, then other names."""
    return sorted(names, key=lambda m: (0, int(m[3:]), m) if m[3:].isdigit() else (1, 0, m))

ORDER = ["baseline", "model-wise", "model-wise-overlap", "kernel-wise", "eclip"]
STATIC = ("model-wise", "model-wise-overlap")


def strategy_order(names):
    known = [s for s in ORDER if s in names]
    variants = sorted(s for s in names if s.startswith("eclip-"))  # eclip-tol0.25, ...
    mps = sorted((s for s in names if s.startswith("mps-")), key=lambda s: int(s.split("-")[1]))
    rest = sorted(s for s in names if s not in known and s not in mps and s not in variants)
    return known + variants + mps + rest


def alone_rps(inproc):
    return {r["workers"][0]["model"]: r["workers"][0]["throughput_rps"] for r in inproc.get("alone", [])
            if "error" not in r and r.get("workers")}


def summarise(runs, alone):
    """{(mix, strategy): summary} averaged over repetitions."""
    by = {}
    for r in runs:
        if "error" in r or not r.get("workers"):
            continue
        by.setdefault((r["mix"], r["strategy"]), []).append(r)
    out = {}
    for (mix, s), rs in by.items():
        models = rs[0]["models"]
        workers = []
        for i, m in enumerate(models):
            thr = stats.mean(r["workers"][i]["throughput_rps"] for r in rs)
            workers.append({"model": m, "throughput_rps": thr,
                            "p95_ms": stats.mean(r["workers"][i]["p95_ms"] for r in rs),
                            "normalized": thr / alone[m] if alone.get(m) else None,
                            "switches_per_request": stats.mean(r["workers"][i].get("switches_per_request", 0)
                                                               for r in rs),
                            "barriers_per_request": stats.mean(r["workers"][i].get("barriers_per_request", 0)
                                                               for r in rs)})
        ipj = [r.get("inferences_per_j") for r in rs if r.get("inferences_per_j")]
        out[(mix, s)] = {
            "mix": mix, "strategy": s, "reps": len(rs), "models": models,
            "throughput_rps": stats.mean(r["throughput_rps"] for r in rs),
            "throughput_min": min(r["throughput_rps"] for r in rs),
            "throughput_max": max(r["throughput_rps"] for r in rs),
            "inferences_per_j": stats.mean(ipj) if ipj else None,
            "ipj_min": min(ipj) if ipj else None, "ipj_max": max(ipj) if ipj else None,
            "inferences_per_j_active": stats.mean(r["inferences_per_j_active"] for r in rs
                                                  if r.get("inferences_per_j_active")) if ipj else None,
            "avg_power_w": stats.mean(r["avg_power_w"] for r in rs if r.get("avg_power_w")) if ipj else None,
            "jain": stats.jain([w["normalized"] for w in workers]) if all(w["normalized"] for w in workers) else None,
            "max_p95_ms": max(w["p95_ms"] for w in workers),
            "workers": workers,
            "errors": sum(len(r.get("errors", [])) for r in rs),
        }
    return out


def ratios(summary, key):
    """{strategy: {mix: value / baseline's value}}."""
    out = {}
    for (mix, s), v in summary.items():
        b = summary.get((mix, "baseline"))
        if b and b.get(key) and v.get(key):
            out.setdefault(s, {})[mix] = v[key] / b[key]
    return out


def targets(summary, mixes):
    """The issue's targets for ECLIP, measured."""
    thr, ipj = ratios(summary, "throughput_rps"), ratios(summary, "inferences_per_j")
    res = {}
    e_thr = thr.get("eclip", {})
    e_ipj = ipj.get("eclip", {})
    res["throughput_gain_mean"] = stats.mean(e_thr.values()) - 1 if e_thr else None
    res["ipj_gain_mean"] = stats.mean(e_ipj.values()) - 1 if e_ipj else None
    per_mix = {}
    for mix in mixes:
        e = summary.get((mix, "eclip"))
        b = summary.get((mix, "baseline"))
        if not e or not b:
            continue
        row = {}
        for group, names in (("static", STATIC), ("mps", [s for (m, s) in summary if m == mix and s.startswith("mps-")])):
            cands = [summary[(mix, s)] for s in names if (mix, s) in summary]
            if not cands:
                continue
            bt = max(cands, key=lambda c: c["throughput_rps"])
            row[f"vs_best_{group}_throughput"] = e["throughput_rps"] / bt["throughput_rps"]
            row[f"best_{group}_throughput"] = bt["strategy"]
            cj = [c for c in cands if c.get("inferences_per_j")]
            if cj and e.get("inferences_per_j"):
                bj = max(cj, key=lambda c: c["inferences_per_j"])
                row[f"vs_best_{group}_ipj"] = e["inferences_per_j"] / bj["inferences_per_j"]
                row[f"best_{group}_ipj"] = bj["strategy"]
        row["max_p95_ratio"] = e["max_p95_ms"] / b["max_p95_ms"]
        row["jain"] = e["jain"]
        row["jain_baseline"] = b["jain"]
        per_mix[mix] = row
    res["per_mix"] = per_mix
    return res


def sim_ratios(sim_runs):
    """{strategy: {mix: (throughput ratio, req/J ratio)}} from `eclip simulate --json`."""
    by = {(r["mix"], r["strategy"]): r for r in sim_runs}
    out = {}
    for (mix, s), r in by.items():
        b = by.get((mix, "baseline"))
        if b:
            out.setdefault(s, {})[mix] = (r["throughput_rps"] / b["throughput_rps"],
                                         r["requests_per_joule"] / b["requests_per_joule"])
    return out


def fmt(x, spec=".2f", none="-"):
    return none if x is None else format(x, spec)


def write_tables(summary, alone, mixes, strategies, tg, sim, path):
    lines = []
    thr, ipj = ratios(summary, "throughput_rps"), ratios(summary, "inferences_per_j")
    lines.append("### Mean over mixes, relative to Baseline\n")
    lines.append("| strategy | throughput | inferences/J | Jain (mean) | max p95 / Baseline's (mean) | mixes |")
    lines.append("|---|---|---|---|---|---|")
    for s in strategies:
        t = thr.get(s, {})
        j = ipj.get(s, {})
        jains = [summary[(m, s)]["jain"] for m in mixes if (m, s) in summary and summary[(m, s)]["jain"]]
        p95 = [summary[(m, s)]["max_p95_ms"] / summary[(m, "baseline")]["max_p95_ms"] for m in mixes
               if (m, s) in summary and (m, "baseline") in summary]
        lines.append(f"| {s} | {fmt(100 * (stats.mean(t.values()) - 1), '+.1f') if t else '-'}% | "
                     f"{fmt(100 * (stats.mean(j.values()) - 1), '+.1f') if j else '-'}% | "
                     f"{fmt(stats.mean(jains), '.3f') if jains else '-'} | {fmt(stats.mean(p95)) if p95 else '-'} | "
                     f"{len(t)} |")
    lines.append("")
    for mix in mixes:
        if (mix, "baseline") not in summary:
            continue
        models = summary[(mix, "baseline")]["models"]
        lines.append(f"### {mix}: {', '.join(models)}\n")
        head = "| strategy | req/s | x base | inf/J | x base | avg W | Jain | " + \
            " | ".join(f"{m} req/s, p95 ms, sw/req" for m in models) + " |"
        lines.append(head)
        lines.append("|" + "---|" * (7 + len(models)))
        b = summary[(mix, "baseline")]
        for s in strategies:
            v = summary.get((mix, s))
            if not v:
                continue
            ws = " | ".join(f"{w['throughput_rps']:.0f}, {w['p95_ms']:.2f}, {w['switches_per_request']:.1f}"
                            for w in v["workers"])
            lines.append(f"| {s} | {v['throughput_rps']:.0f} ({v['throughput_min']:.0f}-{v['throughput_max']:.0f}) | "
                         f"{v['throughput_rps'] / b['throughput_rps']:.2f} | {fmt(v['inferences_per_j'], '.3f')} | "
                         f"{fmt(v['inferences_per_j'] / b['inferences_per_j'] if v['inferences_per_j'] and b['inferences_per_j'] else None)} | "
                         f"{fmt(v['avg_power_w'], '.0f')} | {fmt(v['jain'], '.3f')} | {ws} |")
        lines.append("")
    if alone:
        lines.append("### Each model alone on the whole GPU (the reference for Jain's index)\n")
        lines.append("| model | req/s |")
        lines.append("|---|---|")
        for m, r in alone.items():
            lines.append(f"| {m} | {r:.1f} |")
        lines.append("")
    if tg:
        lines.append("### Targets (ECLIP)\n")
        lines.append(f"- throughput over Baseline, mean of mixes: {fmt(100 * tg['throughput_gain_mean'], '+.1f') if tg['throughput_gain_mean'] is not None else '-'}% (target >= +20%)")
        lines.append(f"- inferences/J over Baseline, mean of mixes: {fmt(100 * tg['ipj_gain_mean'], '+.1f') if tg['ipj_gain_mean'] is not None else '-'}% (target >= +40%)")
        lines.append("")
        lines.append("| mix | vs best static, req/s | vs best static, inf/J | vs best MPS, req/s | vs best MPS, inf/J | max p95 / Baseline's | Jain (Baseline's) |")
        lines.append("|---|---|---|---|---|---|---|")
        for mix, row in tg["per_mix"].items():
            lines.append(f"| {mix} | {fmt(row.get('vs_best_static_throughput'))} ({row.get('best_static_throughput', '-')}) | "
                         f"{fmt(row.get('vs_best_static_ipj'))} ({row.get('best_static_ipj', '-')}) | "
                         f"{fmt(row.get('vs_best_mps_throughput'))} ({row.get('best_mps_throughput', '-')}) | "
                         f"{fmt(row.get('vs_best_mps_ipj'))} ({row.get('best_mps_ipj', '-')}) | "
                         f"{fmt(row['max_p95_ratio'])} | {fmt(row['jain'], '.3f')} ({fmt(row['jain_baseline'], '.3f')}) |")
        lines.append("")
    if sim:
        lines.append("### Simulator (`eclip simulate --device h100 --profile`) against the measurements\n")
        lines.append("Ratios to Baseline, mean over mixes; predicted / measured.\n")
        lines.append("| strategy | sim req/s | measured req/s | pred/meas | sim req/J | measured inf/J | pred/meas |")
        lines.append("|---|---|---|---|---|---|---|")
        for s in ["baseline", "model-wise", "kernel-wise", "eclip"]:
            if s not in sim:
                continue
            ms = [m for m in sim[s] if m in thr.get(s, {})]
            if not ms:
                continue
            st = stats.mean(sim[s][m][0] for m in ms)
            sj = stats.mean(sim[s][m][1] for m in ms)
            mt = stats.mean(thr[s][m] for m in ms)
            mj = stats.mean(ipj[s][m] for m in ms) if s in ipj else None
            lines.append(f"| {s} | {st:.2f} | {mt:.2f} | {st / mt:.2f} | {sj:.2f} | {fmt(mj)} | "
                         f"{fmt(sj / mj if mj else None)} |")
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return "\n".join(lines)


def write_csv(summary, strategies, mixes, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["mix", "strategy", "reps", "throughput_rps", "inferences_per_j", "inferences_per_j_active",
                    "avg_power_w", "jain", "max_p95_ms", "worker", "model", "worker_rps", "worker_p95_ms",
                    "worker_normalized", "switches_per_request", "barriers_per_request"])
        for mix in mixes:
            for s in strategies:
                v = summary.get((mix, s))
                if not v:
                    continue
                for i, wk in enumerate(v["workers"]):
                    w.writerow([mix, s, v["reps"], f"{v['throughput_rps']:.2f}", fmt(v["inferences_per_j"], ".4f", ""),
                                fmt(v["inferences_per_j_active"], ".4f", ""), fmt(v["avg_power_w"], ".1f", ""),
                                fmt(v["jain"], ".4f", ""), f"{v['max_p95_ms']:.3f}", i, wk["model"],
                                f"{wk['throughput_rps']:.2f}", f"{wk['p95_ms']:.3f}", fmt(wk["normalized"], ".4f", ""),
                                f"{wk['switches_per_request']:.2f}", f"{wk['barriers_per_request']:.2f}"])


def plot(summary, strategies, mixes, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available: no plots", file=sys.stderr)
        return []
    files = []
    for key, lo, hi, title, fname in (
            ("throughput_rps", "throughput_min", "throughput_max", "Total throughput (inferences/s)", "throughput.png"),
            ("inferences_per_j", "ipj_min", "ipj_max", "Inferences per joule", "inferences_per_joule.png")):
        fig, ax = plt.subplots(figsize=(12, 4.5))
        n = len(strategies)
        width = 0.8 / n
        for i, s in enumerate(strategies):
            xs, ys, el, eh = [], [], [], []
            for j, mix in enumerate(mixes):
                v = summary.get((mix, s))
                if not v or v.get(key) is None:
                    continue
                xs.append(j + (i - (n - 1) / 2) * width)
                ys.append(v[key])
                el.append(v[key] - v[lo])
                eh.append(v[hi] - v[key])
            ax.bar(xs, ys, width, yerr=[el, eh], label=s, capsize=2)
        ax.set_xticks(range(len(mixes)))
        ax.set_xticklabels(mixes)
        ax.set_title(f"{title} per mix and strategy (H100; bars: mean of repetitions, whiskers: min-max)")
        ax.legend(ncol=min(n, 8), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08))
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        p = os.path.join(out_dir, fname)
        fig.savefig(p, dpi=110)
        plt.close(fig)
        files.append(p)
    # Ratios to baseline
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, key, title in ((axes[0], "throughput_rps", "throughput / Baseline"),
                           (axes[1], "inferences_per_j", "inferences per joule / Baseline")):
        r = ratios(summary, key)
        for s in strategies:
            if s == "baseline" or s not in r:
                continue
            ax.plot([m for m in mixes if m in r[s]], [r[s][m] for m in mixes if m in r[s]], marker="o", label=s)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    p = os.path.join(out_dir, "ratios.png")
    fig.savefig(p, dpi=110)
    plt.close(fig)
    files.append(p)
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inproc", action="append", default=[], help="harness inproc JSON (repeatable)")
    ap.add_argument("--mps", action="append", default=[], help="harness mps JSON (repeatable)")
    ap.add_argument("--sim", default=None, help="`eclip simulate --json --profile` output")
    ap.add_argument("--alone", action="append", default=[],
                    help="harness inproc JSON whose alone runs give the Jain normalisation (when --inproc has none)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    runs, alone = [], {}
    for p in args.inproc:
        d = load_json(p)
        runs += d["runs"]
        alone.update(alone_rps(d))
    for p in args.alone:
        for m, v in alone_rps(load_json(p)).items():
            alone.setdefault(m, v)
    for p in args.mps:
        runs += load_json(p)["runs"]
    summary = summarise(runs, alone)
    mixes = mix_order({k[0] for k in summary})
    strategies = strategy_order({k[1] for k in summary})
    tg = targets(summary, mixes)
    sim = sim_ratios(load_json(args.sim)) if args.sim else None
    text = write_tables(summary, alone, mixes, strategies, tg, sim, os.path.join(args.out, "tables.md"))
    write_csv(summary, strategies, mixes, os.path.join(args.out, "summary.csv"))
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"alone_rps": alone, "targets": tg, "sim_ratios": sim,
                   "summary": [summary[k] for k in sorted(summary)]}, f, indent=1)
    files = plot(summary, strategies, mixes, args.out)
    print(text)
    print("wrote", ", ".join([os.path.join(args.out, n) for n in ("tables.md", "summary.csv", "summary.json")] + files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
