#!/usr/bin/env python3
"""Tests of the H100 co-location tool that need no GPU: plans and statistics, the ctypes binding on
eclip's simulated H100 ("sim" backend: plans, pools, routing, counters, energy), the capture-stream
layout, and the report on synthetic runs. Exit 0 on success, 1 on a failure, 77 when libeclip_c
cannot be loaded (skipped). Usage: selftest.py --lib build/src/c_api/libeclip_c.so"""
import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plans  # noqa: E402
import report  # noqa: E402
from eclip_ctypes import (ROUTE_SWITCHED, Backend, EclipError, EnergyMeter, Lib, Plan, Pool, Route,  # noqa: E402
                          Router)

FAILS = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILS.append(what)
        print(f"FAIL: {what}")


def synthetic_profile():
    """Four models with groups whose best size differs: flat (8 SMs enough), scaling, mixed."""
    flat = [100, 100, 100, 100, 100]
    scaling = [1650, 825, 412, 206, 100]
    half = [400, 200, 110, 100, 100]
    models = {
        "albert": [scaling] * 6,
        "densenet201": [flat, half, flat, scaling, flat],
        "alexnet": [half, scaling, flat],
        "resnext101_32x8d": [flat] * 3 + [half] * 3,
        "resnet152": [scaling, flat],
        "shufflenet_v2_x1_0": [flat] * 4,
        "vgg19": [scaling] * 3,
    }
    return {"format": "eclip.profile", "version": 1, "device": "H100", "configs": plans.CONFIGS,
            "units": plans.UNITS,
            "models": [{"model": m, "host_gap_us": 4.0,
                        "kernels": [{"name": f"g{i}", "us": list(map(float, us))} for i, us in enumerate(ks)]}
                       for m, ks in models.items()]}


def test_plans():
    mx = plans.mixes()
    check(mx["mix1"] == ["albert", "densenet201", "alexnet", "resnext101_32x8d"], "mix1 as in README")
    check(mx["mix7"] == ["vgg19", "albert", "densenet201", "resnet152"], "mix7 as in README")
    counts = {m: sum(m in v for v in mx.values()) for m in plans.MODELS}
    check(all(c == 4 for c in counts.values()), f"every model in 4 mixes: {counts}")
    check([plans.home_group(w, 4) for w in range(4)] == [0, 4, 8, 12], "homes 0/4/8/12")
    check(plans.grow_from(12, 8) == (0, 1, 2, 3, 12, 13, 14, 15), "grow_from wraps")
    check(plans.units_of_groups(plans.grow_from(12, 4)) == 36, "home 12 with 4 groups has the 12-SM remainder")
    check(plans.placement_key(5, 16) == "whole", "whole device key")
    check(plans.min_config_index([400, 200, 110, 100, 100]) == 2, "threshold: within 10%")
    check(plans.min_config_index([400, 200, 111, 100, 100]) == 3, "threshold: just over 10%")
    check(plans.model_wise_share(4) == 4 and plans.model_wise_share(1) == 16, "model-wise share")
    prof = synthetic_profile()
    sp = plans.strategy_plans(mx["mix1"], prof)
    check(list(sp) == ["baseline", "model-wise", "model-wise-overlap", "kernel-wise"], f"strategies {list(sp)}")
    # ECLIP variants (eclip-tol0.25, ...): checked like the ECLIP plan, added after it.
    e = plans.plan_json("eclip", mx["mix1"], [[16] * 6, [1] * 5, [4] * 3, [16] * 6])
    v = plans.plan_json("eclip", mx["mix1"], [[8] * 6, [1] * 5, [4] * 3, [2] * 6])
    sv = plans.strategy_plans(mx["mix1"], prof, e, {"eclip-tol0.5": v})
    check(list(sv)[-2:] == ["eclip", "eclip-tol0.5"], f"variants after eclip: {list(sv)}")
    try:
        plans.strategy_plans(mx["mix1"], prof, e, {"eclip-x": plans.plan_json("eclip", mx["mix2"], [[16]] * 4)})
        check(False, "a variant plan of another mix is refused")
    except ValueError:
        pass
    kw = plans.per_group_configs(sp["kernel-wise"])
    check(kw[0] == [16] * 6, f"albert kernel-wise all whole: {kw[0]}")
    check(kw[1] == [1, 4, 1, 16, 1], f"densenet201 kernel-wise {kw[1]}")
    check(plans.switches(kw[1]) == 4, "switches counted")
    check(plans.per_group_configs(sp["model-wise"])[3] == [4] * 6, "model-wise 4 groups")
    check(plans.per_group_configs(sp["model-wise-overlap"])[2] == [8] * 3, "overlap 8 groups")
    # Merging when the pool overflows: 4 workers using 1, 2, 4, 8 each = 16 masked > 15.
    four = {"format": "eclip.profile", "version": 1, "device": "H100", "configs": plans.CONFIGS,
            "units": plans.UNITS, "models": []}
    for i, m in enumerate(["a", "b", "c", "d"]):
        ks = [[100, 100, 100, 100, 100], [300, 100, 100, 100, 100], [900, 300, 100, 100, 100],
              [2000, 900, 300, 100, 100]]
        # d's 1-group kernel is the least time (50 us): merged first, into d's next larger (2)
        scale = 0.5 if m == "d" else 1.0
        four["models"].append({"model": m, "kernels": [{"name": f"k{j}", "us": [x * (scale if j == 0 else 1)
                                                                               for x in k]}
                                                       for j, k in enumerate(ks)]})
    per = plans.kernel_wise_configs(["a", "b", "c", "d"], four)
    check(plans.masked_streams(per) == 15, f"kernel-wise merged to 15 streams: {per}")
    check(per[3] == [2, 2, 4, 8] and per[0] == [1, 2, 4, 8], f"merged the least-used partition: {per}")
    # statistics
    check(abs(plans.percentile([1, 2, 3, 4, 5], 95) - 4.8) < 1e-9, "p95 linear interpolation")
    check(abs(plans.jain([1, 1, 1, 1]) - 1) < 1e-12 and abs(plans.jain([1, 0, 0, 0]) - 0.25) < 1e-12, "Jain")
    pj = plans.plan_json("x", ["m"], [[1, 1, 2, 16, 16]])
    check([g["count"] for g in pj["workers"][0]["groups"]] == [2, 1, 2], "runs merged into plan groups")
    check(plans.per_group_configs(pj) == [[1, 1, 2, 16, 16]], "plan round trip")
    return prof


