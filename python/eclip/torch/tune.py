"""eclip tune: the closed loop on the GPU: the library's plan search (eclip.search) with each
candidate measured in a window of the real models co-located through eclip.

    python3 -m eclip.torch.tune --models albert,densenet201,alexnet,resnext101_32x8d [--batch 1]
        [--objective throughput|energy|normalized] [--jain-floor baseline|X]
        [--p95-limit none|baseline|MS[,MS...]] [--window 1.0]
        [--warmup 0.3] [--noise 0.02] [--time-limit 60] [--segments 1] [--confirm 2] [--reference 3]
        [--profile P]
        [--model-starts static,static-other,plan] [--out DIR]
(`eclip tune --backend cuda` runs this with the same flags.)

The workers run without stopping for the whole search: each candidate is set up (its graphs
captured, while the workers still run the previous plan), switched to at each worker's request
boundary, warmed up for --warmup seconds and measured for --window seconds (per-worker completions
from the router's request counters, energy from the NVML meter). The search starts from Baseline,
the equal split and, with --profile, the co-location model's picks (--model-starts: by default its
best static split under the objective and under the other of throughput and energy, every static
split predicted, and its best plan with per-segment moves grown from the first; "plan" and
"plan-other" alone are the picks before 2026-12-01), whose prediction also ranks every round's
neighbours, so only the promising ones are measured; it moves an atom between homes, gives or
leaves idle a group, moves a segment one partition size up or down, unconfines a worker or
confines it again (PlanSpace's moves; those toward a worker that breaks a constraint first), and
stops when no move beats the best by more than --noise. The fairness floor is Baseline's
measured Jain index unless given; with --p95-limit a candidate whose worker's p95 passes its limit
is never chosen (baseline: Baseline's slowest worker's p95 for every worker; index and p95 the
mean of --reference windows of Baseline, one window's p95 being too noisy), and the model's picks
are the best it predicts within those limits. Both constraints hold within the noise band (--noise), so a
remeasured Baseline keeps its own. The plan kept is the search's best, or a plan within the noise
band of its value with more inferences/J (for --objective energy: more throughput) by more than
the band (the report's "pick" says which). That plan is then measured again (--confirm windows at
most, after the time limit) and judged by the mean of its windows: the best of many noisy windows
is biased up, so when it then breaks a constraint or another plan beats that mean by more than
--noise, that plan is measured again, and the best of those measured twice is kept.

Output (--out): tune_<label>.json (the library's search report: every configuration tried with its
measurement, the capture time of each, the time it took, why it stopped, the best plan) and
plan_<label>.json (the best plan). Exit 0; 1 when no candidate could be measured; 2 on bad flags."""
import argparse
import json
import os
import sys
import time

from .. import search as _search


def tune(colo, backend, models, spec_extra=None, window_s=1.0, warmup_s=0.3, log=print, alone_rps=None,
         idle_w=None):
    """Runs the search on a live Colocation `colo` (its workers' units define the positions).
    spec_extra: "objective", "search", "starts", "segments" (default: one segment per worker).
    Returns (best Plan, report); report["measurements"] holds each window's full record."""
    spec = {"models": list(models), "segments": [[len(u)] for u in colo.units]}
    spec.update(spec_extra or {})
    records = []
    t_start = time.perf_counter()

    def evaluate(plan, candidate):
        capture_s = colo.switch(plan)  # the runner keeps its own copy: the lent handle may go after the call
        rec = colo.run(window_s, warmup_s, alone_rps, idle_w, label=f"tune:{candidate.get('label')}")
        rec["candidate"] = candidate
        rec["switch_capture_s"] = capture_s
        rec["at_s"] = time.perf_counter() - t_start
        records.append(rec)
        log(f"  tune {candidate.get('label'):24s} {rec['throughput_rps']:9.1f} req/s  "
            f"{(rec.get('inferences_per_j') or 0):7.3f} inf/J  jain {rec.get('jain') or 0:.3f}  "
            f"capture {capture_s:.2f} s")
        return evaluation_of(rec)

    best, report = _search.search(backend, spec, evaluate)
    report["measurements"] = records
    report["wall_s"] = time.perf_counter() - t_start
    return best, report


