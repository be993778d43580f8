"""Transparent mode from Python: the calls libeclip_preload.so / libeclip_preload_cuda.so export
besides the launch entry points they interpose. An unmodified program needs none of them; a server
running several workers as threads, or wanting exact request boundaries, uses them. They are found
in the process (LD_PRELOAD), not in libeclip_c: available() is False without the preload, and the
program runs the same."""
import ctypes

from .errors import EclipError

# eclip_preload_counters, field for field (fields are only ever appended)
COUNTER_FIELDS = ("launches", "routed", "kept", "unplanned", "captured", "switches", "barriers", "joins", "requests",
                  "skipped", "eclip_ns")


class PreloadCounters(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in COUNTER_FIELDS]

    def as_dict(self):
        return {n: int(getattr(self, n)) for n in COUNTER_FIELDS}


_api = None


def _lookup():
    global _api
    if _api is None:
        try:
            proc = ctypes.CDLL(None)
            fns = {n: getattr(proc, "eclip_" + n) for n in ("set_worker", "get_worker", "begin_request",
                                                          "preload_active", "preload_get_counters")}
        except (AttributeError, OSError):
            _api = False
            return None
        fns["set_worker"].argtypes = [ctypes.c_int]
        fns["get_worker"].argtypes = [ctypes.POINTER(ctypes.c_int)]
        fns["begin_request"].argtypes = []
        fns["preload_active"].argtypes = [ctypes.POINTER(ctypes.c_int)]
        fns["preload_get_counters"].argtypes = [ctypes.c_int32, ctypes.POINTER(PreloadCounters)]
        for f in fns.values():
            f.restype = ctypes.c_int
        last = getattr(proc, "eclip_last_error", None)
        if last is not None:
            last.restype = ctypes.c_char_p
        fns["last_error"] = last
        _api = fns
    return _api or None


def available():
    """True when the interposer is loaded in this process."""
    return _lookup() is not None


def _call(name, *args):
    api = _lookup()
    if api is None:
        raise EclipError(5, "the eclip interposer is not loaded (LD_PRELOAD=libeclip_preload_cuda.so or "
                            "libeclip_preload.so)", name)
    rc = api[name](*args)
    if rc != 0:
        msg = api["last_error"]().decode(errors="replace") if api["last_error"] else ""
        raise EclipError(rc, msg or "(no message)", name)


def set_worker(worker):
    """This thread's worker (a plan worker); -1: back to ECLIP_WORKER."""
    _call("set_worker", int(worker))


def get_worker():
    out = ctypes.c_int()
    _call("get_worker", ctypes.byref(out))
    return out.value


def begin_request():
    """This thread's worker starts a new request: its next launch is the plan's kernel 0. Returns
    False (and does nothing) without the interposer or without an active plan, so that a server can
    call it unconditionally."""
    if not available():
        return False
    try:
        _call("begin_request")
    except EclipError as e:
        if e.code == 5:  # ECLIP_E_UNAVAILABLE: no plan is active, everything passes through
            return False
        raise
    return True


def active():
    """True when launches are routed by a plan (False also without the interposer)."""
    if not available():
        return False
    out = ctypes.c_int()
    _call("preload_active", ctypes.byref(out))
    return bool(out.value)


def counters(worker=-1):
    """The interposer's counters of one worker or (-1) all, as a dict; None without a plan."""
    if not available():
        return None
    c = PreloadCounters()
    try:
        _call("preload_get_counters", int(worker), ctypes.byref(c))
    except EclipError:
        return None
    return c.as_dict()
