"""Pool: every partition stream a plan needs, created once, up front. Slot 0 of each worker is its
whole-device fallback; the others are partitions grown from the worker's home group."""
import contextlib
import ctypes
from dataclasses import dataclass

from ._handle import Handle


@dataclass(frozen=True)
class Slot:
    worker: int
    slot: int
    stream: int  # raw stream handle (CUstream / hipStream_t; a queue id on "sim")
    groups: int  # partition size in topology groups (the whole device on slot 0)


class Pool(Handle):
    _destroy = "eclip_pool_destroy"

    def __init__(self, backend, plan):
        super().__init__(backend._lib)
        self.backend = backend
        self.plan = plan
        self._lib.check(self._lib.eclip_pool_create(backend.handle, plan.handle, ctypes.byref(self._h)), "pool")

    def slot_count(self, worker):
        n = ctypes.c_uint32()
        self._lib.check(self._lib.eclip_pool_slot_count(self.handle, worker, ctypes.byref(n)), "pool slot_count")
        return int(n.value)

    def slot(self, worker, slot):
        stream, groups = ctypes.c_uint64(), ctypes.c_uint32()
        self._lib.check(self._lib.eclip_pool_slot(self.handle, worker, slot, ctypes.byref(stream), ctypes.byref(groups)),
                        "pool slot")
        return Slot(worker, slot, int(stream.value), int(groups.value))

    def slots(self, worker):
        """[Slot] of `worker`, slot 0 (whole device) first."""
        return [self.slot(worker, s) for s in range(self.slot_count(worker))]

    def push_context(self, worker, slot):
        """Makes the slot's partition context current on this thread (CUDA: its green context), so
        graphs captured now, and the cuDNN/cuBLAS handles and internal streams created now, stay in
        the partition. A no-op on "sim" and "hip". Pair with pop_context() on the same thread."""
        self._lib.check(self._lib.eclip_pool_slot_push_context(self.handle, worker, slot),
                        f"push context of worker {worker} slot {slot}")

    def pop_context(self):
        """Restores the context that was current before the last push_context() on this thread."""
        self._lib.check(self._lib.eclip_pool_slot_pop_context(self.handle), "pop context")

    def capture_stream(self, worker, slot, owner):
        """The raw handle of a stream of the slot's partition kept by the backend for capturing graphs,
        one per (partition, owner), made on first use and destroyed with the backend (not with this
        pool): capture there, with push_context(worker, slot), when plans come and go, so that what
        libraries keep per (thread, stream), such as PyTorch's cuBLAS workspaces, is made once per
        partition and owner rather than once per pool. owner: an int naming who replays the graphs
        (two owners never share a stream)."""
        if not isinstance(owner, int) or isinstance(owner, bool) or not 0 <= owner < 2**64:
            raise ValueError(f"capture_stream: owner must be an int in [0, 2**64), got {owner!r}")
        stream = ctypes.c_uint64()
        self._lib.check(self._lib.eclip_pool_slot_capture_stream(self.handle, worker, slot, owner, ctypes.byref(stream)),
                        f"capture stream of worker {worker} slot {slot}")
        return int(stream.value)

    @contextlib.contextmanager
    def context(self, worker, slot):
        """with pool.context(w, s): ...  (push_context / pop_context around the block)."""
        self.push_context(worker, slot)
        try:
            yield self.slot(worker, slot)
        finally:
            self.pop_context()
