"""Closed-loop co-location on one GPU through the library: each worker a model cut into units, each
unit a CUDA graph captured on the partition the router gives it (with that partition's context
current, capture.py), one thread per worker, a request = begin_request + one
eclip_router_launch_graphs call (the GIL is released while it runs) + a wait for its last unit.

Measurement: a fixed warm-up (every worker in its closed loop for warmup_s), then the workers stop
at a line; the device is synchronised and the energy window opened (EnergyMeter, the sync hook
torch.cuda.synchronize); the workers run for window_s; each finishes its request in flight; the
device is synchronised and the window closed. Per worker: completions from the router's request
counters, latency p50/p95 (nearest rank, as `eclip simulate`), switches and barriers per request.
With each model's throughput alone (alone_rps), normalised throughputs and Jain's index over them."""
import threading
import time

from .. import stats
from ..pool import Pool
from ..router import Router, exec_array, route_array
from . import require_torch
from .capture import PartitionCapture


class _Worker:
    def __init__(self, torch, index, name, router, execs, units, stride, streams):
        self.torch, self.index, self.name, self.router = torch, index, name, router
        self.execs, self.units, self.stride, self.streams = execs, units, stride, streams
        self.routes = route_array(units)
        self.done = torch.cuda.Event()
        self.latencies = []
        self.error = None

    def request(self):
        t0 = time.perf_counter()
        self.router.begin_request(self.index)
        self.router.launch_graphs(self.index, self.execs, self.units, self.stride, self.routes)
        self.done.record(self.streams.for_route(self.routes[self.units - 1]))
        self.done.synchronize()
        return time.perf_counter() - t0


