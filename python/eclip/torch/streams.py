"""A pool's partitions as torch streams: torch.cuda.ExternalStream over the raw stream handles the
library created (green-context streams on CUDA). torch never owns them: the pool must outlive them."""
from . import require_torch


class PartitionStreams:
    def __init__(self, pool, device=None):
        self.torch = require_torch()
        self.pool = pool
        self.device = device
        self._by_handle = {}

    def of_handle(self, handle):
        """The torch stream of a raw handle (a Route's .stream or a Slot's), made once."""
        s = self._by_handle.get(handle)
        if s is None:
            s = self._by_handle[handle] = self.torch.cuda.ExternalStream(handle, device=self.device)
        return s

    def stream(self, worker, slot):
        return self.of_handle(self.pool.slot(worker, slot).stream)

    def worker(self, worker):
        """[torch stream] of every slot of `worker`, slot 0 (whole device) first."""
        return [self.of_handle(s.stream) for s in self.pool.slots(worker)]

    def for_route(self, route):
        return self.of_handle(route.stream)
