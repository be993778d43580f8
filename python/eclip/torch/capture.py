"""CUDA graphs captured per partition, with the partition's context current.

A graph's placement is fixed when it is captured: a graph captured on a partition's stream runs on
that partition's SMs. Capturing on the partition's stream is not enough, though: cuDNN creates its
handle's internal streams (resnext101's grouped convolutions fork onto them) and cuBLAS its
workspace in the context current when PyTorch makes the thread's handle. With the primary context
current those streams are the whole device's, the graph then holds work of two contexts, and
co-located partitions run in lockstep (found on the H100, run 2 of the co-location results).

So every capture for a slot runs in a thread of its own, where the slot's context is made current
(Pool.push_context, the library's eclip_pool_slot_push_context) before any library call: the
thread's cuDNN/cuBLAS handles are created there, once, in that context. The threads are parked for
good, never ended: PyTorch hands a finished thread's handles to other threads, and a reused handle
would carry its old context into another partition. A PartitionCapture's threads are retired with
close() (left parked, never reused), before the pool's contexts go away."""
import queue
import threading

from . import require_torch
from .streams import PartitionStreams

_retired = []  # parked threads of closed captures: kept referenced, never reused


class _ParkedThread:
    """A daemon thread that runs callables one at a time, for as long as the process lives."""

    def __init__(self, name, init):
        self._q = queue.Queue()
        ready = threading.Event()
        self._init_error = None
        self._t = threading.Thread(target=self._main, args=(init, ready), name=name, daemon=True)
        self._t.start()
        ready.wait()
        if self._init_error is not None:
            raise RuntimeError(f"{name}: {self._init_error}") from self._init_error

    def _main(self, init, ready):
        try:
            init()
        except BaseException as e:  # reported to the creator
            self._init_error = e
            ready.set()
            return
        ready.set()
        while True:  # never ends (see the module docstring)
            fn, box, done = self._q.get()
            try:
                box["value"] = fn()
            except BaseException as e:
                box["error"] = e
            done.set()

    def run(self, fn):
        box, done = {}, threading.Event()
        self._q.put((fn, box, done))
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]


class PartitionCapture:
    """Captures callables as CUDA graphs on a pool's slot streams, each in its slot's thread with the
    slot's context current. device: the CUDA device index of the pool's backend (default current)."""

    def __init__(self, pool, device=None, streams=None):
        self.torch = require_torch()
        self.pool = pool
        self.device = self.torch.cuda.current_device() if device is None else device
        self.streams = streams or PartitionStreams(pool, self.device)
        self._threads = {}
        self.captures = 0

    def _thread(self, worker, slot):
        key = (worker, slot)
        th = self._threads.get(key)
        if th is None:
            torch, dev = self.torch, self.device
            th = self._threads[key] = _ParkedThread(f"eclip-capture-w{worker}-s{slot}",
                                                    lambda: torch.cuda.set_device(dev))
        return th

    def run(self, worker, slot, fn):
        """fn() in the slot's thread with the slot's context current (pushed for the call, popped
        after it), e.g. to build per-thread library state before capturing."""
        pool = self.pool

        def in_context():
            pool.push_context(worker, slot)
            try:
                return fn()
            finally:
                pool.pop_context()
        return self._thread(worker, slot).run(in_context)

    def capture(self, worker, slot, fn, mempool=None, warmup=1):
        """A torch.cuda.CUDAGraph of fn() captured on the slot's stream in the slot's context. fn runs
        `warmup` times eagerly first on that stream (library handles, workspaces, lazy init), under
        torch.inference_mode(). mempool: a torch.cuda.graph_pool_handle() to share between graphs
        replayed one after another (e.g. one worker's units)."""
        torch = self.torch
        stream = self.streams.stream(worker, slot)

        def task():
            with torch.inference_mode(), torch.cuda.stream(stream):
                for _ in range(warmup):
                    fn()
                stream.synchronize()
                graph = torch.cuda.CUDAGraph()
                # thread_local: other threads (running workers) may synchronise while this one captures.
                graph.capture_begin(pool=mempool, capture_error_mode="thread_local")
                try:
                    fn()
                finally:
                    graph.capture_end()
            stream.synchronize()
            return graph
        graph = self.run(worker, slot, task)
        self.captures += 1
        return graph

    def close(self):
        """Retires this capture's threads (parked for good, never reused): call it before the pool is
        destroyed, so that a later pool's contexts never meet handles made in this one's."""
        _retired.extend(self._threads.values())
        self._threads = {}
