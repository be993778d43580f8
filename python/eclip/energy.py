"""EnergyMeter: a device's cumulative energy counter read at the edges of a window ("nvml[:i]",
"rocm_smi[:i]", or "sim" for a "sim" backend). Each edge first calls the synchronise hook (e.g.
torch.cuda.synchronize) so the window holds exactly the work submitted inside it; by default an
edge then waits for the counter's next update (NVML moves every 20-100 ms)."""
import contextlib
import ctypes
import math
from dataclasses import dataclass

from . import _abi
from ._handle import Handle


@dataclass(frozen=True)
class EnergyWindow:
    seconds: float      # between the two edges
    joules: float       # counter difference
    avg_power_w: float  # joules / seconds
    start_j: float      # raw counter at the edges
    end_j: float
    edge_wait_s: float  # time the edges spent waiting for a counter update
    aligned: bool       # both edges fell on counter updates

    def as_dict(self):
        return dict(self.__dict__)


class _SyncHook:
    """A Python callable as the C synchronise hook; keeps the exception it raised, if any."""

    def __init__(self, sync):
        self.sync = sync
        self.error = None
        self.fn = _abi.SYNC_FN(self._call) if sync is not None else _abi.SYNC_FN()

    def _call(self, _user):
        try:
            self.sync()
            return 0
        except BaseException as e:  # reported by the library as ECLIP_E_BACKEND, re-raised below
            self.error = e
            return 1


class EnergyMeter(Handle):
    _destroy = "eclip_energy_destroy"

    def __init__(self, spec="nvml", backend=None, lib=None):
        super().__init__(lib or (backend._lib if backend is not None else None))
        self.spec = spec
        self.backend = backend
        self._lib.check(self._lib.eclip_energy_create(spec.encode(), backend.handle if backend is not None else None,
                                                      ctypes.byref(self._h)), f"energy {spec!r}")
        buf = ctypes.create_string_buffer(256)
        self._lib.check(self._lib.eclip_energy_describe(self._h, buf, len(buf)), "energy describe")
        self.description = buf.value.decode(errors="replace")

    def read(self):
        """(joules, power_w): the raw counter, and the current draw or None where the source has none."""
        j, p = ctypes.c_double(), ctypes.c_double()
        self._lib.check(self._lib.eclip_energy_read(self.handle, ctypes.byref(j), ctypes.byref(p)), "energy read")
        return j.value, (None if math.isnan(p.value) else p.value)

    def set_alignment(self, align, poll_s=0.0005, timeout_s=0.5):
        """align: wait for a counter update at each edge; poll_s: polling interval; timeout_s: the
        longest an edge waits."""
        self._lib.check(self._lib.eclip_energy_set_alignment(self.handle, 1 if align else 0, poll_s, timeout_s),
                        "energy set_alignment")

    def _run(self, what, sync, call):
        hook = _SyncHook(sync)
        rc = call(hook.fn)
        if rc != 0:
            err = self._lib.last_error()
            from .errors import EclipError
            raise EclipError(rc, err or "(no message)", what) from hook.error

    def begin(self, sync=None):
        """The window's start edge."""
        self._run("energy begin", sync, lambda fn: self._lib.eclip_energy_begin(self.handle, fn, None))

    def end(self, sync=None):
        """The window's end edge: the EnergyWindow since begin()."""
        w = _abi.EnergyWindow()
        self._run("energy end", sync, lambda fn: self._lib.eclip_energy_end(self.handle, fn, None, ctypes.byref(w)))
        return EnergyWindow(**w.as_dict())

    def idle(self, seconds, sync=None):
        """A window of about `seconds` in which the caller launches nothing: idle power."""
        w = _abi.EnergyWindow()
        self._run("energy idle", sync,
                  lambda fn: self._lib.eclip_energy_idle(self.handle, float(seconds), fn, None, ctypes.byref(w)))
        return EnergyWindow(**w.as_dict())

    @contextlib.contextmanager
    def window(self, sync=None):
        """with meter.window(torch.cuda.synchronize) as w: ...   then w.result is the EnergyWindow."""
        box = _WindowResult()
        self.begin(sync)
        yield box
        box.result = self.end(sync)


class _WindowResult:
    result = None
