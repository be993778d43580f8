"""Closed-loop co-location on one GPU through the library, switching plans without stopping.

Each worker is a model cut into units (eclip.torch.ChainedModel.units()) and runs in its own thread,
in a closed loop, for as long as the Colocation lives. A plan is set up once (Setup): its pool, its
router, and per worker one CUDA graph per plan group (the group's consecutive units captured
together on the group's partition, with that partition's context current, capture.py); the router
routes group by group. A request = begin_request + one eclip_router_launch_graphs call (the GIL is
released while it runs) + a wait for its last group.

Switching (switch(plan)): the new plan's setup is made (or taken from the cache) while the workers
keep running on the old one; each worker picks the new plan up at its next request boundary, so no
launch is lost or reordered (a worker's requests are sequential: the previous one has completed).
A worker waits between two requests while its groups are captured: the capture runs the groups'
units once eagerly (capture.py), on the buffers its requests use (Turns: the capture waits for the
request in flight only).

Changing the mix (set_mix(plan, workers, names)): workers that stay keep running and move to the
new plan at their next request boundary; new ones start; those that leave finish their request in
flight and stop. eclip.torch.tune.OnlineTuner re-plans on each such change.

Measurement (run): a fixed warm-up after the last switch, then a window: the device synchronised
and the energy window opened (EnergyMeter, the sync hook torch.cuda.synchronize), the workers'
router request counters read at both edges; per worker completions over the window's wall time,
latency p50/p95 of the requests that ended in it (nearest rank, as `eclip simulate`), switches and
barriers per request. With each model's throughput alone (alone_rps), normalised throughputs and
Jain's index over them."""
import contextlib
import json
import threading
import time

from .. import stats
from ..plan import Plan
from ..pool import Pool
from ..router import Router, exec_array, route_array
from . import require_torch
from .capture import PartitionCapture


def grouped_plan(backend, plan):
    """The plan with one position per group (its groups' unit runs as single positions), which the
    router routes when each group is one graph. The partitions, homes and switches are the plan's."""
    doc = plan.to_dict()
    for w in doc["workers"]:
        w["groups"] = [{"first": i, "count": 1, "config": g["config"]} for i, g in enumerate(w["groups"])]
        for k in ("kernels", "kernel_names"):
            w.pop(k, None)
    doc.pop("pool", None)
    return Plan.from_json(backend, doc)


class Setup:
    """One plan made ready for a set of workers: pool, router, per worker its groups' graphs.
    index: each worker (a _Worker) -> its index in the plan; a worker not in it retires at its next
    request boundary. capture_s: the time it took."""

    def __init__(self, colo, plan, workers):
        torch = colo.torch
        t0 = time.perf_counter()
        # Its own copy: the caller may close its plan while this setup is cached or serving.
        self.plan = Plan.from_json(colo.backend, plan.to_json())
        self.index = {wk: i for i, wk in enumerate(workers)}
        units = [wk.units for wk in workers]
        self.groups_plan = grouped_plan(colo.backend, plan)
        self.pool = Pool(colo.backend, self.groups_plan)
        self.router = Router(self.pool, self.groups_plan, colo.switch_budget)
        self.capture = PartitionCapture(self.pool, colo.device)
        self.graphs, self.execs, self.placements, self.bounds = [], [], [], []
        try:
            doc = plan.to_dict()
            for w, fns in enumerate(units):
                groups = doc["workers"][w]["groups"]
                if groups[-1]["first"] + groups[-1]["count"] != len(fns):
                    raise ValueError(f"worker {w} ({workers[w].name}): {len(fns)} units, the plan has "
                                     f"{groups[-1]['first'] + groups[-1]['count']}")
                slots = self.pool.slot_count(w)
                placement = self._placement(w, len(groups), colo.switch_budget)
                mempool = torch.cuda.graph_pool_handle()  # the worker's groups replay one after another
                row, graphs = [], []
                # The capture's eager warm-up runs the worker's units on its buffers: not while one of
                # its requests (on another plan) is using them. One pause for all its groups.
                with workers[w].turns.paused():
                    for g, grp in enumerate(groups):
                        run = fns[grp["first"]:grp["first"] + grp["count"]]

                        def fn(run=run):
                            for f in run:
                                f()
                        graph = self.capture.capture(w, placement[g], fn, mempool=mempool, owner=workers[w].owner)
                        graphs.append(graph)
                        # Only the planned slot is routed to; the other slots hold the same graph, so that
                        # a group the router sends elsewhere (fallback) still runs, in order.
                        row += [graph.raw_cuda_graph_exec()] * slots
                self.graphs.append(graphs)
                self.execs.append((exec_array(row), len(groups), slots, route_array(len(groups))))
                self.placements.append(placement)
        except BaseException:
            self.close()
            raise
        torch.cuda.synchronize()
        self.capture_s = time.perf_counter() - t0

    def _placement(self, w, n, switch_budget):
        """The slot of each of worker w's n groups, as the router decides them (a scratch router on
        the same pool and plan, one request): graphs are captured where they will be launched."""
        with Router(self.pool, self.groups_plan, switch_budget) as scratch:
            scratch.begin_request(w)
            return [int(scratch.route(w).slot) for _ in range(n)]

    def close(self):
        self.graphs = []
        self.execs = []
        self.router.close()
        self.pool.close()
        self.groups_plan.close()
        self.plan.close()


