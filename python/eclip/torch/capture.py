"""CUDA graphs captured per partition, with the partition's context current.

A graph's placement is fixed when it is captured: a graph captured on a partition's stream runs on
that partition's SMs. Capturing on the partition's stream is not enough, though: cuDNN creates its
handle's internal streams (resnext101's grouped convolutions fork onto them) and cuBLAS its
workspace in the context current when PyTorch makes the thread's handle. With the primary context
current those streams are the whole device's, the graph then holds work of two contexts, and
co-located partitions run in lockstep (found on the H100, run 2 of the co-location results).

So every capture for a partition runs in a thread of its own, where the partition's context is
made current (Pool.push_context, the library's eclip_pool_slot_push_context) before any library
call: the thread's cuDNN/cuBLAS handles are created there, once, in that context. The threads are
parked for good, never ended: PyTorch hands a finished thread's handles to other threads, and a
reused handle would carry its old context into another partition.

Threads and the streams captured on are kept per (backend, partition, owner), not per pool: the
library keeps one green context per partition for the backend's life and a capture stream per
(partition, owner) (Pool.capture_stream). A plan switched to later reuses them, so a tuning of many
plans makes its threads, handles and PyTorch's per-(handle, stream) cuBLAS/cuBLASLt workspaces
(32 MiB each on Hopper, never freed by PyTorch) once per partition and owner: with a thread and a
stream per pool they grew by 4 threads and 260 MiB with every four-worker plan set up (measured on
the H200, docs/cuda.md). The owner is who replays the graphs (a worker): two owners never share a
stream, hence never a workspace, so graphs replayed at the same time never share one either."""
import queue
import threading
import weakref

from . import require_torch
from .streams import PartitionStreams

# backend -> {capture stream handle: _ParkedThread}: a backend's partitions' capture threads. When
# the backend goes, so does its entry; its threads stay parked, never reused (see above).
_threads_of = weakref.WeakKeyDictionary()
_threads_lock = threading.Lock()
# Held from push to pop: a green context can be current to one thread at a time, and every
# capture thread of a partition (one per owner) pushes the same one; so captures in this process
# take turns here (the library would make a second thread's push wait, up to 30 s).
_context_lock = threading.Lock()


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
    """Captures callables as CUDA graphs in a pool's partitions, each on its partition's capture
    stream for the owner (Pool.capture_stream) in that stream's thread, with the partition's
    context current. device: the CUDA device index of the pool's backend (default current)."""

    def __init__(self, pool, device=None, streams=None):
        self.torch = require_torch()
        self.pool = pool
        self.device = self.torch.cuda.current_device() if device is None else device
        self.streams = streams or PartitionStreams(pool, self.device)
        self.captures = 0

    def capture_stream(self, worker, slot, owner=None):
        """The torch stream graphs of `owner` (default: the worker index) are captured on in the
        slot's partition."""
        return self.streams.of_handle(self.pool.capture_stream(worker, slot, worker if owner is None else owner))

    def _thread(self, stream):
        with _threads_lock:
            threads = _threads_of.setdefault(self.pool.backend, {})
            th = threads.get(stream.cuda_stream)
            if th is None:
                torch, dev = self.torch, self.device
                th = threads[stream.cuda_stream] = _ParkedThread(f"eclip-capture-{stream.cuda_stream:#x}",
                                                                 lambda: torch.cuda.set_device(dev))
        return th

    def run(self, worker, slot, fn, owner=None):
        """fn() in the thread of the slot's capture stream for `owner` (default: the worker index),
        with the slot's context current (pushed for the call, popped after it), e.g. to build
        per-thread library state before capturing."""
        return self._run(worker, slot, self.capture_stream(worker, slot, owner), fn)

    def _run(self, worker, slot, stream, fn):
        pool = self.pool

        def in_context():
            with _context_lock:
                pool.push_context(worker, slot)
                try:
                    return fn()
                finally:
                    pool.pop_context()
        return self._thread(stream).run(in_context)

    def capture(self, worker, slot, fn, mempool=None, warmup=1, owner=None):
        """A torch.cuda.CUDAGraph of fn() captured in the slot's partition, on its capture stream for
        `owner` (default: the worker index; who replays the graph: graphs replayed at the same time
        need different owners) in that stream's thread with the partition's context current. fn
        runs `warmup` times eagerly first on that stream (library handles, workspaces, lazy init),
        under torch.inference_mode(). mempool: a torch.cuda.graph_pool_handle() to share between
        graphs replayed one after another (e.g. one worker's units). Launch the graph on any stream
        of the slot (its placement is the partition's)."""
        torch = self.torch
        stream = self.capture_stream(worker, slot, owner)

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
        graph = self._run(worker, slot, stream, task)
        self.captures += 1
        return graph
