"""Backend: the device eclip partitions ("sim[:preset]", "cuda[:ordinal]", "hip[:ordinal]")."""
import ctypes
from dataclasses import dataclass

from . import _abi
from ._handle import Handle

VENDORS = {0: "amd", 1: "nvidia"}


@dataclass(frozen=True)
class Topology:
    name: str                # the topology name plans and profiles refer to, e.g. "H100"
    device: str              # the full device name ("" for sim)
    units: int               # SMs (NVIDIA) or CUs (AMD)
    groups: int              # allocation atoms / shader engines
    max_masked_streams: int  # the pool's queue limit
    vendor: str              # "amd" or "nvidia"


@dataclass(frozen=True)
class SizeClass:
    groups: int  # the plan's "config"
    units: int   # SMs / CUs of a partition of that size grown from group 0


class Backend(Handle):
    _destroy = "eclip_backend_destroy"

    def __init__(self, spec="sim", lib=None):
        super().__init__(lib)
        self.spec = spec
        self._lib.check(self._lib.eclip_backend_create(spec.encode(), ctypes.byref(self._h)), f"backend {spec!r}")
        info = _abi.TopologyInfo()
        self._lib.check(self._lib.eclip_backend_topology(self._h, ctypes.byref(info)), "backend topology")
        self.topology = Topology(info.name.decode(errors="replace"), info.device.decode(errors="replace"),
                                 int(info.units), int(info.groups), int(info.max_masked_streams),
                                 VENDORS.get(info.vendor, str(info.vendor)))
        self._size_classes = None

    @property
    def name(self):
        return self.topology.name

    def size_classes(self):
        """The topology's partition sizes, ascending, the last one the whole device: [SizeClass].

        The C ABI has no call for them (yet), so they are asked of the library's own plan check: a
        one-kernel plan on each group count is valid exactly when that count is a size class, and
        the plan's JSON gives its units. No topology arithmetic here."""
        if self._size_classes is None:
            from .plan import Plan
            from .errors import EclipError
            out = []
            for g in range(1, self.topology.groups + 1):
                doc = {"format": "eclip.plan", "version": 1, "device": self.name, "strategy": "size-probe",
                       "workers": [{"model": "probe", "groups": [{"first": 0, "count": 1, "config": g}]}]}
                try:
                    with Plan.from_json(self, doc) as plan:
                        units = plan.to_dict()["workers"][0]["groups"][0]["units"]
                except EclipError as e:
                    if e.code in (1, 3):  # not a size class: the plan check says so
                        continue
                    raise
                out.append(SizeClass(g, int(units)))
            if not out or out[-1].groups != self.topology.groups:
                raise EclipError(99, f"{self.name}: the library accepted no plan on the whole device "
                                     f"({self.topology.groups} groups); size classes found: {out}", "size_classes")
            self._size_classes = out
        return list(self._size_classes)

    def __repr__(self):
        t = self.topology
        return (f"Backend({self.spec!r}: {t.name}{' (' + t.device + ')' if t.device else ''}, {t.units} units in "
                f"{t.groups} groups, <= {t.max_masked_streams} masked streams)")
