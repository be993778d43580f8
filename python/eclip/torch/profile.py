"""eclip profile: each model's kernel groups timed at every partition size on the NVIDIA GPU.

    python3 -m eclip.torch.profile [--models a,b] [--batches 1,8] [--reps 10] [--sizes classes|all]
                                   [--energy-s 1] [--out DIR] [--lib PATH]
(`eclip profile` runs this with the same flags.)

For each model and batch: the model is split into its top-level blocks (eclip.torch.models), each
block is captured as a CUDA graph on a partition of every size class of the device (the topology's
size classes, grown from group 0: on an H100/H200 8/16/32/64 SMs and the whole device, 132 SMs),
each slot's graphs captured with that partition's context current, and the chain of graphs is
replayed `reps` times per size behind a sleep kernel (so the host is ahead and the groups run back
to back, as in a request), with a CUDA event between groups. A group's time at a size is the median
over the repetitions of its event interval.

Energy (--energy-s, 1 s by default; 0: none): the idle power is read once (NVML, 1 s), then each
model's chain runs back to back on the whole device for --energy-s in an energy window; its
dynamic energy per request, (power - idle) / requests/s, is split over its groups in proportion to
their whole-device time and written as each group's "energy_uj". The simulated device charges a
group that energy on any partition (docs/simulator.md, "Power"). Without an energy counter the
profile is written without energy, and says so.

Output (--out): profile_b<batch>.json, an "eclip.profile" (device: the backend's topology name,
configs: the size classes in groups, units: their SMs) whose "kernels" are the groups, for
`eclip plan --profile`, `eclip simulate --profile` and eclip.Plan.make; profile_b<batch>_details.json
with the request latency per size, the grouped-vs-whole correctness check, the spread of every
group, the host cost of launching a group through eclip, and each model's rate and power alone.
Exit 0, or 1 when a model failed (the others are still written), 2 on bad arguments."""
import argparse
import datetime
import json
import os
import sys
import time
import traceback

from .. import stats
from ..backend import Backend, SizeClass
from ..errors import EclipError
from ..plan import Plan
from ..pool import Pool
from ..profile import Profile
from ..router import Router, exec_array, route_array

SM_CLOCK_HZ = 1.98e9  # H100/H200 SM clock under load: converts --sleep-ms into torch.cuda._sleep cycles


def die(msg, code=1):
    print(f"eclip profile: {msg}", file=sys.stderr)
    sys.exit(code)


def check_environment(lib_path):
    try:
        import torch
    except ImportError as e:
        die(f"PyTorch is not importable by {sys.executable} ({e}); the profiler needs Python 3 with PyTorch "
            "(a CUDA build), torchvision and transformers, and an NVIDIA GPU (pass --python to eclip profile)")
    if not torch.cuda.is_available():
        die(f"no CUDA GPU visible to PyTorch {torch.__version__} (built for CUDA {torch.version.cuda}); "
            "profiling needs an NVIDIA GPU")
    from .. import _loader
    try:
        lib = _loader.load(lib_path)
    except EclipError as e:
        die(f"cannot use libeclip_c: {e}")
    try:
        backend = Backend("cuda")
    except EclipError as e:
        die(f"libeclip_c ({lib.path}) cannot open the cuda backend: {e}")
    return torch, backend


def size_plan(backend, sizes):
    """One worker whose home is the whole device, with one unit per size (in groups), so that the
    pool holds a stream of every size, each grown from group 0."""
    doc = {"format": "eclip.plan", "version": 2, "device": backend.name, "strategy": "profile",
           "workers": [{"model": "profile", "home": {"first": 0, "groups": backend.topology.groups},
                        "groups": [{"first": i, "count": 1, "config": g} for i, g in enumerate(sizes)]}]}
    return Plan.from_json(backend, doc)