class Colocation:
    """Workers of a plan co-located on the plan's backend ("cuda").

    workers: per plan worker, its units: a list of callables without arguments that chain through
    static buffers (eclip.torch.ChainedModel.units()), as many as the plan has units for that
    worker. names: the workers' labels (default: the plan's model names). meter: an
    eclip.EnergyMeter or None. The graphs are captured here; close() frees them."""

    def __init__(self, backend, plan, workers, names=None, meter=None, switch_budget=None, device=None,
                 sync=None):
        torch = self.torch = require_torch()
        self.backend, self.plan, self.meter = backend, plan, meter
        self.device = torch.cuda.current_device() if device is None else device
        self.sync = sync or torch.cuda.synchronize
        self.names = list(names) if names is not None else plan.models
        if len(workers) != plan.workers:
            raise ValueError(f"{len(workers)} workers given, the plan has {plan.workers}")
        self.pool = Pool(backend, plan)
        self.router = Router(self.pool, plan, switch_budget)
        self.capture = PartitionCapture(self.pool, self.device)
        self.placements = []
        self._graphs = []
        self.workers = []
        t0 = time.perf_counter()
        try:
            for w, units in enumerate(workers):
                self.workers.append(self._setup_worker(w, units, switch_budget))
        except BaseException:
            self.close()
            raise
        self.capture_s = time.perf_counter() - t0

    def _placement(self, w, n, switch_budget):
        """The slot of each of worker w's n units, as the router decides them (a scratch router on
        the same pool and plan, one request): graphs are captured where they will be launched."""
        with Router(self.pool, self.plan, switch_budget) as scratch:
            scratch.begin_request(w)
            return [int(scratch.route(w).slot) for _ in range(n)]

    def _setup_worker(self, w, units, switch_budget):
        torch = self.torch
        want = self.plan.kernel_count(w)
        if len(units) != want:
            raise ValueError(f"worker {w} ({self.names[w]}): {len(units)} units, the plan has {want}")
        slots = self.pool.slot_count(w)
        placement = self._placement(w, len(units), switch_budget)
        mempool = torch.cuda.graph_pool_handle()  # the worker's units replay one after another
        graphs, row = [], []
        for g, fn in enumerate(units):
            graph = self.capture.capture(w, placement[g], fn, mempool=mempool)
            graphs.append(graph)
            # Only the planned slot is routed to; the others hold the same graph, so that a unit
            # the router sends elsewhere (fallback) still runs, in order.
            row += [graph.raw_cuda_graph_exec()] * slots
        self._graphs.append(graphs)
        self.placements.append(placement)
        return _Worker(torch, w, self.names[w], self.router, exec_array(row), len(units), slots,
                       self.capture.streams)

    def _phase(self, seconds, record):
        """Every worker in its closed loop for `seconds` (at least one request each), then each
        finishes its request in flight. Returns the phase's wall seconds."""
        torch = self.torch
        start, stop = threading.Event(), threading.Event()
        for wk in self.workers:
            wk.error = None
            if record:
                wk.latencies = []

        def loop(wk):
            try:
                torch.cuda.set_device(self.device)
                start.wait()
                while True:
                    lat = wk.request()
                    if record:
                        wk.latencies.append(lat)
                    if stop.is_set():
                        break
            except BaseException as e:  # reported in the result; stops the others
                wk.error = f"{type(e).__name__}: {e}"
                stop.set()

        threads = [threading.Thread(target=loop, args=(wk,), name=f"eclip-worker-{wk.index}", daemon=True)
                   for wk in self.workers]
        for t in threads:
            t.start()
        t0 = time.perf_counter()
        start.set()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    def idle_power(self, seconds=2.0):
        """An idle window through the meter (None without one): report it beside the result."""
        return self.meter.idle(seconds, self.sync).as_dict() if self.meter else None

    def run(self, window_s=4.0, warmup_s=1.0, alone_rps=None, idle_w=None, label=None):
        """One measured window; returns the result as a dict (JSON-ready). alone_rps: {name: req/s
        alone} for normalised throughputs and Jain's index; idle_w: idle power, to report the
        window's energy without the edges' idle padding."""
        self._phase(warmup_s, record=False)
        self.sync()
        c0 = [self.router.counters(w) for w in range(len(self.workers))]
        if self.meter:
            self.meter.begin(self.sync)
        active = self._phase(window_s, record=True)
        energy = self.meter.end(self.sync).as_dict() if self.meter else None
        c1 = [self.router.counters(w) for w in range(len(self.workers))]
        return self._result(label, active, window_s, warmup_s, c0, c1, energy, alone_rps, idle_w)

    def _result(self, label, active, window_s, warmup_s, c0, c1, energy, alone_rps, idle_w):
        workers = []
        for wk, a, b in zip(self.workers, c0, c1):
            d = b - a
            ms = [x * 1e3 for x in wk.latencies]
            req = max(d.requests, 1)
            rec = {"worker": wk.index, "model": wk.name, "requests": d.requests, "timed_requests": len(ms),
                   "throughput_rps": d.requests / active if active > 0 else None,
                   "p50_ms": stats.percentile(ms, 0.50), "p95_ms": stats.percentile(ms, 0.95),
                   "mean_ms": stats.mean(ms), "max_ms": max(ms) if ms else None,
                   "switches_per_request": d.switches / req, "barriers_per_request": d.barriers / req,
                   "unrouted": d.unrouted, "backend_errors": d.backend_errors, "counters": d.as_dict()}
            if alone_rps and alone_rps.get(wk.name) and rec["throughput_rps"] is not None:
                rec["normalized"] = rec["throughput_rps"] / alone_rps[wk.name]
            workers.append(rec)
        total = sum(w["requests"] for w in workers)
        out = {"label": label, "strategy": self.plan.strategy, "models": list(self.names), "device": self.backend.name,
               "window_s": window_s, "warmup_s": warmup_s, "active_s": active, "capture_s": self.capture_s,
               "requests": total, "throughput_rps": total / active if active > 0 else None, "workers": workers,
               "placements": self.placements, "errors": [w.error for w in self.workers if w.error],
               "energy": energy, "idle_w": idle_w}
        norm = [w.get("normalized") for w in workers]
        out["jain"] = stats.jain(norm) if all(x is not None for x in norm) else None
        p95 = [w["p95_ms"] for w in workers if w["p95_ms"] is not None]
        out["slowest_p95_ms"] = max(p95) if p95 else None
        if energy:
            out["avg_power_w"] = energy["avg_power_w"]
            out["inferences_per_j"] = total / energy["joules"] if energy["joules"] > 0 else None
            # The edges wait, device idle, for counter updates: the window without that padding.
            pad = max(energy["seconds"] - active, 0.0)
            active_j = energy["joules"] - (idle_w or 0.0) * pad
            out["energy_active_j"] = active_j
            out["inferences_per_j_active"] = total / active_j if active_j > 0 else None
        return out

    def close(self):
        """Frees the graphs, the router and the pool (after the device is idle)."""
        try:
            self.sync()
        finally:
            self.workers = []
            self._graphs = []
            self.capture.close()
            self.router.close()
            self.pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
