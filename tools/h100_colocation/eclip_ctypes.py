"""ctypes binding of libeclip_c (include/eclip/eclip_c.h): backend, plan, pool, router, batch graph
launch, counters and the energy meter. Standard library only, so it loads anywhere (the tests use the
"sim" backend on a machine without a GPU)."""
import ctypes
import ctypes.util
import math
import os

OK = 0
E_UNAVAILABLE = 5
ROUTE_SWITCHED = 0x1
ROUTE_BARRIER = 0x2


class Route(ctypes.Structure):
    _fields_ = [("stream", ctypes.c_uint64), ("kernel", ctypes.c_uint32), ("slot", ctypes.c_uint16),
                ("status", ctypes.c_uint16), ("flags", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class Counters(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in
                ("requests", "launches", "switches", "barriers", "unrouted", "backend_errors", "budget_held")]

    def as_dict(self):
        return {n: int(getattr(self, n)) for n, _ in self._fields_}


class TopologyInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 64), ("device", ctypes.c_char * 128), ("units", ctypes.c_uint32),
                ("groups", ctypes.c_uint32), ("max_masked_streams", ctypes.c_uint32), ("vendor", ctypes.c_uint32)]


class EnergyWindow(ctypes.Structure):
    _fields_ = [("seconds", ctypes.c_double), ("joules", ctypes.c_double), ("avg_power_w", ctypes.c_double),
                ("start_j", ctypes.c_double), ("end_j", ctypes.c_double), ("edge_wait_s", ctypes.c_double),
                ("aligned", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]

    def as_dict(self):
        return {"seconds": self.seconds, "joules": self.joules, "avg_power_w": self.avg_power_w,
                "start_j": self.start_j, "end_j": self.end_j, "edge_wait_s": self.edge_wait_s,
                "aligned": bool(self.aligned)}


SYNC_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class EclipError(RuntimeError):
    def __init__(self, code, message):
        super().__init__(f"{message} [{code}]")
        self.code = code


def find_library(explicit=None):
    """--lib, $ECLIP_C_LIB, or the system's libeclip_c."""
    for cand in (explicit, os.environ.get("ECLIP_C_LIB")):
        if cand:
            return cand
    found = ctypes.util.find_library("eclip_c")
    if found:
        return found
    raise FileNotFoundError("libeclip_c.so not found: pass --lib PATH or set ECLIP_C_LIB")


class Lib:
    """The loaded library with argument types declared. ctypes.CDLL releases the GIL during calls."""

    def __init__(self, path=None):
        self.path = find_library(path)
        L = self.lib = ctypes.CDLL(self.path)
        vp, u32, u64, i32, i64, sz = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int32,
                                      ctypes.c_int64, ctypes.c_size_t)
        P = ctypes.POINTER
        sig = {
            "eclip_abi_version": ([], ctypes.c_int),
            "eclip_last_error": ([], ctypes.c_char_p),
            "eclip_backend_create": ([ctypes.c_char_p, P(vp)], ctypes.c_int),
            "eclip_backend_destroy": ([vp], None),
            "eclip_backend_topology": ([vp, P(TopologyInfo)], ctypes.c_int),
            "eclip_plan_from_json": ([vp, ctypes.c_char_p, P(vp)], ctypes.c_int),
            "eclip_plan_destroy": ([vp], None),
            "eclip_pool_create": ([vp, vp, P(vp)], ctypes.c_int),
            "eclip_pool_destroy": ([vp], None),
            "eclip_pool_slot_count": ([vp, u32, P(u32)], ctypes.c_int),
            "eclip_pool_slot": ([vp, u32, u32, P(u64), P(u32)], ctypes.c_int),
            "eclip_router_create": ([vp, vp, i64, P(vp)], ctypes.c_int),
            "eclip_router_destroy": ([vp], None),
            "eclip_router_begin_request": ([vp, u32], ctypes.c_int),
            "eclip_router_route": ([vp, u32, P(Route)], ctypes.c_int),
            "eclip_router_launch_graphs": ([vp, u32, P(u64), sz, sz, P(Route)], ctypes.c_int),
            "eclip_router_counters": ([vp, i32, P(Counters)], ctypes.c_int),
            "eclip_energy_create": ([ctypes.c_char_p, vp, P(vp)], ctypes.c_int),
            "eclip_energy_destroy": ([vp], None),
            "eclip_energy_describe": ([vp, ctypes.c_char_p, sz], ctypes.c_int),
            "eclip_energy_read": ([vp, P(ctypes.c_double), P(ctypes.c_double)], ctypes.c_int),
            "eclip_energy_set_alignment": ([vp, ctypes.c_int, ctypes.c_double, ctypes.c_double], ctypes.c_int),
            "eclip_energy_begin": ([vp, SYNC_FN, vp], ctypes.c_int),
            "eclip_energy_end": ([vp, SYNC_FN, vp, P(EnergyWindow)], ctypes.c_int),
            "eclip_energy_idle": ([vp, ctypes.c_double, SYNC_FN, vp, P(EnergyWindow)], ctypes.c_int),
        }
        for name, (args, res) in sig.items():
            fn = getattr(L, name)
            fn.argtypes = args
            fn.restype = res

    def check(self, rc, what=""):
        if rc != OK:
            msg = self.lib.eclip_last_error().decode(errors="replace")
            raise EclipError(rc, f"{what}: {msg}" if what else msg)


