#!/usr/bin/env python3
"""Real co-located inference on the H100: four workers, each a real model in a closed loop, under
every strategy, with throughput, tail latency and energy.

  harness.py inproc --profile P --plans DIR --out OUT.json   in-process strategies, one thread a worker
  harness.py mps --percentages 25,50 --out OUT.json          MPS: one process a worker (daemon running)
  harness.py power --out OUT.json                            power vs SMs (matmul loop), idle power

In-process: each worker's request is its model's kernel groups, each a CUDA graph captured once per
placement (gpu.py); a request is launched with one eclip_router_launch_graphs call (route -> slot ->
that slot's graph exec on the routed stream, barrier only when needed), then the worker waits for
its last group (a CUDA event) and starts the next request. Strategies (plans.py): baseline (every
group on the worker's whole-device stream), model-wise (disjoint 4-group partitions grown from each
worker's home atom, eclip's Model-wise), model-wise-overlap (8 groups from the home atom, each
overlapping its neighbours' halves), kernel-wise (each group on its minimum-threshold size, eclip's
Kernel-wise), eclip (`eclip plan --profile`'s plan, budget 14), and eclip-<tag> variants
(`<tag>`: any name, e.g. tol0.25; the plan file <plans>/eclip-<tag>_<mix>.json).

Capture context (--capture-context, default green): each group of a partition slot is captured in a
thread where that slot's green context is current (cuctx.py), so cuDNN's and cuBLAS's handles and
cuDNN's internal streams (resnext101's grouped convolutions) are created in that green context and the
graph holds work of one context only; whole-device slots are captured in the main thread (primary
context). "primary" captures everything from the main thread (runs 1-3: resnext101's internal-stream
work then stayed in the primary context and the partitions ran in lockstep). In green mode cuDNN's
heuristics see the partition's SM count, so a group may get other kernels than on the whole GPU:
each slot's graph is captured where it runs.

Measurement window: the workers are held at a start line; the device is synchronised and the
energy meter's start edge taken (eclip EnergyMeter over NVML, edge aligned to a counter update);
the workers run for --window seconds; then they finish their request in flight, the device is
synchronised, and the end edge taken. Throughput counts every request of the window over the active
seconds (start to last completion); energy is the counter difference between the edges."""
import argparse
import ctypes
import datetime
import json
import os
import select
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import plans  # noqa: E402
from eclip_ctypes import (ROUTE_BARRIER, ROUTE_SWITCHED, Backend, EclipError, EnergyMeter, Lib, Plan, Pool,  # noqa: E402
                          Route, Router)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def worker_summary(model, lat_s, active_s, c0=None, c1=None):
    ms = [x * 1e3 for x in lat_s]
    n = len(ms)
    out = {"model": model, "requests": n, "throughput_rps": n / active_s if active_s > 0 else 0.0,
           "mean_ms": plans.mean(ms) if ms else None, "p50_ms": plans.percentile(ms, 50),
           "p95_ms": plans.percentile(ms, 95), "p99_ms": plans.percentile(ms, 99),
           "max_ms": max(ms) if ms else None}
    if c0 is not None and c1 is not None:
        d = {k: c1[k] - c0[k] for k in c1}
        req = max(d["requests"], 1)
        out.update({"switches_per_request": d["switches"] / req, "barriers_per_request": d["barriers"] / req,
                    "unrouted": d["unrouted"], "backend_errors": d["backend_errors"], "counters": d})
    return out


def finish_record(rec, energy, idle_w):
    total = sum(w["requests"] for w in rec["workers"])
    rec["requests"] = total
    rec["throughput_rps"] = total / rec["active_s"] if rec["active_s"] > 0 else 0.0
    rec["energy"] = energy
    if energy:
        rec["avg_power_w"] = energy["avg_power_w"]
        rec["inferences_per_j"] = total / energy["joules"] if energy["joules"] > 0 else None
        # The edges wait (device idle) for counter updates; without that idle padding:
        pad = max(energy["seconds"] - rec["active_s"], 0.0)
        active_j = energy["joules"] - (idle_w or 0.0) * pad
        rec["energy_active_j"] = active_j
        rec["inferences_per_j_active"] = total / active_j if active_j > 0 else None
    return rec


