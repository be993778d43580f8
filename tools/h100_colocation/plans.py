"""Plans, mixes, topology arithmetic and statistics for the H100 co-location tool. Standard library
only: the same code runs on the H100 and in the tests here.

The H100 topology is eclip's presets::h100(): 16 groups (15 atoms of 8 SMs + the 12-SM remainder),
size classes 1/2/4/8/16 groups = 8/16/32/64/132 SMs, at most 15 masked streams; worker w of W grows
its partitions from home group w*16//W (include/eclip/core/topology.hpp)."""
import json
import math

MODELS = ["albert", "densenet201", "alexnet", "resnet152", "resnext101_32x8d", "shufflenet_v2_x1_0", "vgg19"]
GROUP_SIZES = [8] * 15 + [12]
GROUPS = len(GROUP_SIZES)
CONFIGS = [1, 2, 4, 8, 16]
UNITS = [8, 16, 32, 64, 132]
WHOLE = 16
MAX_MASKED = 15
TOLERANCE = 0.10  # ECLIP's "not noticeably worse": kDefaultThresholdTolerance


def mixes():
    """eclip's seven default mixes: mix i holds models {i, i+1, i+2, i+4} mod 7 (colocation.hpp)."""
    out = {}
    for i in range(7):
        out[f"mix{i + 1}"] = [MODELS[(i + d) % 7] for d in (0, 1, 2, 4)]
    return out


def home_group(w, workers):
    return (w * GROUPS) // workers


def grow_from(home, groups):
    """Group indices of a partition of `groups` groups grown from `home` (wrapping)."""
    return tuple(sorted((home + i) % GROUPS for i in range(groups)))


def units_of_groups(gs):
    return sum(GROUP_SIZES[g] for g in gs)


def placement_key(home, groups):
    """What a captured graph's placement depends on: the SM set. The whole device is one key."""
    return "whole" if groups == WHOLE else grow_from(home, groups)


def capture_plans(workers=4):
    """Two plans whose pools hold a stream for every (home, size < whole) placement of `workers`
    workers: sizes 1, 2, 4 (3 streams each) and 8 (1 each); 16 masked streams in all, so two pools
    (a pool holds at most 15)."""
    names = [f"w{w}" for w in range(workers)]
    return [plan_json("capture-small", names, [[1, 2, 4]] * workers),
            plan_json("capture-large", names, [[8]] * workers)]


def capture_keys(slots_by_plan, workers=4):
    """{placement key: stream} from [[pool.slots(w) for w] for each capture plan]."""
    streams = {}
    for slots_by_worker in slots_by_plan:
        for w, slots in enumerate(slots_by_worker):
            for stream, groups in slots:
                streams.setdefault(placement_key(home_group(w, workers), groups), stream)
    return streams


def min_config_index(us, tol=TOLERANCE):
    """profile.hpp min_config_index: smallest size class within (1+tol) of the whole-device time."""
    for i, t in enumerate(us):
        if t <= (1.0 + tol) * us[-1]:
            return i
    return len(us) - 1


def plan_json(strategy, models, per_group_configs, budget=None):
    """An eclip.plan from each worker's per-group configs (runs of equal configs merged)."""
    workers = []
    for model, cfgs in zip(models, per_group_configs):
        groups = []
        for i, c in enumerate(cfgs):
            if groups and groups[-1]["config"] == c:
                groups[-1]["count"] += 1
            else:
                groups.append({"first": i, "count": 1, "config": int(c)})
        workers.append({"model": model, "groups": groups})
    return {"format": "eclip.plan", "version": 1, "device": "H100", "strategy": strategy,
            "switch_budget": budget, "workers": workers}


def per_group_configs(plan):
    """The config of every group of every worker of an eclip.plan (dict)."""
    out = []
    for w in plan["workers"]:
        cfgs = []
        for g in w["groups"]:
            if g["first"] != len(cfgs):
                raise ValueError(f"plan worker {w['model']}: group at {g['first']} after {len(cfgs)} kernels")
            cfgs += [g["config"]] * g["count"]
        out.append(cfgs)
    return out


