"""A model split into units (its top-level blocks) chained through static buffers, so that each unit
is a callable without arguments, which a CUDA graph can capture: bufs[g] is unit g's input,
bufs[g + 1] its output."""
from . import require_torch


class ChainedModel:
    def __init__(self, name, units, example):
        """units: [(name, fn)] where fn maps one tensor to the next; example: the first input."""
        torch = require_torch()
        self.name = name
        self.unit_names = [n for n, _ in units]
        self._fns = [fn for _, fn in units]
        with torch.inference_mode():
            bufs = [example]
            x = example
            for fn in self._fns:
                x = fn(x)
                bufs.append(torch.empty_like(x))
        torch.cuda.synchronize()
        self.bufs = bufs

    @classmethod
    def of(cls, grouped):
        """From an eclip.torch.models.GroupedModel."""
        return cls(grouped.name, grouped.groups, grouped.example)

    def __len__(self):
        return len(self._fns)

    def unit(self, g):
        """Unit g as a callable without arguments: bufs[g + 1] = fn_g(bufs[g])."""
        fn, src, dst = self._fns[g], self.bufs[g], self.bufs[g + 1]

        def run():
            dst.copy_(fn(src))
        return run

    def units(self):
        return [self.unit(g) for g in range(len(self))]

    @property
    def output(self):
        return self.bufs[-1]