# ---- in-process strategies --------------------------------------------------------------------------
class Worker:
    def __init__(self, torch, w, model, chained, router, graphs_by_slot, slots):
        import gpu
        self.torch, self.w, self.model, self.ch, self.router = torch, w, model, chained, router
        self.graphs_by_slot, self.slots = graphs_by_slot, slots  # [group][slot] -> CUDAGraph launched there
        self.stride = len(slots)
        self.execs = gpu.exec_array([gr.raw_cuda_graph_exec() for row in graphs_by_slot for gr in row])
        self.G = chained.G
        self.routes = (Route * self.G)()
        self.done = torch.cuda.Event()
        self.ext = {}
        self.lat = []
        self.trace = None
        self.error = None

    def stream(self, handle):
        s = self.ext.get(handle)
        if s is None:
            s = self.ext[handle] = self.torch.cuda.ExternalStream(handle)
        return s

    def request(self):
        t0 = time.perf_counter()
        self.router.begin_request(self.w)
        self.router.launch_graphs(self.w, self.execs, self.G, self.stride, self.routes)
        self.done.record(self.stream(self.routes[self.G - 1].stream))
        self.done.synchronize()
        return time.perf_counter() - t0

    def traced_request(self):
        """One request unit by unit from Python, with device timestamps around every group."""
        torch = self.torch
        ev_s = [torch.cuda.Event(enable_timing=True) for _ in range(self.G)]
        ev_e = [torch.cuda.Event(enable_timing=True) for _ in range(self.G)]
        host, units = [], []
        t0 = time.perf_counter()
        self.router.begin_request(self.w)
        for g in range(self.G):
            r = self.router.route(self.w)
            graph = self.graphs_by_slot[g][r.slot]
            s = self.stream(r.stream)
            host.append((time.perf_counter() - t0) * 1e6)
            with torch.cuda.stream(s):
                ev_s[g].record(s)
                graph.replay()
                ev_e[g].record(s)
            groups = self.slots[r.slot][1]
            units.append({"group": self.ch.gm.groups[g][0], "slot": int(r.slot),
                          "sms": plans.units_of_groups(plans.grow_from(self.home, groups)),
                          "switched": bool(r.flags & ROUTE_SWITCHED),
                          "barrier": bool(r.flags & ROUTE_BARRIER), "status": int(r.status)})
        ev_e[-1].synchronize()
        total = (time.perf_counter() - t0) * 1e3
        for g, u in enumerate(units):
            try:
                u["start_us"] = ev_s[0].elapsed_time(ev_s[g]) * 1e3
                u["end_us"] = ev_s[0].elapsed_time(ev_e[g]) * 1e3
                u["host_launch_us"] = host[g]
            except RuntimeError as e:
                u["timing_error"] = str(e)
        for g in range(1, len(units)):
            if "end_us" in units[g - 1] and "start_us" in units[g]:
                units[g]["gap_us"] = units[g]["start_us"] - units[g - 1]["end_us"]
        return {"model": self.model, "worker": self.w, "latency_ms": total, "units": units}


