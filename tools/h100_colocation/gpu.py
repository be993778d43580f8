"""The GPU side shared by the profiler and the harness: green-context capture streams from eclip's
pool, static buffers chaining a model's groups, and CUDA graphs per (group, placement).

A CUDA graph's SM placement is fixed when it is captured (docs/cuda.md): a graph captured on a green
stream runs on that partition's SMs whichever stream launches it. So each group is captured once per
placement (the SM set of a (home group, size) partition, or the whole device) on a long-lived capture
stream of that placement, and the graph exec is launched on whatever stream eclip's router picks.
Capture streams come from two eclip pools over the H100: four workers (homes 0/4/8/12) with sizes
1, 2, 4 groups (12 masked streams), and the same four with 8 groups (4 more); the whole device is
worker 0's fallback stream (plain, primary context)."""
import ctypes
import json

import torch

import plans
from eclip_ctypes import Plan, Pool


class CaptureStreams:
    def __init__(self, backend, workers=4):
        self.backend = backend
        self.workers = workers
        self._keep = []
        slots_by_plan = []
        for pj in plans.capture_plans(workers):
            plan = Plan(backend, json.dumps(pj))
            pool = Pool(backend, plan)
            self._keep += [pool, plan]
            slots_by_plan.append([pool.slots(w) for w in range(workers)])
        self.streams = plans.capture_keys(slots_by_plan, workers)
        assert "whole" in self.streams and len(self.streams) == 1 + 4 * workers, sorted(map(str, self.streams))
        self._ext = {}

    def stream(self, key):
        return self.streams[key]

    def torch_stream(self, key):
        h = self.streams[key]
        if h not in self._ext:
            self._ext[h] = torch.cuda.ExternalStream(h)
        return self._ext[h]

    def close(self):
        for obj in self._keep:
            obj.close()
        self._keep = []


class ChainedModel:
    """A GroupedModel with static buffers: bufs[g] is group g's input, bufs[g+1] its output."""

    def __init__(self, gm):
        self.gm = gm
        self.name = gm.name
        self.G = len(gm.groups)
        with torch.inference_mode():
            bufs = [gm.example]
            x = gm.example
            for _, fn in gm.groups:
                x = fn(x)
                bufs.append(torch.empty_like(x))
        torch.cuda.synchronize()
        self.bufs = bufs
        self.pool = torch.cuda.graph_pool_handle()  # one memory pool for all of this model's graphs
        self.graphs = {}  # (group, placement key) -> CUDAGraph

    def run_group_eager(self, g):
        _, fn = self.gm.groups[g]
        self.bufs[g + 1].copy_(fn(self.bufs[g]))

    def capture(self, g, key, cs, cache=None, pool=None):
        """Group g's graph for placement `key`, captured on cs.torch_stream(key) (cached in `cache`,
        by default this model's shared cache, in `pool`, by default this model's memory pool)."""
        cache = self.graphs if cache is None else cache
        k = (g, key)
        if k in cache:
            return cache[k]
        s = cs.torch_stream(key)
        with torch.inference_mode(), torch.cuda.stream(s):
            self.run_group_eager(g)  # warm-up on the capture stream: library handles, workspaces
            s.synchronize()
            graph = torch.cuda.CUDAGraph()
            graph.capture_begin(pool=self.pool if pool is None else pool)
            try:
                self.run_group_eager(g)
            finally:
                graph.capture_end()
        s.synchronize()
        cache[k] = graph
        return graph

    def capture_all(self, key, cs):
        return [self.capture(g, key, cs) for g in range(self.G)]

    def exec_handle(self, g, key, cs):
        return self.capture(g, key, cs).raw_cuda_graph_exec()

    def drop_graphs(self):
        self.graphs.clear()


class StreamsByHandle:
    """Capture streams named by their raw handle: ("stream", handle) -> torch.cuda.ExternalStream."""

    def __init__(self):
        self._ext = {}

    def torch_stream(self, key):
        h = key[1]
        if h not in self._ext:
            self._ext[h] = torch.cuda.ExternalStream(h)
        return self._ext[h]


def exec_array(handles):
    return (ctypes.c_uint64 * len(handles))(*handles)