def test_c_abi(lib, prof):
    be = Backend(lib, "sim:h100")
    check(be.name == "H100" and be.groups == 16 and be.units == 132 and be.max_masked_streams == 15, "sim H100")
    # The capture-stream layout the GPU side uses.
    slots_by_plan, keep = [], []
    for pj in plans.capture_plans(4):
        p = Plan(be, json.dumps(pj))
        pool = Pool(be, p)
        keep += [pool, p]
        slots_by_plan.append([pool.slots(w) for w in range(4)])
    keys = plans.capture_keys(slots_by_plan)
    want = {"whole"} | {plans.grow_from(h, c) for h in (0, 4, 8, 12) for c in (1, 2, 4, 8)}
    check(set(keys) == want, f"capture streams cover every placement: {sorted(map(str, keys))}")
    check(len(set(keys.values())) == 17, "one distinct stream per placement")
    for o in keep:
        o.close()
    # Each strategy's plan loads, its pool fits, and the router follows the plan.
    models = plans.mixes()["mix1"]
    sp = plans.strategy_plans(models, prof)
    for name, pj in sp.items():
        plan = Plan(be, json.dumps(pj))
        pool = Pool(be, plan)
        router = Router(pool, plan)
        cfgs = plans.per_group_configs(pj)
        for w in range(len(models)):
            slots = pool.slots(w)
            check(slots[0][1] == 16, f"{name}: slot 0 is the whole device")
            check({g for _, g in slots[1:]} == set(cfgs[w]) - {16}, f"{name} worker {w}: slots {slots}")
            for req in range(2):
                router.begin_request(w)
                sw = 0
                for g, c in enumerate(cfgs[w]):
                    r = router.route(w)
                    check(r.status == 0 and slots[r.slot][1] == c and r.kernel == g,
                          f"{name} w{w} group {g}: routed to slot {r.slot} ({slots[r.slot][1]}) status {r.status}")
                    sw += bool(r.flags & ROUTE_SWITCHED)
                # the first unit of a request switches when the previous request ended elsewhere
                expect = plans.switches(cfgs[w]) + (1 if req and cfgs[w][0] != cfgs[w][-1] else 0)
                check(sw == expect, f"{name} w{w} req {req}: {sw} switches, expected {expect}")
        tot = router.counters()
        check(tot["launches"] == 2 * sum(len(c) for c in cfgs) and tot["unrouted"] == 0, f"{name}: counters {tot}")
        execs = (__import__("ctypes").c_uint64 * (len(cfgs[0]) * len(pool.slots(0))))(
            *range(1, 1 + len(cfgs[0]) * len(pool.slots(0))))
        try:
            router.launch_graphs(0, execs, len(cfgs[0]), len(pool.slots(0)), (Route * len(cfgs[0]))())
            check(False, "sim cannot launch graphs")
        except EclipError as e:
            check(e.code == 5 and "cannot launch CUDA graphs" in str(e), f"launch_graphs on sim: {e}")
        router.close()
        pool.close()
        plan.close()
    # A plan over the queue limit is refused with the reason.
    too_many = plans.plan_json("x", ["a", "b", "c", "d"], [[1, 2, 4, 8]] * 4)
    try:
        Pool(be, Plan(be, json.dumps(too_many)))
        check(False, "16 masked streams must be refused")
    except EclipError as e:
        check(e.code == 2 and "at most 15" in str(e), f"capacity error: {e}")
    # Energy: the simulated H100's idle power through the same code the harness uses.
    m = EnergyMeter(lib, "sim", be)
    check(m.description == "sim: simulated H100", m.description)
    calls = []
    w = m.idle(0.5, lambda: calls.append(1))
    # Idle: the preset's static + idle-unit power, constant, so power = energy / time exactly.
    check(len(calls) == 2 and w["avg_power_w"] > 0 and abs(w["avg_power_w"] * w["seconds"] - w["joules"]) < 1e-6,
          f"sim idle {w}")
    m.begin(None)

    def bad():
        raise RuntimeError("sync failed")
    try:
        m.end(bad)
        check(False, "a failing sync hook fails end()")
    except EclipError as e:
        check(e.code == 4, f"sync hook failure: {e}")
    m.close()
    try:
        EnergyMeter(lib, "nvml")
        print("note: NVML available here")
    except EclipError as e:
        check(e.code == 5 and str(e).startswith("energy nvml: nvml: "), f"nvml unavailable message: {e}")
    be.close()