class InProc:
    def __init__(self, args):
        import torch
        import gpu
        import models as model_zoo
        self.torch, self.gpu, self.zoo, self.args = torch, gpu, model_zoo, args
        torch.backends.cudnn.benchmark = False
        self.lib = Lib(args.lib)
        self.backend = Backend(self.lib, "cuda")
        try:
            self.meter = EnergyMeter(self.lib, "nvml")
            log(f"energy: {self.meter.description}")
        except EclipError as e:
            self.meter = None
            log(f"energy meter unavailable: {e}")
        self.cs = gpu.CaptureStreams(self.backend)
        self.profile = plans.load_json(args.profile)
        self.chained = {}
        self.sync = torch.cuda.synchronize
        self.idle_w = None
        self.ctx_threads = None
        if getattr(args, "capture_context", "primary") == "green":
            import cuctx
            self.ctx_threads = cuctx.ContextThreads(before=lambda: torch.cuda.set_device(0))

    def model(self, name):
        if name not in self.chained:
            t0 = time.time()
            gm = self.zoo.build(name, self.args.batch)
            chk = self.zoo.check(gm)
            self.chained[name] = self.gpu.ChainedModel(gm)
            self.chained[name].check = chk
            log(f"built {name} b{self.args.batch}: {len(gm.groups)} groups, check {chk} ({time.time() - t0:.1f} s)")
            prof_groups = len(plans.profile_model(self.profile, name)["kernels"])
            if prof_groups != len(gm.groups):
                raise RuntimeError(f"{name}: {len(gm.groups)} groups here, {prof_groups} in the profile")
        return self.chained[name]

    def idle(self, seconds):
        if not self.meter:
            return None
        w = self.meter.idle(seconds, self.sync)
        log(f"idle power {w['avg_power_w']:.1f} W over {w['seconds']:.2f} s")
        return w

    def setup(self, models, plan_dict):
        """Pool and router of a plan, and every worker's graphs per slot. capture "own": each group is
        captured on the slot stream it is launched on (eclip::cuda::RoutedGraph's way: one exec per
        partition, in that partition's own green context); "shared": captured once per placement on
        long-lived capture streams and launched on the router's stream of the same SMs (another green
        context)."""
        torch, gpu = self.torch, self.gpu
        plan = Plan(self.backend, json.dumps(plan_dict))
        pool = Pool(self.backend, plan)
        router = Router(pool, plan)
        cfgs = plans.per_group_configs(plan_dict)
        W = len(models)
        workers = []
        t0 = time.time()
        own = self.args.capture == "own"
        streams = gpu.StreamsByHandle()
        for w, m in enumerate(models):
            ch = self.model(m)
            home = plans.home_group(w, W)
            slots = pool.slots(w)
            slot_of = {groups: i for i, (_, groups) in enumerate(slots)}
            cache, mpool = {}, (torch.cuda.graph_pool_handle() if own else None)
            rows = []
            for g in range(ch.G):
                planned = slot_of[cfgs[w][g]]
                if own and self.ctx_threads is not None:
                    stream = slots[planned][0]
                    graph = self.ctx_threads.run(stream, lambda g=g, stream=stream: ch.capture(
                        g, ("stream", stream), streams, cache=cache, pool=mpool))
                elif own:
                    graph = ch.capture(g, ("stream", slots[planned][0]), streams, cache=cache, pool=mpool)
                else:
                    graph = ch.capture(g, plans.placement_key(home, cfgs[w][g]), self.cs)
                # Only the planned slot is ever routed to (a complete plan, no online budget); the
                # other slots hold the same graph so that any fallback still runs in order.
                rows.append([graph] * len(slots))
            wk = Worker(torch, w, m, ch, router, rows, slots)
            wk.home = home
            wk.own_cache = cache
            workers.append(wk)
        capture_s = time.time() - t0
        for wk in workers:  # warm-up: uploads every exec, settles clocks
            for _ in range(3):
                wk.request()
        self.sync()
        return plan, pool, router, workers, capture_s

    def teardown(self, plan, pool, router, workers):
        self.sync()
        for wk in workers:
            wk.graphs_by_slot = None
            wk.own_cache.clear()
        self.torch.cuda.empty_cache()  # the per-run graph memory pools
        router.close()
        if self.ctx_threads is not None:
            self.ctx_threads.new_generation()
        pool.close()
        plan.close()

    def window(self, label, models, plan_dict, setup, seconds, trace_worker=None):
        """One measured window on a set-up plan."""
        plan, pool, router, workers, capture_s = setup
        for wk in workers:
            wk.lat = []
            wk.error = None
        start, stop = threading.Event(), threading.Event()

        def loop(wk):
            try:
                self.torch.cuda.set_device(0)  # the primary context current in this thread (driver calls)
                start.wait()
                while not stop.is_set():
                    wk.lat.append(wk.request())
            except Exception as e:  # reported in the record
                wk.error = f"{type(e).__name__}: {e}"
                stop.set()

        threads = [threading.Thread(target=loop, args=(wk,), daemon=True) for wk in workers]
        for t in threads:
            t.start()
        c0 = [router.counters(w) for w in range(len(workers))]
        if self.meter:
            self.meter.begin(self.sync)
        t_start = time.perf_counter()
        start.set()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join()
        t_stop = time.perf_counter()
        energy = self.meter.end(self.sync) if self.meter else None
        c1 = [router.counters(w) for w in range(len(workers))]
        active = t_stop - t_start
        cfgs = plans.per_group_configs(plan_dict)
        rec = {"label": label, "strategy": plan_dict.get("strategy"), "models": list(models),
               "batch": self.args.batch, "active_s": active, "capture_s": capture_s, "capture": self.args.capture,
               "capture_context": self.args.capture_context,
               "plan": {"switches": [plans.switches(c) for c in cfgs], "masked_streams": plans.masked_streams(cfgs),
                        "configs": cfgs},
               "workers": [worker_summary(wk.model, wk.lat, active, c0[i], c1[i]) for i, wk in enumerate(workers)],
               "errors": [wk.error for wk in workers if wk.error]}
        finish_record(rec, energy, self.idle_w)
        if trace_worker is not None:
            rec["trace"] = self.trace(workers, trace_worker)
        return rec

    def run(self, label, models, plan_dict, seconds, trace_worker=None):
        st = self.setup(models, plan_dict)
        try:
            return self.window(label, models, plan_dict, st, seconds, trace_worker)
        finally:
            self.teardown(*st[:3], st[3])

    def trace(self, workers, tw):
        """One traced request of worker tw while the others run their closed loops."""
        stop = threading.Event()

        def loop(wk):
            self.torch.cuda.set_device(0)
            while not stop.is_set():
                wk.request()
        threads = [threading.Thread(target=loop, args=(wk,), daemon=True) for wk in workers if wk.w != tw]
        for t in threads:
            t.start()
        time.sleep(0.2)
        try:
            out = workers[tw].traced_request()
        except Exception as e:
            out = {"error": f"{type(e).__name__}: {e}"}
        stop.set()
        for t in threads:
            t.join()
        return out


