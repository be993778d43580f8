"""The plan space and the local search of the library (eclip/planner/search.hpp), from Python.

A space is a dict: {"models": [...], "segments": [[positions per segment], ...], "switch_budget":
N or "unlimited"}; a candidate {"split": [5, 4, 4, 3], "segment": [[0, 16, 0], ...]} (see
eclip_c.h). plan_for() makes a candidate's plan; search() runs the library's search with a Python
evaluator (e.g. a measured window on the GPU: eclip.torch.tune) and returns the best plan and the
report (every trial with its measurement, the time it took, why it stopped)."""
import ctypes
import json
import math

from ._abi import EVALUATE_FN, Evaluation
from .plan import Plan


def plan_for(backend, space, candidate, strategy=None):
    """The plan of `candidate` in `space` (dicts), checked against the backend's topology."""
    p = Plan(True, backend)
    p._lib.check(p._lib.eclip_plan_from_candidate(backend.handle, json.dumps(space).encode(),
                                                  json.dumps(candidate).encode(),
                                                  strategy.encode() if strategy else None, ctypes.byref(p._h)),
                 f"plan of candidate {candidate.get('split')}")
    return p


def baseline(backend, models, units):
    """Baseline: every worker on the whole device (the shared candidate), for workers with `units`
    positions each, one segment per worker."""
    space = {"models": list(models), "segments": [[int(n)] for n in units]}
    return plan_for(backend, space, {"split": []}, "baseline")


def static_split(backend, models, units, split, strategy="static"):
    """The static split `split` (home groups per worker) for workers with `units` positions each."""
    space = {"models": list(models), "segments": [[int(n)] for n in units]}
    return plan_for(backend, space, {"split": list(split)}, strategy)


def search(backend, spec, evaluate):
    """Runs the library's search; evaluate(plan, candidate) -> {"throughput_rps": [...], "p95_ms":
    [...], "power_w": W, "window_s": s} for each candidate tried (raise to mark it failed).
    spec: the space plus "objective", "search" and "starts" (eclip_c.h, eclip_search).
    Returns (best Plan, report dict)."""
    lib = backend._lib
    errors = []

    def trampoline(_user, plan_h, cand, out):
        try:
            plan = Plan(True, backend)
            plan._h = ctypes.c_void_p(plan_h)
            try:
                r = evaluate(plan, json.loads(cand.decode()))
            finally:
                plan._h = ctypes.c_void_p()  # borrowed: the library owns it
            ev = out.contents
            for w in range(ev.workers):
                ev.throughput_rps[w] = float(r["throughput_rps"][w])
                p95 = (r.get("p95_ms") or [None] * ev.workers)[w]
                # No request timed in the window: slower than any limit, not within it.
                ev.p95_ms[w] = float(p95) if p95 is not None else math.inf
            ev.power_w = float(r.get("power_w") or 0.0)
            ev.window_s = float(r.get("window_s") or 0.0)
            return 0
        except Exception as e:  # noqa: BLE001 - reported through the trial, the search goes on
            msg = f"{type(e).__name__}: {e}".encode()
            errors.append(msg)  # kept alive until the library has copied it
            out.contents.error = msg
            return 1

    fn = EVALUATE_FN(trampoline)
    best = Plan(True, backend)
    report = ctypes.c_void_p()
    lib.check(lib.eclip_search(backend.handle, json.dumps(spec).encode(), fn, None, ctypes.byref(best._h),
                               ctypes.byref(report)), "search")
    return best, json.loads(lib.take_string(report))


def _evaluation(evaluation):
    """eclip_evaluation of {"throughput_rps": [...], "p95_ms": [...], "power_w": W, "window_s": s}."""
    rps = [float(x) for x in evaluation["throughput_rps"]]
    n = len(rps)
    p95 = evaluation.get("p95_ms")
    return Evaluation((ctypes.c_double * n)(*rps),
                      (ctypes.c_double * n)(*[math.inf if x is None else float(x) for x in p95]) if p95 else None,
                      n, float(evaluation.get("power_w") or 0.0), float(evaluation.get("window_s") or 0.0), None)


def score(objective, evaluation):
    """One evaluation ({"throughput_rps": [...], "p95_ms": [...], "power_w": W}) judged by an
    objective (eclip_search's spec "objective"), by the library: (value without the constraints,
    score: the same or -inf when a constraint is broken, why: the broken constraint or "")."""
    from ._loader import load
    lib = load()
    ev = _evaluation(evaluation)
    value, sc, why = ctypes.c_double(), ctypes.c_double(), ctypes.c_void_p()
    lib.check(lib.eclip_objective_score(json.dumps(objective).encode(), ctypes.byref(ev), ctypes.byref(value),
                                        ctypes.byref(sc), ctypes.byref(why)), "objective_score")
    return value.value, sc.value, lib.take_string(why)


def violation(objective, evaluation):
    """How far one evaluation (as for score) is from keeping the objective's constraints, by the
    library: 0 when it keeps them, else the sum of the relative shortfalls beyond the tolerance
    (what the search ranks plans that keep none by, the least broken first)."""
    from ._loader import load
    lib = load()
    ev = _evaluation(evaluation)
    out = ctypes.c_double()
    lib.check(lib.eclip_objective_violation(json.dumps(objective).encode(), ctypes.byref(ev), ctypes.byref(out)),
              "objective_violation")
    return out.value


def predict(profile, plan, device=None):
    """The co-location model's prediction for `plan` (an eclip.Plan; its models' times from
    `profile`): {"throughput_rps": [...], "p95_ms": [...], "power_w": W, "window_s": s}. device: a
    dict overriding the simulated device's parameters (fair_share, bandwidth_slowdown,
    demand_tolerance, size_priority, co_residence, static_w, unit_active_w, unit_idle_w,
    duration_ms, warmup_ms, seed)."""
    n = plan.workers
    rps, p95 = (ctypes.c_double * n)(), (ctypes.c_double * n)()
    ev = Evaluation(rps, p95, n, 0.0, 0.0, None)
    lib = plan._lib
    lib.check(lib.eclip_predict(profile.handle, plan.handle, json.dumps(device).encode() if device else None,
                                ctypes.byref(ev)), "predict")
    return {"throughput_rps": list(rps), "p95_ms": list(p95), "power_w": ev.power_w, "window_s": ev.window_s}