class Turns:
    """A worker's requests and the pauses others ask of it (a capture of its units), taking turns:
    a pause waits for the request in flight, never for more. A plain lock held per request starves
    the pause: the worker takes it again microseconds after releasing it, and threading.Lock hands
    it to no waiter (on the H200 one batch-8 plan's setup took 448 s instead of ~1 s). So a pause
    first closes a gate that each request passes before it takes the lock."""

    def __init__(self):
        self._gate = threading.Lock()  # held by a pause from before it waits for the request in flight
        self._busy = threading.Lock()  # held for each request and each pause

    @contextlib.contextmanager
    def request(self):
        with self._gate:  # a pause asked first: wait until it is over
            pass
        with self._busy:
            yield

    @contextlib.contextmanager
    def paused(self):
        with self._gate, self._busy:
            yield


class _Worker:
    """One model in a closed loop on its own thread. Its index in a plan is the active Setup's (a
    mix change renumbers the workers)."""

    def __init__(self, colo, name, units):
        self.colo, self.name, self.units = colo, name, units  # the caller's list: set_mix matches it
        # Who replays this worker's graphs, for their capture streams (capture.py): the units' list
        # (its buffers), the same in every plan and mix it runs in.
        self.owner = id(units)
        # Its requests and the captures of its units (Setup) take turns: both write its buffers.
        self.turns = Turns()
        self.done = colo.torch.cuda.Event()
        self.log = []  # (end time, latency s), appended by the worker's thread only
        self.error = None
        self.setup = None
        self.thread = None

    def request(self):
        """One request on the current plan; False when the current plan has no place for this
        worker (it left the mix): the thread ends."""
        setup = self.colo.active  # a request boundary: pick up the current plan
        w = setup.index.get(self)
        if w is None:
            return False
        self.setup = setup
        execs, units, stride, routes = setup.execs[w]
        with self.turns.request():
            t0 = time.perf_counter()
            setup.router.begin_request(w)
            setup.router.launch_graphs(w, execs, units, stride, routes)
            self.done.record(setup.capture.streams.for_route(routes[units - 1]))
            self.done.synchronize()
            t1 = time.perf_counter()
        self.log.append((t1, t1 - t0))
        return True