def main_inproc(args):
    ip = InProc(args)
    mixes = plans.mixes()
    sel = [m for m in args.mixes.split(",") if m] if args.mixes != "all" else list(mixes)
    strategies = [s for s in args.strategies.split(",") if s]
    per_mix = {}  # --mix-strategies "mix2,mix6=baseline,eclip;mix7=baseline"
    for part in filter(None, (args.mix_strategies or "").split(";")):
        ms, _, ss = part.partition("=")
        for m in ms.split(","):
            per_mix[m.strip()] = [x for x in ss.split(",") if x]
    out = {"kind": "inproc", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "device": ip.backend.device, "torch": ip.torch.__version__, "batch": args.batch,
           "window_s": args.window, "reps": args.reps, "energy_meter": ip.meter.description if ip.meter else None,
           "profile": args.profile, "capture": args.capture, "capture_context": args.capture_context,
           "plans": args.plans, "runs": [], "alone": [], "idle": []}

    def save():
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)

    t_all = time.time()
    out["idle"].append(ip.idle(args.idle_s))
    ip.idle_w = out["idle"][0]["avg_power_w"] if out["idle"][0] else None
    needed = []
    for m in sel:
        for model in mixes[m]:
            if model not in needed:
                needed.append(model)
    for model in needed:
        ip.model(model)
    out["checks"] = {m: ip.chained[m].check for m in needed}
    if args.alone_s > 0:
        for model in needed:
            pj = plans.plan_json("baseline", [model], [[plans.WHOLE] * ip.chained[model].G])
            rec = ip.run(f"alone:{model}", [model], pj, args.alone_s)
            out["alone"].append(rec)
            log(f"alone {model}: {rec['throughput_rps']:.1f} req/s, p95 {rec['workers'][0]['p95_ms']:.2f} ms")
        save()
    traces = set(args.trace.split(",")) if args.trace else set()
    for mix in sel:
        models = mixes[mix]
        eclip_plans = {}
        mix_strategies = per_mix.get(mix, strategies)
        for s in mix_strategies:  # eclip, eclip-<tag>: <plans>/<strategy>_<mix>.json
            path = os.path.join(args.plans, f"{s}_{mix}.json") if args.plans and s.startswith("eclip") else None
            if path and os.path.exists(path):
                eclip_plans[s] = plans.load_json(path)
        sp = plans.strategy_plans(models, ip.profile, eclip_plans.pop("eclip", None), eclip_plans)
        for s in mix_strategies:
            if s not in sp:
                log(f"{mix} {s}: no plan (skipped)")
                continue
            try:
                st = ip.setup(models, sp[s])
            except Exception as e:
                traceback.print_exc()
                out["runs"].append({"mix": mix, "strategy": s, "rep": 0, "error": f"{type(e).__name__}: {e}"})
                continue
            try:
                for rep in range(args.reps):
                    tw = None
                    if rep == 0 and (mix in traces or "all" in traces) and (s == "baseline" or s.startswith("eclip")):
                        tw = args.trace_worker
                    try:
                        rec = ip.window(f"{mix}:{s}", models, sp[s], st, args.window, tw)
                        rec.update({"mix": mix, "rep": rep, "strategy": s})  # the plan file says "eclip" for variants
                    except Exception as e:
                        traceback.print_exc()
                        rec = {"mix": mix, "strategy": s, "rep": rep, "error": f"{type(e).__name__}: {e}"}
                    out["runs"].append(rec)
                    if "error" not in rec:
                        log(f"rep{rep} {mix} {s:19s} {rec['throughput_rps']:8.1f} req/s  "
                            f"{(rec.get('inferences_per_j') or 0):7.3f} inf/J  {(rec.get('avg_power_w') or 0):6.1f} W  " +
                            "  ".join(f"{w['model'][:10]} {w['throughput_rps']:.0f}/{w['p95_ms']:.2f}"
                                      for w in rec["workers"]) + (f"  ERR {rec['errors']}" if rec.get("errors") else ""))
                    save()
            finally:
                ip.teardown(*st[:3], st[3])
    out["idle"].append(ip.idle(args.idle_s))
    out["seconds"] = time.time() - t_all
    if ip.ctx_threads is not None:
        out["capture_threads"] = ip.ctx_threads.stats()
        log(f"capture threads: {out['capture_threads']}")
    save()
    log(f"wrote {args.out} ({out['seconds']:.0f} s)")
    if ip.ctx_threads is not None:
        # Parked capture threads hold library handles of green contexts already destroyed; leave
        # without running PyTorch's handle destructors on them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