def evaluation_of(rec):
    """A measured window (Colocation.run's record) as the library judges it: each worker's
    throughput and p95, the average power, the window's length."""
    return {"throughput_rps": [w["throughput_rps"] for w in rec["workers"]],
            "p95_ms": [w["p95_ms"] for w in rec["workers"]],
            "power_w": rec.get("avg_power_w") or 0.0, "window_s": rec["active_s"]}


def solo_rates(backend, models, units, window_s=1.0, warmup_s=0.3, meter=None, log=print):
    """Each model alone on the whole device (Baseline with one worker), one window each: the solo
    throughputs the fairness floor and the normalised objective need. models, units: one per
    model. Returns ({model: req/s}, {model: the window's record})."""
    from .runner import Colocation
    rates, records = {}, {}
    for m, u in zip(models, units):
        with _search.baseline(backend, [m], [len(u)]) as p, \
                Colocation(backend, p, [u], [m], meter) as solo:
            records[m] = solo.run(window_s, warmup_s)
        rates[m] = records[m]["throughput_rps"]
        log(f"alone {m}: {rates[m]:.1f} req/s" + (f" {records[m].get('avg_power_w') or 0:.0f} W" if meter else ""))
    return rates, records


def _require_solo_rates(models, alone_rps):
    missing = [m for m in models if not alone_rps.get(m)]
    if missing:
        raise ValueError(f"no solo throughput (alone_rps) for {', '.join(missing)}: measure each model alone first")