class Backend:
    def __init__(self, lib, spec):
        self.L = lib
        self.h = ctypes.c_void_p()
        lib.check(lib.lib.eclip_backend_create(spec.encode(), ctypes.byref(self.h)), f"backend {spec}")
        info = TopologyInfo()
        lib.check(lib.lib.eclip_backend_topology(self.h, ctypes.byref(info)))
        self.name = info.name.decode()
        self.device = info.device.decode()
        self.units = info.units
        self.groups = info.groups
        self.max_masked_streams = info.max_masked_streams

    def close(self):
        if self.h:
            self.L.lib.eclip_backend_destroy(self.h)
            self.h = ctypes.c_void_p()


class Plan:
    def __init__(self, backend, plan_json_text):
        self.L = backend.L
        self.h = ctypes.c_void_p()
        self.L.check(self.L.lib.eclip_plan_from_json(backend.h, plan_json_text.encode(), ctypes.byref(self.h)), "plan")

    def close(self):
        if self.h:
            self.L.lib.eclip_plan_destroy(self.h)
            self.h = ctypes.c_void_p()


class Pool:
    """Every partition's stream of a plan; slots(w) = [(stream, groups), ...], slot 0 = whole device."""

    def __init__(self, backend, plan):
        self.L = backend.L
        self.h = ctypes.c_void_p()
        self.L.check(self.L.lib.eclip_pool_create(backend.h, plan.h, ctypes.byref(self.h)), "pool")

    def slots(self, worker):
        n = ctypes.c_uint32()
        self.L.check(self.L.lib.eclip_pool_slot_count(self.h, worker, ctypes.byref(n)))
        out = []
        for s in range(n.value):
            st, g = ctypes.c_uint64(), ctypes.c_uint32()
            self.L.check(self.L.lib.eclip_pool_slot(self.h, worker, s, ctypes.byref(st), ctypes.byref(g)))
            out.append((st.value, g.value))
        return out

    def close(self):
        if self.h:
            self.L.lib.eclip_pool_destroy(self.h)
            self.h = ctypes.c_void_p()


class Router:
    def __init__(self, pool, plan, budget=-1):
        self.L = pool.L
        self.h = ctypes.c_void_p()
        self.L.check(self.L.lib.eclip_router_create(pool.h, plan.h, budget, ctypes.byref(self.h)), "router")

    def begin_request(self, worker):
        self.L.check(self.L.lib.eclip_router_begin_request(self.h, worker))

    def route(self, worker):
        r = Route()
        self.L.check(self.L.lib.eclip_router_route(self.h, worker, ctypes.byref(r)))
        return r

    def launch_graphs(self, worker, execs, units, stride, routes=None):
        """execs: a ctypes uint64 array of units*stride handles; routes: a Route array or None."""
        self.L.check(self.L.lib.eclip_router_launch_graphs(self.h, worker, execs, units, stride, routes))

    def counters(self, worker=-1):
        c = Counters()
        self.L.check(self.L.lib.eclip_router_counters(self.h, worker, ctypes.byref(c)))
        return c.as_dict()

    def close(self):
        if self.h:
            self.L.lib.eclip_router_destroy(self.h)
            self.h = ctypes.c_void_p()


class EnergyMeter:
    """eclip's EnergyMeter (NVML on the H100). sync: a Python callable run at each window edge."""

    def __init__(self, lib, spec="nvml", backend=None):
        self.L = lib
        self.h = ctypes.c_void_p()
        lib.check(lib.lib.eclip_energy_create(spec.encode(), backend.h if backend else None, ctypes.byref(self.h)),
                  f"energy {spec}")
        buf = ctypes.create_string_buffer(160)
        lib.check(lib.lib.eclip_energy_describe(self.h, buf, 160))
        self.description = buf.value.decode()

    def _hook(self, sync):
        if sync is None:
            return SYNC_FN(0)

        def call(_user):
            try:
                sync()
                return 0
            except Exception:  # reported as ECLIP_E_BACKEND by the library
                return 1
        return SYNC_FN(call)

    def read(self):
        j, p = ctypes.c_double(), ctypes.c_double()
        self.L.check(self.L.lib.eclip_energy_read(self.h, ctypes.byref(j), ctypes.byref(p)))
        return j.value, (None if math.isnan(p.value) else p.value)

    def set_alignment(self, align, poll_s=0.0005, timeout_s=0.5):
        self.L.check(self.L.lib.eclip_energy_set_alignment(self.h, 1 if align else 0, poll_s, timeout_s))

    def begin(self, sync=None):
        hook = self._hook(sync)
        self.L.check(self.L.lib.eclip_energy_begin(self.h, hook, None), "energy begin")

    def end(self, sync=None):
        hook = self._hook(sync)
        w = EnergyWindow()
        self.L.check(self.L.lib.eclip_energy_end(self.h, hook, None, ctypes.byref(w)), "energy end")
        return w.as_dict()

    def idle(self, seconds, sync=None):
        hook = self._hook(sync)
        w = EnergyWindow()
        self.L.check(self.L.lib.eclip_energy_idle(self.h, seconds, hook, None, ctypes.byref(w)), "energy idle")
        return w.as_dict()

    def close(self):
        if self.h:
            self.L.lib.eclip_energy_destroy(self.h)
            self.h = ctypes.c_void_p()