def time_chain(torch, graphs, stream, reps, sleep_cycles):
    """Per-group medians (us), spreads, and the request's median (us) of `reps` back-to-back replays."""
    G = len(graphs)
    evs = [[torch.cuda.Event(enable_timing=True) for _ in range(G + 1)] for _ in range(reps + 1)]
    with torch.cuda.stream(stream):
        for r in range(reps + 1):  # repetition 0 is a warm-up
            torch.cuda._sleep(sleep_cycles)
            for g in range(G):
                evs[r][g].record(stream)
                graphs[g].replay()
            evs[r][G].record(stream)
    stream.synchronize()
    per = [[evs[r][g].elapsed_time(evs[r][g + 1]) * 1000.0 for r in range(1, reps + 1)] for g in range(G)]
    req = [evs[r][0].elapsed_time(evs[r][G]) * 1000.0 for r in range(1, reps + 1)]
    med = [stats.percentile(x, 0.5) for x in per]
    spread = [(max(x) - min(x)) / max(stats.percentile(x, 0.5), 1e-9) for x in per]
    return med, spread, stats.percentile(req, 0.5)


def solo_power(torch, meter, graphs, stream, seconds):
    """(requests/s, average W) of the model alone on the whole device: its chain of graphs replayed
    back to back for about `seconds` inside an energy window (after a short warm-up, so the clocks
    are at their loaded speed). The host runs ahead and the launch queue holds it back. The
    window's end waits for the device and then for the counter's next update (up to ~100 ms of
    idle), so the rate is a little low; the dynamic energy per request, (power - idle) / rate, is
    not affected: the idle tail adds idle energy only."""
    with torch.cuda.stream(stream):
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < min(0.3, seconds):
            for g in graphs:
                g.replay()
    with meter.window(torch.cuda.synchronize) as w:
        n = 0
        t0 = time.perf_counter()
        with torch.cuda.stream(stream):
            while time.perf_counter() - t0 < seconds:
                for g in graphs:
                    g.replay()
                n += 1
    return n / w.result.seconds, w.result.avg_power_w


def group_energy_uj(power_w, idle_w, rps, whole_us):
    """Each group's dynamic energy (uJ above idle) from the model's power alone: the energy per
    request, (power - idle) / requests/s, split over the groups in proportion to their time on the
    whole device (one reading per model: NVML's counter moves every 20-100 ms, far coarser than a
    group). None when the model drew no more than idle (nothing to split)."""
    dynamic_j = (power_w - idle_w) / rps
    total_us = sum(whole_us)
    if not dynamic_j > 0 or not total_us > 0:
        return None
    return [round(dynamic_j * 1e6 * us / total_us, 3) for us in whole_us]


def launch_cost_us(torch, backend, model_profile, execs, requests=8):
    """Host microseconds per group launched through eclip (route + graph launch, one C call per
    request), on the library's baseline plan for this model alone."""
    with Profile.from_json(model_profile) as prof, \
            Plan.make(backend, prof, [model_profile["models"][0]["model"]], "baseline") as plan, \
            Pool(backend, plan) as pool, Router(pool, plan) as router:
        arr = exec_array(execs)
        routes = route_array(len(execs))
        costs = []
        for _ in range(requests):
            torch.cuda.synchronize()
            router.begin_request(0)
            t0 = time.perf_counter()
            router.launch_graphs(0, arr, len(execs), 1, routes)
            costs.append((time.perf_counter() - t0) * 1e6 / len(execs))
        torch.cuda.synchronize()
        return stats.percentile(costs[1:], 0.5)