def masked_streams(cfgs_per_worker):
    return sum(len(set(c) - {WHOLE}) for c in cfgs_per_worker)


def switches(cfgs):
    return sum(1 for a, b in zip(cfgs, cfgs[1:]) if a != b)


def kernel_wise_configs(models, profile, tol=TOLERANCE):
    """colocation.cpp's Kernel-wise: each group on its minimum-threshold config; while the pool needs
    more than 15 masked streams, the partition with the least (whole-device) group time is merged into
    the worker's next larger one."""
    per = []
    times = []
    for m in models:
        ks = profile_model(profile, m)["kernels"]
        per.append([CONFIGS[min_config_index(k["us"], tol)] for k in ks])
        times.append([k["us"][-1] for k in ks])
    while masked_streams(per) > MAX_MASKED:
        best, bw, bc = math.inf, 0, None
        for w in range(len(models)):
            t = {}
            for c, us in zip(per[w], times[w]):
                t[c] = t.get(c, 0.0) + us
            for c in sorted(t):
                if c != WHOLE and t[c] < best:
                    best, bw, bc = t[c], w, c
        used = sorted(set(per[bw]))
        larger = [c for c in used if c > bc]
        to = larger[0] if larger else WHOLE
        per[bw] = [to if c == bc else c for c in per[bw]]
    return per


def model_wise_share(workers):
    """colocation.cpp's Model-wise: the largest size class that fits all workers side by side."""
    share = CONFIGS[0]
    for c in CONFIGS:
        if c * workers <= GROUPS:
            share = c
    return share


def profile_model(profile, name):
    for m in profile["models"]:
        if m["model"] == name:
            return m
    raise KeyError(f"profile has no model {name!r} (has {[m['model'] for m in profile['models']]})")


def strategy_plans(models, profile, eclip_plan=None, extra_plans=None):
    """Plan JSON (dicts) of the in-process strategies for one mix, in report order; extra_plans
    ({name: plan}, e.g. eclip-tol0.25) are checked like the ECLIP plan and added after it."""
    n = [len(profile_model(profile, m)["kernels"]) for m in models]
    W = len(models)
    plans = {"baseline": plan_json("baseline", models, [[WHOLE] * k for k in n])}
    share = model_wise_share(W)
    plans["model-wise"] = plan_json("model-wise", models, [[share] * k for k in n])
    plans["model-wise-overlap"] = plan_json("model-wise-overlap", models, [[min(2 * share, WHOLE)] * k for k in n])
    plans["kernel-wise"] = plan_json("kernel-wise", models, kernel_wise_configs(models, profile))
    if eclip_plan is not None:
        got = [w["model"] for w in eclip_plan["workers"]]
        if got != list(models):
            raise ValueError(f"ECLIP plan is for {got}, the mix is {models}")
        plans["eclip"] = eclip_plan
    for name, p in sorted((extra_plans or {}).items()):
        got = [w["model"] for w in p["workers"]]
        if got != list(models):
            raise ValueError(f"{name} plan is for {got}, the mix is {models}")
        plans[name] = p
    for name, p in plans.items():
        cfgs = per_group_configs(p)
        for w, (c, k) in enumerate(zip(cfgs, n)):
            if len(c) != k:
                raise ValueError(f"{name}: worker {w} ({models[w]}) has {len(c)} groups, the profile {k}")
        if masked_streams(cfgs) > MAX_MASKED:
            raise ValueError(f"{name}: needs {masked_streams(cfgs)} masked streams > {MAX_MASKED}")
    return plans


# ---- statistics ---------------------------------------------------------------------------------
def percentile(xs, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    pos = (len(s) - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def jain(xs):
    xs = [x for x in xs if x is not None]
    if not xs or sum(x * x for x in xs) == 0:
        return 0.0
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))


def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


def geomean(xs):
    xs = list(xs)
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def load_json(path):
    with open(path) as f:
        return json.load(f)