# ---- MPS --------------------------------------------------------------------------------------------
class PlainStreams:
    """gpu.ChainedModel's capture-stream interface over one plain stream (MPS workers)."""

    def __init__(self, torch):
        self.s = torch.cuda.Stream()

    def torch_stream(self, key):
        return self.s


def main_mps_worker(args):
    import torch
    import gpu
    import models as model_zoo
    torch.backends.cudnn.benchmark = False
    gm = model_zoo.build(args.model, args.batch)
    chk = model_zoo.check(gm)
    ch = gpu.ChainedModel(gm)
    ps = PlainStreams(torch)
    execs = [ch.exec_handle(g, "whole", ps) for g in range(ch.G)]
    cuda = ctypes.CDLL("libcuda.so.1")
    cuda.cuGraphLaunch.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    cuda.cuGraphLaunch.restype = ctypes.c_int
    stream = ps.s.cuda_stream
    done = torch.cuda.Event()

    def request():
        t0 = time.perf_counter()
        for h in execs:
            rc = cuda.cuGraphLaunch(h, stream)
            if rc != 0:
                raise RuntimeError(f"cuGraphLaunch failed: CUresult {rc}")
        done.record(ps.s)
        done.synchronize()
        return time.perf_counter() - t0

    for _ in range(3):
        request()
    props = torch.cuda.get_device_properties(0)
    print(json.dumps({"ready": True, "model": args.model, "groups": ch.G, "check": chk,
                      "sms_seen": props.multi_processor_count,
                      "mps_percentage": os.environ.get("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE")}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] == "run":
            t_start, t_end = float(cmd[1]), float(cmd[2])
            while time.monotonic() < t_start:
                pass
            lat = []
            while time.monotonic() < t_end:
                lat.append(request())
            torch.cuda.synchronize()
            print(json.dumps({"lat": lat, "t_done": time.monotonic()}), flush=True)
    return 0


class MpsWorkerProc:
    def __init__(self, args, model, pct):
        env = dict(os.environ)
        env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] = str(pct)
        env["PYTHONUNBUFFERED"] = "1"
        self.model = model
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "mps-worker", "--model", model,
                                   "--batch", str(args.batch)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=env)
        self.info = None

    def read_json(self, timeout):
        """The next JSON line from the worker (other lines are echoed)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"MPS worker {self.model}: no answer in {timeout} s")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                continue
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError(f"MPS worker {self.model} exited (rc {self.p.poll()})")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
            print(f"  [{self.model}] {line}", flush=True)

    def send(self, text):
        self.p.stdin.write(text + "\n")
        self.p.stdin.flush()

    def close(self):
        try:
            self.send("quit")
            self.p.wait(timeout=20)
        except Exception:
            self.p.kill()


def main_mps(args):
    lib = Lib(args.lib)
    meter = EnergyMeter(lib, "nvml")
    mixes = plans.mixes()
    sel = [m for m in args.mixes.split(",") if m] if args.mixes != "all" else list(mixes)
    out = {"kind": "mps", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "batch": args.batch,
           "window_s": args.window, "reps": args.reps, "energy_meter": meter.description, "runs": [], "idle": [],
           "workers": {}}

    def save():
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)

    t_all = time.time()
    out["idle"].append(meter.idle(args.idle_s))
    idle_w = out["idle"][0]["avg_power_w"]
    log(f"idle power {idle_w:.1f} W (no CUDA context in this process)")
    needed = []
    for m in sel:
        for model in mixes[m]:
            if model not in needed:
                needed.append(model)
    for pct in [int(p) for p in args.percentages.split(",") if p]:
        t0 = time.time()
        procs = {m: MpsWorkerProc(args, m, pct) for m in needed}
        try:
            for m, p in procs.items():
                p.info = p.read_json(args.startup_timeout)
                out["workers"][f"{m}@{pct}"] = p.info
            log(f"MPS {pct}%: {len(procs)} workers ready in {time.time() - t0:.1f} s "
                f"(SMs seen: {', '.join(str(p.info.get('sms_seen')) for p in procs.values())})")
            for rep in range(args.reps):
                for mix in sel:
                    models = mixes[mix]
                    meter.begin()  # the workers are idle: nothing to synchronise
                    t_start = time.monotonic() + 0.02
                    t_end = t_start + args.window
                    for m in models:
                        procs[m].send(f"run {t_start} {t_end}")
                    res = [procs[m].read_json(args.window + 60) for m in models]
                    energy = meter.end()  # every worker synchronised its device work before answering
                    active = max(r["t_done"] for r in res) - t_start
                    rec = {"label": f"{mix}:mps-{pct}", "mix": mix, "strategy": f"mps-{pct}", "rep": rep,
                           "models": models, "batch": args.batch, "active_s": active, "mps_percentage": pct,
                           "workers": [worker_summary(m, r["lat"], active) for m, r in zip(models, res)]}
                    finish_record(rec, energy, idle_w)
                    out["runs"].append(rec)
                    log(f"rep{rep} {mix} mps-{pct:<3d} {rec['throughput_rps']:8.1f} req/s  "
                        f"{rec['inferences_per_j']:7.3f} inf/J  {rec['avg_power_w']:6.1f} W  " +
                        "  ".join(f"{w['model'][:10]} {w['throughput_rps']:.0f}/{w['p95_ms']:.2f}"
                                  for w in rec["workers"]))
                    save()
        finally:
            for p in procs.values():
                p.close()
    out["idle"].append(meter.idle(args.idle_s))
    out["seconds"] = time.time() - t_all
    save()
    log(f"wrote {args.out} ({out['seconds']:.0f} s)")
    return 0


# ---- power calibration --------------------------------------------------------------------------------
def main_power(args):
    """Average power of a matmul loop confined to 8/16/32/64/132 SMs, and idle power: the evidence for
    the simulator's static / per-SM active / per-SM idle watts."""
    import torch
    import gpu
    lib = Lib(args.lib)
    backend = Backend(lib, "cuda")
    meter = EnergyMeter(lib, "nvml")
    cs = gpu.CaptureStreams(backend)
    sync = torch.cuda.synchronize
    out = {"kind": "power", "device": backend.device, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
           "idle": [], "loops": []}
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    b = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    c = torch.empty(4096, 4096, device="cuda", dtype=torch.float16)
    out["idle"].append(meter.idle(args.idle_s, sync))
    for cfg in plans.CONFIGS:
        key = plans.placement_key(0, cfg)
        s = cs.torch_stream(key)
        with torch.cuda.stream(s):
            torch.mm(a, b, out=c)
            s.synchronize()
            g = torch.cuda.CUDAGraph()
            g.capture_begin()
            for _ in range(20):
                torch.mm(a, b, out=c)
            g.capture_end()
            g.replay()
            s.synchronize()
            t0 = time.perf_counter()
            g.replay()
            s.synchronize()
            per_graph = time.perf_counter() - t0
            n = max(1, int(args.seconds / per_graph))
            meter.begin(sync)
            t0 = time.perf_counter()
            for _ in range(n):
                g.replay()
            s.synchronize()
            active = time.perf_counter() - t0
            e = meter.end(sync)
        sms = plans.UNITS[plans.CONFIGS.index(cfg)]
        tflops = n * 20 * 2 * 4096 ** 3 / active / 1e12
        out["loops"].append({"sms": sms, "active_s": active, "energy": e, "tflops": tflops,
                             "avg_power_w_active": (e["joules"] - out["idle"][0]["avg_power_w"] *
                                                    max(e["seconds"] - active, 0)) / active})
        log(f"matmul loop on {sms:3d} SMs: {e['avg_power_w']:.1f} W ({tflops:.0f} TFLOP/s)")
        del g
    out["idle"].append(meter.idle(args.idle_s, sync))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    log(f"wrote {args.out}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("inproc", "mps", "power"):
        p = sub.add_parser(name)
        p.add_argument("--lib", default=None)
        p.add_argument("--out", required=True)
        p.add_argument("--idle-s", type=float, default=3.0)
        if name in ("inproc", "mps"):
            p.add_argument("--mixes", default="all")
            p.add_argument("--batch", type=int, default=1)
            p.add_argument("--window", type=float, default=4.0)
            p.add_argument("--reps", type=int, default=2)
        if name == "inproc":
            p.add_argument("--profile", required=True)
            p.add_argument("--plans", default=None, help="folder with eclip_<mix>.json from `eclip plan`")
            p.add_argument("--strategies", default="baseline,model-wise,model-wise-overlap,kernel-wise,eclip")
            p.add_argument("--mix-strategies", default="",
                           help='other strategies for some mixes: "mix2,mix6=baseline,eclip-tol0.5;mix7=baseline"')
            p.add_argument("--alone-s", type=float, default=2.0)
            p.add_argument("--trace", default="", help="mixes to trace one request of (baseline and eclip)")
            p.add_argument("--trace-worker", type=int, default=0)
            p.add_argument("--capture", choices=["own", "shared"], default="own",
                           help="graphs captured on the slot stream they launch on (own) or per placement (shared)")
            p.add_argument("--capture-context", choices=["green", "primary"], default="green",
                           help="capture a partition slot's graphs in a thread where its green context is current "
                                "(green: library handles and cuDNN's internal streams live there) or in the main "
                                "thread, primary context current (runs 1-3)")
        if name == "mps":
            p.add_argument("--percentages", default="25,50")
            p.add_argument("--startup-timeout", type=float, default=120)
        if name == "power":
            p.add_argument("--seconds", type=float, default=2.0)
    w = sub.add_parser("mps-worker")
    w.add_argument("--model", required=True)
    w.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    return {"inproc": main_inproc, "mps": main_mps, "mps-worker": main_mps_worker, "power": main_power}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