def tuning_spec(models, units, baseline, alone_rps, objective="throughput", jain_floor=None, p95_limit=None,
                noise=0.02, time_limit_s=60.0, segments=1, profile=None, per_round=6, model_starts=None, confirm=2):
    """The search spec of one tuning of `models` (units: each one's units), from Baseline's measured
    record `baseline` (Colocation.run), or a list of such windows (baseline_windows()): the fairness
    floor is their mean Jain index unless `jain_floor` is given; p95_limit None: every worker within
    the mean of Baseline's slowest p95s, [] none, else per worker (ms).
    Both hold within the noise band (the objective's tolerance), so a remeasured Baseline keeps its
    own. segments: how many parts of each request the search may place apart. profile: the
    co-location model's profile (ranks neighbours, adds its picks to the starts). model_starts: which
    picks (a list of "static", "static-other", "plan", "plan-other"; None: the library's default,
    eclip::kDefaultModelStarts); only with a profile. confirm: windows the search may spend measuring
    its pick again after it stops (and the next plan, when another beats the pick's mean by more than
    the noise band; eclip::SearchOptions::confirm), beyond time_limit_s."""
    _require_solo_rates(models, alone_rps)
    windows = baseline if isinstance(baseline, (list, tuple)) else [baseline]
    if not windows:
        raise ValueError("tuning_spec: no Baseline window")
    if p95_limit is None:
        p95_limit = [sum(w["slowest_p95_ms"] or 0 for w in windows) / len(windows)] * len(models)
    spec = {"objective": {"kind": objective, "alone_rps": [alone_rps[m] for m in models],
                          "jain_floor": sum(w["jain"] for w in windows) / len(windows) if jain_floor is None
                          else jain_floor,
                          "p95_limit_ms": list(p95_limit), "tolerance": noise},
            "search": {"noise": noise, "time_limit_s": time_limit_s, "per_round": per_round, "confirm": confirm}}
    if model_starts is not None and not profile:
        raise ValueError("model_starts needs a profile: the picks are the co-location model's")
    if profile:
        spec["predictor"] = {"profile": os.path.abspath(profile)}
        if model_starts is not None:
            spec["predictor"]["starts"] = list(model_starts)
    if segments > 1:  # each request cut into `segments` runs of about equal unit counts (none empty)
        cuts = [[len(u) * k // segments for k in range(segments + 1)] for u in units]
        spec["segments"] = [[b - a for a, b in zip(c, c[1:]) if b > a] for c in cuts]
    return spec


def baseline_windows(colo, count=3, window_s=1.0, warmup_s=0.3, alone_rps=None, idle_w=None, label="baseline"):
    """`count` windows of `colo`'s current plan (Baseline), one after another: the reference a
    tuning's fairness floor and p95 limit are the mean of. One window's p95 is too noisy to hold a
    plan to: on the H200 at batch 8 (e2e82f5, docs/results/h200-colocation-2026-11-30), mix6's
    Baseline read 16.30 ms and then 15.34 ms, and the tuner, held to the first, kept a plan at
    16.6 ms in the repetitions (5 % over Baseline's mean)."""
    if count < 1:
        raise ValueError(f"baseline_windows: count {count} < 1")
    return [colo.run(window_s, warmup_s, alone_rps, idle_w, label=f"{label}:{i}") for i in range(count)]


class OnlineTuner:
    """The closed loop kept running while serving: on a live Colocation, tune now (retune()) and
    again whenever the mix changes (change_mix()). A new mix starts on Baseline (every worker on the
    whole device: it needs no search), whose window gives the fairness floor and the p95 limit,
    then the search runs from Baseline, the equal split and, with a profile, the co-location
    model's picks for the new mix, and the best plan stays active. The workers that stay keep
    serving throughout; every candidate is switched to at request boundaries.

    alone_rps: each model's solo throughput ({name: req/s}) for every model that may join;
    options: tuning_spec's (objective, jain_floor, p95_limit, noise, time_limit_s, segments,
    profile, model_starts); reference: Baseline's windows per tuning (baseline_windows()). history:
    one entry per tuning (the mix, Baseline's windows, the search report)."""

    def __init__(self, colo, backend, alone_rps, window_s=1.0, warmup_s=0.3, idle_w=None, log=print, reference=3,
                 **options):
        self.colo, self.backend, self.alone_rps = colo, backend, dict(alone_rps)
        self.window_s, self.warmup_s, self.idle_w, self.log, self.options = window_s, warmup_s, idle_w, log, options
        tuning_spec([], [], {"jain": 0, "slowest_p95_ms": 0}, {}, **options)  # bad options fail here, not later
        if options.get("objective") == "energy" and colo is not None and colo.meter is None:
            raise ValueError("OnlineTuner: the energy objective needs the Colocation's energy meter (meter=None)")
        if reference < 1:
            raise ValueError(f"OnlineTuner: reference {reference} < 1 (Baseline's windows per tuning)")
        self.reference = reference
        self.history = []
        self.best = None

    def retune(self):
        """Measures Baseline of the current mix, searches, leaves the best plan active; returns
        (best Plan, report)."""
        names, units = self.colo.names, self.colo.units
        t0 = time.perf_counter()
        with _search.baseline(self.backend, names, map(len, units)) as shared:
            self.colo.switch(shared)
            base = baseline_windows(self.colo, self.reference, self.window_s, self.warmup_s, self.alone_rps,
                                    self.idle_w, label="online:baseline")
        spec = tuning_spec(names, units, base, self.alone_rps, **self.options)
        best, report = tune(self.colo, self.backend, names, spec, self.window_s, self.warmup_s, self.log,
                            self.alone_rps, self.idle_w)
        self.colo.switch(best)
        report["baseline"] = base
        report["replan_s"] = time.perf_counter() - t0
        self.history.append({"models": list(names), "report": report})
        if self.best is not None:
            self.best.close()
        self.best = best
        self.log(f"online: {'/'.join(names)} -> {report['best']['label']} in {report['replan_s']:.1f} s "
                 f"({len(report['trials'])} trials, {report['stop_reason']})")
        return best, report

    def check(self, drift=None):
        """One window of the serving plan, judged by the library's objective against the last
        tuning's best: when a constraint broke or the value fell by more than `drift` (a fraction;
        default twice the noise band), retune(). Returns (the window's record, the new tuning's
        report or None)."""
        if not self.history:
            raise RuntimeError("OnlineTuner.check: nothing tuned yet (retune() first)")
        last = self.history[-1]["report"]
        drift = 2 * self.options.get("noise", 0.02) if drift is None else drift
        rec = self.colo.run(self.window_s, self.warmup_s, self.alone_rps, self.idle_w, label="online:check")
        value, score, why = _search.score(last["objective"], evaluation_of(rec))
        # The last tuning's best may have broken the constraints itself (none kept them: its score
        # is -inf, null in the report); then only a broken constraint is news, not the value.
        tuned = last["score"]
        fell = tuned is not None and value < tuned * (1 - drift)
        if not why and not fell:
            return rec, None
        reason = why or f"value {value:.4g} below the tuned {tuned:.4g} by more than {drift:.0%}"
        self.log(f"online: {reason}: re-planning")
        return rec, self.retune()[1]

    def change_mix(self, workers, names):
        """The mix is now `workers` (units per worker; a running worker is kept when its units are the
        same list object) named `names`: switch to its Baseline at once, then retune()."""
        _require_solo_rates(names, self.alone_rps)  # before the mix changes: nothing half-done
        with _search.baseline(self.backend, names, map(len, workers)) as shared:
            self.colo.set_mix(shared, workers, names)
        return self.retune()

    def close(self):
        if self.best is not None:
            self.best.close()
            self.best = None


def main(argv=None):
    ap = argparse.ArgumentParser(prog="eclip tune", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, help="comma-separated models, one worker each")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--objective", default="throughput", choices=["throughput", "energy", "normalized"])
    ap.add_argument("--jain-floor", default="baseline", help='"baseline" (its measured index), or a number in [0, 1]')
    ap.add_argument("--p95-limit", default="none",
                    help='"none"; "baseline": every worker\'s p95 within Baseline\'s slowest worker\'s p95; or '
                         'milliseconds, one number for all workers or one per worker '
                         '(comma-separated)')
    ap.add_argument("--window", type=float, default=1.0, help="measured seconds per candidate")
    ap.add_argument("--warmup", type=float, default=0.3, help="seconds after a switch before the window")
    ap.add_argument("--noise", type=float, default=0.02, help="a move must win by more than this fraction")
    ap.add_argument("--time-limit", type=float, default=60.0, help="stop searching after this many seconds (0: none)")
    ap.add_argument("--segments", type=int, default=1, help="segments per worker the search may place apart")
    ap.add_argument("--confirm", type=int, default=2,
                    help="windows spent measuring the pick again after the search (judged by the mean of its "
                         "windows; 0: none)")
    ap.add_argument("--reference", type=int, default=3,
                    help="Baseline's windows the fairness floor and p95 limit are the mean of")
    ap.add_argument("--energy", default="nvml", help='energy meter spec, or "none"')
    ap.add_argument("--profile", default=None,
                    help="a profile of these models on this device (`eclip profile --sizes all`): the co-location "
                         "model then ranks each round's neighbours and adds its picks to the starts")
    ap.add_argument("--model-starts", default=None,
                    help="with --profile: the model's picks the search starts from, comma-separated: static, "
                         "static-other, plan, plan-other (default static,static-other,plan)")
    ap.add_argument("--label", default="mix", help="a name for the outputs")
    ap.add_argument("--out", default="tune_out", help="output folder")
    ap.add_argument("--lib", default=None, help="libeclip_c.so with the cuda backend")
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    if not models:
        ap.error("--models: at least one model")
    if args.window <= 0 or args.warmup < 0 or args.noise < 0 or args.time_limit < 0 or args.segments < 1 \
            or args.confirm < 0 or args.reference < 1:
        ap.error("--window > 0, --warmup >= 0, --noise >= 0, --time-limit >= 0, --segments >= 1, --confirm >= 0 and "
                 "--reference >= 1 are required")
    floor = None
    if args.jain_floor != "baseline":
        try:
            floor = float(args.jain_floor)
        except ValueError:
            ap.error(f"--jain-floor {args.jain_floor!r}: expected \"baseline\" or a number")
        if not 0 <= floor <= 1:
            ap.error(f"--jain-floor {floor}: expected a number in [0, 1]")

    model_starts = None
    if args.model_starts is not None:
        if not args.profile:
            ap.error("--model-starts needs --profile (the picks are the co-location model's)")
        model_starts = [x for x in args.model_starts.split(",") if x]
        unknown = [x for x in model_starts if x not in ("static", "static-other", "plan", "plan-other")]
        if unknown:
            ap.error(f"--model-starts {args.model_starts!r}: unknown {', '.join(unknown)} "
                     "(expected static, static-other, plan, plan-other)")

    p95_limit = None  # None: Baseline's; [] none; else per worker
    if args.p95_limit == "none":
        p95_limit = []
    elif args.p95_limit != "baseline":
        try:
            p95_limit = [float(x) for x in args.p95_limit.split(",")]
        except ValueError:
            ap.error(f"--p95-limit {args.p95_limit!r}: expected none, baseline or milliseconds")
        if len(p95_limit) == 1:
            p95_limit *= len(models)
        if len(p95_limit) != len(models) or not all(x > 0 for x in p95_limit):
            ap.error(f"--p95-limit {args.p95_limit!r}: one positive number, or one per model ({len(models)})")

    import eclip
    from eclip import _loader
    from . import require_torch
    try:
        torch = require_torch()
    except Exception as e:  # noqa: BLE001 - said plainly, exit 2 like the profiler
        print(f"eclip tune: {e}", file=sys.stderr)
        sys.exit(2)
    from . import models as zoo
    from .chain import ChainedModel
    from .runner import Colocation
    _loader.load(args.lib)
    torch.backends.cudnn.benchmark = False
    os.makedirs(args.out, exist_ok=True)
    backend = eclip.Backend("cuda")
    meter = eclip.EnergyMeter(args.energy) if args.energy != "none" else None
    chained = [ChainedModel.of(zoo.build(m, args.batch)) for m in models]
    units = [c.units() for c in chained]
    alone, _ = solo_rates(backend, models, units, args.window, args.warmup, log=lambda s: print(s, flush=True))
    with _search.baseline(backend, models, map(len, units)) as base, \
            Colocation(backend, base, units, models, meter) as colo:
        b = baseline_windows(colo, args.reference, args.window, args.warmup, alone)
        print("baseline: " + ", ".join(f"{w['throughput_rps']:.1f} req/s, jain {w['jain']:.3f}, slowest p95 "
                                       f"{w['slowest_p95_ms'] or 0:.2f} ms" for w in b), flush=True)
        extra = tuning_spec(models, units, b, alone, args.objective, floor, p95_limit, args.noise, args.time_limit,
                            args.segments, args.profile, model_starts=model_starts, confirm=args.confirm)
        best, report = tune(colo, backend, models, extra, args.window, args.warmup, alone_rps=alone)
        report["baseline"] = b
        report["alone_rps"] = alone
        best.write(os.path.join(args.out, f"plan_{args.label}.json"))
        with open(os.path.join(args.out, f"tune_{args.label}.json"), "w") as f:
            json.dump(report, f, indent=1)
        print(f"best {report['best']['label']}: score {report['score']}, {len(report['trials'])} trials, "
              f"{report['wall_s']:.1f} s, {report['stop_reason']}", flush=True)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