def fake_runs():
    """Two reps of mix1 under baseline/eclip/mps-25 with known numbers."""
    alone = {"albert": 300.0, "densenet201": 200.0, "alexnet": 3000.0, "resnext101_32x8d": 350.0}
    models = plans.mixes()["mix1"]
    runs = []
    for rep in range(2):
        for s, scale, joules in (("baseline", 1.0, 1000.0), ("eclip", 1.2, 900.0), ("mps-25", 1.1, 950.0),
                                 ("model-wise", 1.05, 980.0)):
            ws = [{"model": m, "requests": int(alone[m] * 0.5 * scale * 4), "throughput_rps": alone[m] * 0.5 * scale,
                   "p95_ms": 10.0 / scale, "switches_per_request": 0.0, "barriers_per_request": 0.0}
                  for m in models]
            total = sum(w["throughput_rps"] for w in ws)
            runs.append({"mix": "mix1", "strategy": s, "rep": rep, "models": models, "workers": ws,
                         "throughput_rps": total, "inferences_per_j": total * 4 / joules,
                         "inferences_per_j_active": total * 4 / joules, "avg_power_w": joules / 4})
    return runs, alone


def test_report():
    runs, alone = fake_runs()
    s = report.summarise(runs, alone)
    check(abs(s[("mix1", "baseline")]["jain"] - 1.0) < 1e-9, "equal normalised throughputs: Jain 1")
    r = report.ratios(s, "throughput_rps")
    check(abs(r["eclip"]["mix1"] - 1.2) < 1e-9, "throughput ratio")
    tg = report.targets(s, ["mix1"])
    check(abs(tg["throughput_gain_mean"] - 0.2) < 1e-9, f"gain {tg['throughput_gain_mean']}")
    check(abs(tg["ipj_gain_mean"] - (1.2 * 1000 / 900 - 1)) < 1e-9, "inf/J gain")
    row = tg["per_mix"]["mix1"]
    check(abs(row["vs_best_mps_throughput"] - 1.2 / 1.1) < 1e-9 and row["best_mps_throughput"] == "mps-25", "vs MPS")
    check(abs(row["vs_best_static_throughput"] - 1.2 / 1.05) < 1e-9, "vs static")
    check(abs(row["max_p95_ratio"] - 1 / 1.2) < 1e-9, "p95 ratio")
    with tempfile.TemporaryDirectory() as d:
        text = report.write_tables(s, alone, ["mix1"], report.strategy_order({k[1] for k in s}), tg, None,
                                   os.path.join(d, "t.md"))
        check("| eclip | +20.0% |" in text, "mean table")
        report.write_csv(s, ["baseline", "eclip"], ["mix1"], os.path.join(d, "s.csv"))
        check(len(open(os.path.join(d, "s.csv")).read().splitlines()) == 9, "csv rows")
    check(report.strategy_order({"mps-50", "eclip", "mps-25", "baseline"}) == ["baseline", "eclip", "mps-25", "mps-50"],
          "strategy order")
    check(report.strategy_order({"mps-25", "eclip-tol0.5", "eclip", "eclip-tol0.25", "baseline"}) ==
          ["baseline", "eclip", "eclip-tol0.25", "eclip-tol0.5", "mps-25"], "eclip variants ordered after eclip")
    # The green-context capture helper imports without a driver and says why it cannot run.
    import cuctx
    try:
        cuctx.CudaDriver("libcuda-does-not-exist.so")
        check(False, "no driver: CudaDriver raises")
    except OSError:
        pass
    sim = report.sim_ratios([{"mix": "mix1", "strategy": "baseline", "throughput_rps": 10, "requests_per_joule": 2},
                             {"mix": "mix1", "strategy": "eclip", "throughput_rps": 12, "requests_per_joule": 3}])
    check(sim["eclip"]["mix1"] == (1.2, 1.5), "sim ratios")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=None)
    args = ap.parse_args()
    prof = test_plans()
    test_report()
    try:
        lib = Lib(args.lib)
    except (OSError, FileNotFoundError) as e:
        print(f"SKIPPED (C ABI part): cannot load libeclip_c: {e}")
        print(f"{CHECKS[0] - len(FAILS)} passed, {len(FAILS)} failed")
        return 1 if FAILS else 77
    test_c_abi(lib, prof)
    print(f"{CHECKS[0] - len(FAILS)} passed, {len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
