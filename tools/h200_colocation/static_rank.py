#!/usr/bin/env python3
"""Does the co-location model rank static splits as the hardware did? Offline, no GPU.

  static_rank.py --profile PROFILE.json --runs DIR [--runs DIR2 ...] [--with-tuning] [--device sim:h200]
                 [--out F.json]

DIR: sweep folders (sweep.py's <mix>_b<batch>.json) whose static searches (static-best's and
static-best-slo's, and with --with-tuning the tuner's static trials) measured splits; the windows of one batch size, the profile's. Per mix: the
Spearman correlation of the model's predicted throughput with the measured one over the measured
splits (the same split measured twice: the mean), the measured best split and where the model
ranks it, and the model's best split over every static split of four workers (the plan space's, a
home of the remainder group alone refused), with its measured throughput when it was measured.
The model runs as the tuner's predictor does (300-ms simulated windows after 50 ms)."""
import argparse
import itertools
import json
import statistics
import sys

from runs import read_json, run_files  # a sweep record, compressed or not

RUN = {"duration_ms": 300, "warmup_ms": 50}  # the C ABI's predictor (src/c_api/planner.cpp)


TUNINGS = ("tune", "tune_plan_starts", "tune_energy")  # sweep.py's search reports


def measured_splits(run_dirs, with_tuning=False):
    """{(mix, batch): {"models": [...], "splits": {split tuple: [throughput, ...]}}}; with_tuning:
    the static splits the tuner's searches measured too (trials with every segment at home)."""
    out = {}
    for d in run_dirs:
        for path in run_files(d):
            doc = read_json(path)
            key = (doc["mix"], int(doc["batch"]))
            entry = out.setdefault(key, {"models": doc["models"], "splits": {}})
            for s in doc.get("static_search", []):
                entry["splits"].setdefault(tuple(s["split"]), []).append(s["throughput_rps"])
            for t in TUNINGS if with_tuning else ():
                for tr in doc.get(t, {}).get("trials", []):
                    c, e = tr["candidate"], tr.get("evaluation")
                    if c["split"] and e and all(p == 0 for seg in c["segment"] for p in seg):
                        entry["splits"].setdefault(tuple(c["split"]), []).append(e["total_rps"])
    return {k: v for k, v in out.items() if v["splits"]}


def ranks(xs):
    """Ranks 1..n, ties given their mean rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    return statistics.correlation(ra, rb) if len(a) > 2 else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--runs", action="append", required=True)
    ap.add_argument("--device", default="sim:h200")
    ap.add_argument("--with-tuning", action="store_true",
                    help="count the static splits the tuner's searches measured too (their trials at home)")
    ap.add_argument("--out")
    args = ap.parse_args()

    import eclip
    from eclip import search as es
    from sweep import write_json  # imports the library too
    full = json.load(open(args.profile))
    profile = eclip.Profile.from_json(full)
    backend = eclip.Backend(args.device)
    groups = backend.topology.groups
    units = {m["model"]: len(m["kernels"]) for m in full["models"]}
    batch = int(full.get("batch", 1))

    def predicted(models, split):
        try:
            with es.static_split(backend, models, [units[m] for m in models], list(split)) as p:
                return sum(es.predict(profile, p, RUN)["throughput_rps"])
        except eclip.EclipError:  # a split the plan space refuses
            return None

    report = {"profile": args.profile, "device": args.device, "run": RUN, "mixes": {}}
    for (mix, b), entry in sorted(measured_splits(args.runs, args.with_tuning).items()):
        if b != batch:
            continue
        models = entry["models"]
        meas = {s: statistics.mean(v) for s, v in entry["splits"].items()}
        pred = {s: predicted(models, s) for s in meas}
        both = [s for s in meas if pred[s] is not None]
        rho = spearman([meas[s] for s in both], [pred[s] for s in both])
        best_meas = max(both, key=lambda s: meas[s])
        by_pred = sorted(both, key=lambda s: -pred[s])
        every = {}
        for cuts in itertools.combinations(range(1, groups), len(models) - 1):  # every split, each home >= 1
            split = tuple(b - a for a, b in zip((0,) + cuts, cuts + (groups,)))
            every[split] = pred[split] if split in pred else predicted(models, split)
        every = {s: v for s, v in every.items() if v is not None}
        model_best = sorted(every, key=lambda s: -every[s])[:5]
        name = lambda s: "/".join(map(str, s))  # noqa: E731
        row = {"models": models, "measured": len(both), "spearman": rho,
               "measured_best": name(best_meas), "measured_best_rps": meas[best_meas],
               "its_rank_by_the_model": by_pred.index(best_meas) + 1,
               "model_pick_among_measured": name(by_pred[0]), "its_measured_rps": meas[by_pred[0]],
               "model_best_of_all": [{"split": name(s), "predicted_rps": every[s], "measured_rps": meas.get(s)}
                                     for s in model_best],
               "splits_predicted": len(every)}
        report["mixes"][mix] = row
        mb = model_best[0]
        print(f"{mix} b{b}: {len(both)} measured splits, Spearman {rho:.2f}; measured best {name(best_meas)} "
              f"({meas[best_meas]:.0f} req/s) is the model's #{row['its_rank_by_the_model']}; the model's pick among "
              f"them {name(by_pred[0])} measured {meas[by_pred[0]]:.0f} ({meas[by_pred[0]] / meas[best_meas]:.3f}x); "
              f"its best of all {len(every)}: {name(mb)}"
              + (f" (measured {meas[mb]:.0f})" if mb in meas else " (not measured)"))
    if args.out:
        write_json(args.out, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