class Colocation:
    """Workers of a plan co-located on the plan's backend ("cuda"), running until close().

    workers: per plan worker, its units: a list of callables without arguments that chain through
    static buffers (eclip.torch.ChainedModel.units()), as many as the plan has units for that
    worker. names: the workers' labels (default: the plan's model names). meter: an
    eclip.EnergyMeter or None. The first plan's graphs are captured here; close() frees them all.
    set_mix() changes the workers while the others keep running (online re-planning)."""

    def __init__(self, backend, plan, workers, names=None, meter=None, switch_budget=None, device=None,
                 sync=None, cache=8):
        torch = self.torch = require_torch()
        self.backend, self.meter, self.switch_budget, self.cache = backend, meter, switch_budget, cache
        self.device = torch.cuda.current_device() if device is None else device
        self.sync = sync or torch.cuda.synchronize
        names = list(names) if names is not None else plan.models
        if len(workers) != plan.workers or len(names) != len(workers):
            raise ValueError(f"{len(workers)} workers and {len(names)} names given, the plan has {plan.workers}")
        self._setups = {}  # (plan JSON, workers) -> Setup, most recently used last
        self._setup_bytes = 0  # the most device memory one setup took so far
        self.active = None
        self.workers = [_Worker(self, n, u) for n, u in zip(names, workers)]
        self._retiring = []  # workers leaving the mix whose thread may still be in a request
        self._running = False
        self._stop = threading.Event()
        self.switched_at = time.perf_counter()
        self.capture_s = self.switch(plan)

    @property
    def units(self):
        return [wk.units for wk in self.workers]

    @property
    def names(self):
        return [wk.name for wk in self.workers]

    @property
    def plan(self):
        return self.active.plan

    @property
    def placements(self):
        return self.active.placements

    def switch(self, plan):
        """Makes `plan` current: set up (captured) now unless cached, picked up by each worker at its
        next request boundary. Returns the seconds spent setting it up (0 when cached)."""
        key = (plan.to_json(), tuple(self.workers))  # graphs are captured from these workers' units
        setup = self._setups.pop(key, None)
        spent = 0.0
        if setup is None:
            if plan.workers != len(self.workers):
                raise ValueError(f"the plan has {plan.workers} workers, the co-location {len(self.workers)}")
            setup = self._new_setup(plan)
            spent = setup.capture_s
        self._setups[key] = setup
        self.active = setup
        self.switched_at = time.perf_counter()
        self._evict()
        return spent

    def _new_setup(self, plan):
        """A Setup of `plan`, with room made for it: each setup holds its graphs' memory (at batch 8
        about 20 GiB for four CNNs, measured on the H200), so cached setups that would leave less
        free device memory than the largest setup so far took (plus 2 GiB) are freed first, oldest
        first; a capture that still runs out of memory is retried once with every other setup
        freed."""
        torch = self.torch
        free0 = torch.cuda.mem_get_info(self.device)[0]
        while self._setup_bytes and free0 < self._setup_bytes + (2 << 30) and self._evict_oldest():
            torch.cuda.empty_cache()
            free0 = torch.cuda.mem_get_info(self.device)[0]
        try:
            setup = Setup(self, plan, self.workers)
        except torch.OutOfMemoryError:
            freed = 0
            while self._evict_oldest():
                freed += 1
            if not freed:
                raise
            torch.cuda.empty_cache()
            free0 = torch.cuda.mem_get_info(self.device)[0]
            setup = Setup(self, plan, self.workers)
        self._setup_bytes = max(self._setup_bytes, free0 - torch.cuda.mem_get_info(self.device)[0])
        return setup

    def clear_cache(self):
        """Frees every cached setup but the active one: e.g. between two searches measured side by
        side, so that the second does not switch to the first's captured plans for free."""
        while self._evict_oldest():
            pass
        self.torch.cuda.empty_cache()

    def _evict(self):
        # Keep at most `cache` setups.
        while len(self._setups) > max(self.cache, 1) and self._evict_oldest():
            pass

    def _evict_oldest(self):
        """Frees the least recently used setup that is not the active one; False when there is
        none."""
        for key, old in self._setups.items():
            if old is not self.active:
                self._free(key)
                return True
        return False

    def _free(self, key):
        """Frees a cached setup once no worker is inside it: the staying ones and those leaving the
        mix (set_mix) finish their request in flight on it first."""
        setup = self._setups.pop(key)
        while any(wk.setup is setup and wk.thread for wk in self.workers + self._retiring):
            time.sleep(0.0005)
        self.sync()
        setup.close()

    def set_mix(self, plan, workers, names):
        """Changes the mix while it runs: `workers` (units per worker, as for the constructor) and
        `names` are the new mix, `plan` its plan. A worker whose units are the same list object as a
        running worker's keeps running (its requests go on without a gap, on the new plan from its
        next request boundary); a new one starts; one not in the new mix finishes its request in
        flight and stops. Cached setups that hold a leaving worker are freed. Returns the seconds
        spent setting the new plan up. A plan that does not fit the new mix changes nothing."""
        if len(workers) != plan.workers or len(names) != len(workers):
            raise ValueError(f"{len(workers)} workers and {len(names)} names given, the plan has {plan.workers}")
        old = list(self.workers)
        kept = []
        for name, units in zip(names, workers):
            match = next((wk for wk in old if wk.units is units and wk not in kept), None)
            kept.append(match if match is not None else _Worker(self, name, units))
        leaving = [wk for wk in old if wk not in kept]
        self.workers = kept
        self._retiring = leaving  # until they stop, no setup they may be inside is freed
        try:
            spent = self.switch(plan)
        except BaseException:
            self.workers, self._retiring = old, []
            raise
        for wk, name in zip(kept, names):
            wk.name = name
        for wk in leaving:  # they see the new plan without them at their next request boundary
            if wk.thread:
                wk.thread.join()
                wk.thread = None
        self._retiring = []
        for key in [k for k, st in self._setups.items() if st is not self.active]:
            if any(wk in leaving for wk in self._setups[key].index):
                self._free(key)
        errors = [f"{wk.name} (leaving): {wk.error}" for wk in leaving if wk.error]
        if errors:  # a failed worker stopped every thread (see _start): say so now, not in a later window
            self.stop()
            raise RuntimeError("co-location stopped: " + "; ".join(errors))
        if self._running:
            self._start()
        return spent

    def _start(self):
        torch = self.torch
        if not self._running:
            self._stop.clear()
        self._running = True

        def loop(wk):
            try:
                torch.cuda.set_device(self.device)
                while not self._stop.is_set() and wk.request():
                    pass
            except BaseException as e:  # reported in the result; stops the others
                wk.error = f"{type(e).__name__}: {e}"
                self._stop.set()
            finally:
                wk.setup = None

        for i, wk in enumerate(self.workers):
            if wk.thread is None:
                wk.thread = threading.Thread(target=loop, args=(wk,), name=f"eclip-worker-{i}-{wk.name}", daemon=True)
                wk.thread.start()

    def stop(self):
        """Stops the workers after their request in flight."""
        self._stop.set()
        for wk in self.workers:
            if wk.thread:
                wk.thread.join()
                wk.thread = None
        self._running = False

    def idle_power(self, seconds=2.0):
        """An idle window through the meter (None without one): report it beside the result."""
        if self._running:
            raise RuntimeError("idle_power: the workers are running (stop() first)")
        return self.meter.idle(seconds, self.sync).as_dict() if self.meter else None

    def run(self, window_s=4.0, warmup_s=1.0, alone_rps=None, idle_w=None, label=None):
        """One measured window after `warmup_s` of the current plan (counted from the last switch);
        returns the result as a dict (JSON-ready). alone_rps: {name: req/s alone} for normalised
        throughputs and Jain's index; idle_w: idle power, to report the window's energy without the
        edges' padding."""
        self._start()
        rest = warmup_s - (time.perf_counter() - self.switched_at)
        if rest > 0:
            time.sleep(rest)
        self._check()
        setup = self.active
        for wk in self.workers:  # every worker is on the current plan before the window opens
            while wk.setup is not setup and not self._stop.is_set():
                time.sleep(0.0002)
        if self.meter:
            self.meter.begin(self.sync)
        c0 = [setup.router.counters(w) for w in range(len(self.workers))]
        t0 = time.perf_counter()
        time.sleep(window_s)
        c1 = [setup.router.counters(w) for w in range(len(self.workers))]
        t1 = time.perf_counter()
        energy = self.meter.end(self.sync).as_dict() if self.meter else None
        self._check()
        return self._result(label, setup, t1 - t0, window_s, warmup_s, c0, c1, (t0, t1), energy, alone_rps, idle_w)

    def _check(self):
        errors = [f"worker {i} ({wk.name}): {wk.error}" for i, wk in enumerate(self.workers) if wk.error]
        if errors:
            self.stop()
            raise RuntimeError("co-location stopped: " + "; ".join(errors))
        if self._running and self._stop.is_set():
            self.stop()
            raise RuntimeError("co-location stopped: the workers were stopped by an error reported earlier")

    def _result(self, label, setup, active, window_s, warmup_s, c0, c1, span, energy, alone_rps, idle_w):
        workers = []
        for i, (wk, a, b) in enumerate(zip(self.workers, c0, c1)):
            d = b - a
            ms = [lat * 1e3 for t, lat in list(wk.log) if span[0] <= t <= span[1]]
            wk.log = [x for x in wk.log if x[0] > span[1]]
            req = max(d.requests, 1)
            rec = {"worker": i, "model": wk.name, "requests": d.requests, "timed_requests": len(ms),
                   "throughput_rps": d.requests / active if active > 0 else None,
                   "p50_ms": stats.percentile(ms, 0.50), "p95_ms": stats.percentile(ms, 0.95),
                   "mean_ms": stats.mean(ms), "max_ms": max(ms) if ms else None,
                   "switches_per_request": d.switches / req, "barriers_per_request": d.barriers / req,
                   "unrouted": d.unrouted, "backend_errors": d.backend_errors, "counters": d.as_dict()}
            if alone_rps and alone_rps.get(wk.name) and rec["throughput_rps"] is not None:
                rec["normalized"] = rec["throughput_rps"] / alone_rps[wk.name]
            workers.append(rec)
        total = sum(w["requests"] for w in workers)
        out = {"label": label, "strategy": setup.plan.strategy, "models": list(self.names), "device": self.backend.name,
               "window_s": window_s, "warmup_s": warmup_s, "active_s": active, "capture_s": setup.capture_s,
               "requests": total, "throughput_rps": total / active if active > 0 else None, "workers": workers,
               "placements": setup.placements, "errors": [w.error for w in self.workers if w.error],
               "energy": energy, "idle_w": idle_w, "plan": json.loads(setup.plan.to_json())}
        norm = [w.get("normalized") for w in workers]
        out["jain"] = stats.jain(norm) if all(x is not None for x in norm) else None
        p95 = [w["p95_ms"] for w in workers if w["p95_ms"] is not None]
        out["slowest_p95_ms"] = max(p95) if p95 else None
        if energy:
            out["avg_power_w"] = energy["avg_power_w"]
            # The meter's window is aligned to the power counter's updates, so it is a little longer
            # than the counters' window; the workers run through both, so rate over power.
            p = energy["avg_power_w"]
            out["inferences_per_j"] = out["throughput_rps"] / p if p and out["throughput_rps"] else None
        return out

    def close(self):
        """Stops the workers, then frees every setup's graphs, router and pool."""
        try:
            self.stop()
            self.sync()
        finally:
            for s in self._setups.values():
                s.close()
            self._setups = {}
            self.active = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