def profile_model(torch, backend, classes, pool, slot_of, capture, name, batch, args, sleep_cycles,
                  meter=None, idle_w=None):
    from . import models as zoo
    from .chain import ChainedModel
    gm = zoo.build(name, batch)
    chk = zoo.check(gm)
    chained = ChainedModel.of(gm)
    per_cfg, spreads, req, whole_graphs = [], [], [], None
    mempool = torch.cuda.graph_pool_handle()
    for c in classes:
        slot = slot_of[c.groups]
        graphs = [capture.capture(0, slot, fn, mempool=mempool) for fn in chained.units()]
        med, spread, r = time_chain(torch, graphs, capture.streams.stream(0, slot), args.reps, sleep_cycles)
        per_cfg.append(med)
        spreads.append(spread)
        req.append(r)
        if c is classes[-1]:
            whole_graphs = graphs
        else:
            del graphs
    kernels = [{"name": gname, "us": [round(max(per_cfg[i][g], 0.01), 2) for i in range(len(classes))]}
               for g, (gname, _) in enumerate(gm.groups)]
    model = {"model": name, "host_gap_us": 0.0, "kernels": kernels}
    one = {"format": "eclip.profile", "version": 1, "device": backend.name, "configs": [c.groups for c in classes],
           "units": [c.units for c in classes], "models": [model]}
    host_us = launch_cost_us(torch, backend, one, [g.raw_cuda_graph_exec() for g in whole_graphs])
    model["host_gap_us"] = round(host_us, 2)
    details = {"groups": len(chained), "check": chk, "request_us": [round(x, 1) for x in req],
               "group_sum_us": [round(sum(per_cfg[i]), 1) for i in range(len(classes))],
               "max_spread": [round(max(s), 3) for s in spreads], "host_us_per_group_launch": host_us}
    if meter is not None:
        rps, watts = solo_power(torch, meter, whole_graphs, capture.streams.stream(0, slot_of[classes[-1].groups]),
                                args.energy_s)
        energies = group_energy_uj(watts, idle_w, rps, [per_cfg[-1][g] for g in range(len(kernels))])
        details["alone"] = {"requests_per_s": round(rps, 2), "power_w": round(watts, 1), "idle_w": round(idle_w, 1),
                            "dynamic_j_per_request": (watts - idle_w) / rps}
        if energies is None:
            print(f"b{batch} {name}: drew {watts:.0f} W alone, not above idle ({idle_w:.0f} W): no energy recorded",
                  flush=True)
        else:
            for k, e in zip(kernels, energies):
                k["energy_uj"] = e
    del whole_graphs, chained, gm
    return model, details


def write_json(path, obj):
    """Written whole or not at all: a temporary file renamed over the old one."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv=None):
    from .model_names import PAPER_MODELS
    ap = argparse.ArgumentParser(prog="eclip profile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="profile_h100", help="output folder")
    ap.add_argument("--models", default=",".join(PAPER_MODELS), help="comma-separated models")
    ap.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--reps", type=int, default=10, help="timed repetitions per size")
    ap.add_argument("--sleep-ms", type=float, default=2.0, help="sleep kernel ahead of each repetition")
    ap.add_argument("--sizes", default="classes",
                    help='"classes": the topology\'s size classes (what the budget optimizer reads); "all": every '
                         'partition of 1..N groups grown from group 0 (what the co-location model reads)')
    ap.add_argument("--energy-s", type=float, default=1.0,
                    help="seconds each model runs alone on the whole device in an energy window (NVML), so "
                         "that the profile records each group's dynamic energy; 0: record no energy")
    ap.add_argument("--lib", default=None, help="libeclip_c.so with the cuda backend (default: the package's search)")
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    for m in models:
        if m not in PAPER_MODELS:
            die(f"unknown model {m!r} (known: {', '.join(PAPER_MODELS)})", 2)
    try:
        batches = [int(b) for b in args.batches.split(",") if b]
    except ValueError:
        die(f"--batches {args.batches!r}: expected comma-separated positive integers", 2)
    if not batches or any(b <= 0 for b in batches):
        die(f"--batches {args.batches!r}: expected comma-separated positive integers", 2)
    if args.reps <= 0:
        die(f"--reps {args.reps}: expected a positive count", 2)
    if not args.energy_s >= 0:
        die(f"--energy-s {args.energy_s}: expected seconds >= 0", 2)

    torch, backend = check_environment(args.lib)
    from .capture import PartitionCapture
    torch.backends.cudnn.benchmark = False
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        die(f"cannot create the output folder {args.out!r}: {e.strerror}", 2)
    if args.sizes == "classes":
        classes = backend.size_classes()
    elif args.sizes == "all":
        topo = backend.topology
        sizes = list(range(1, topo.groups + 1))
        with size_plan(backend, sizes) as probe:
            units = {g["config"]: g["units"] for g in probe.to_dict()["workers"][0]["groups"]}
        classes = [SizeClass(g, units[g]) for g in sizes]
    else:
        die(f"--sizes {args.sizes!r}: expected \"classes\" or \"all\"", 2)
    plan = size_plan(backend, [c.groups for c in classes])
    pool = Pool(backend, plan)
    slot_of = {s.groups: s.slot for s in pool.slots(0)}
    capture = PartitionCapture(pool)
    sleep_cycles = int(args.sleep_ms * 1e-3 * SM_CLOCK_HZ)
    print(f"device {backend.topology.device} ({backend.name}): sizes " +
          ", ".join(f"{c.groups} groups = {c.units} SMs" for c in classes), flush=True)
    meter, idle_w = None, None
    if args.energy_s > 0:
        from ..energy import EnergyMeter
        try:
            meter = EnergyMeter("nvml")
            idle_w = meter.idle(1.0, torch.cuda.synchronize).avg_power_w
            print(f"energy: {meter.description}, idle {idle_w:.1f} W", flush=True)
        except EclipError as e:
            meter = None
            print(f"energy: none recorded ({e}); the simulator will use its device model's power per busy SM "
                  "(pass --energy-s 0 to skip this attempt)", flush=True)
    t_start = time.time()
    failed = []
    for batch in batches:
        prof = {"format": "eclip.profile", "version": 1, "device": backend.name, "configs": [c.groups for c in classes],
                "units": [c.units for c in classes], "models": []}
        details = {"batch": batch, "device": backend.topology.device, "torch": torch.__version__,
                   "date": datetime.date.today().isoformat(), "reps": args.reps, "idle_w": idle_w,
                   "energy": meter.description if meter else None, "models": {}}
        for name in models:
            t0 = time.time()
            try:
                model, det = profile_model(torch, backend, classes, pool, slot_of, capture, name, batch, args,
                                           sleep_cycles, meter, idle_w)
                det["seconds"] = round(time.time() - t0, 1)
                prof["models"].append(model)
                details["models"][name] = det
                chk = det["check"]
                print(f"b{batch} {name:20s} {det['groups']:3d} groups  request us " +
                      " / ".join(f"{x:.0f}" for x in det["request_us"]) +
                      f"  check {'ok' if chk['ok'] else 'MISMATCH'} ({chk.get('max_abs_diff', chk.get('why'))})  "
                      f"launch {det['host_us_per_group_launch']:.2f} us/group" +
                      (f"  alone {det['alone']['requests_per_s']:.0f} req/s {det['alone']['power_w']:.0f} W"
                       if "alone" in det else "") + f"  {det['seconds']:.1f} s", flush=True)
            except Exception as e:  # keep going: one model's failure must not lose the others
                traceback.print_exc()
                details["models"][name] = {"error": f"{type(e).__name__}: {e}"}
                failed.append(f"b{batch} {name}")
                print(f"b{batch} {name}: FAILED: {e}", flush=True)
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
        for suffix, obj in (("", prof), ("_details", details)):
            path = os.path.join(args.out, f"profile_b{batch}{suffix}.json")
            write_json(path, obj)
            print(f"wrote {path}", flush=True)
    print(f"done in {time.time() - t_start:.1f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    # The parked capture threads hold library handles of green contexts; leave without running
    # PyTorch's handle destructors on them (they would run after the contexts are gone).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failed else 0)


if __name__ == "__main__":
    main()
