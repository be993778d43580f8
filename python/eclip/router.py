"""Router: per unit (kernel or kernel group) of a worker's request, the stream of the partition the
plan gives it, with a barrier only when the worker's previous unit is elsewhere and not complete.
launch_graphs launches a whole request of captured graphs in one C call (the GIL is released)."""
import ctypes
from dataclasses import dataclass

from . import _abi
from ._abi import Route
from ._handle import Handle


@dataclass(frozen=True)
class Counters:
    requests: int
    launches: int
    switches: int
    barriers: int
    unrouted: int
    backend_errors: int
    budget_held: int

    def as_dict(self):
        return dict(self.__dict__)

    def __sub__(self, other):
        return Counters(*[getattr(self, f) - getattr(other, f) for f in _abi.COUNTER_FIELDS])


def exec_array(handles):
    """A C array of graph exec handles (uint64), for launch_graph(s); build it once, reuse it."""
    return (ctypes.c_uint64 * len(handles))(*handles)


def route_array(units):
    """Room for `units` routing decisions, for launch_graphs(routes=...)."""
    return (Route * units)()


def _dim3(v):
    v = tuple(v) + (1,) * (3 - len(tuple(v)))
    return (ctypes.c_uint32 * 3)(*v)


class Router(Handle):
    _destroy = "eclip_router_destroy"

    def __init__(self, pool, plan=None, switch_budget=None):
        """switch_budget: the most switches per request enforced online (None: the plan's own)."""
        super().__init__(pool._lib)
        self.pool = pool
        self.plan = plan if plan is not None else pool.plan
        budget = -1 if switch_budget is None else int(switch_budget)
        self._lib.check(self._lib.eclip_router_create(pool.handle, self.plan.handle, budget, ctypes.byref(self._h)),
                        "router")

    def begin_request(self, worker):
        self._lib.check(self._lib.eclip_router_begin_request(self.handle, worker), "begin_request")

    def route(self, worker):
        """The next unit's Route (a failed marker/barrier does not fail the call: see route.status)."""
        r = Route()
        self._lib.check(self._lib.eclip_router_route(self.handle, worker, ctypes.byref(r)), "route")
        return r

    def launch_graph(self, worker, execs):
        """Routes the next unit and launches a graph exec on its stream: execs is one handle, or one
        per pool slot of the worker (each captured on that slot's partition). Returns the Route."""
        arr = execs if isinstance(execs, ctypes.Array) else exec_array([execs] if isinstance(execs, int) else execs)
        r = Route()
        self._lib.check(self._lib.eclip_router_launch_graph(self.handle, worker, arr, len(arr), ctypes.byref(r)),
                        "launch_graph")
        return r

    def launch_graphs(self, worker, execs, units, stride=1, routes=None):
        """Launches `units` units in one C call: unit i runs execs[i * stride + (stride == 1 ? 0 :
        slot)] on its routed stream. execs: exec_array(...) (or a list, converted each call);
        stride: 1, or the worker's slot count; routes: route_array(units) to receive the decisions."""
        arr = execs if isinstance(execs, ctypes.Array) else exec_array(execs)
        if len(arr) < units * stride:
            raise ValueError(f"launch_graphs: {len(arr)} execs for {units} units x stride {stride}")
        if routes is not None and len(routes) < units:
            raise ValueError(f"launch_graphs: room for {len(routes)} routes, {units} units")
        self._lib.check(self._lib.eclip_router_launch_graphs(self.handle, worker, arr, units, stride, routes),
                        "launch_graphs")

    def launch_kernel(self, worker, kernel, grid, block, args, shared_bytes=0):
        """Routes the next unit and launches a __global__ function (its host address, an int) with
        cudaLaunchKernel / hipLaunchKernel. args: a ctypes void* array of pointers to the arguments."""
        r = Route()
        self._lib.check(self._lib.eclip_router_launch_kernel(self.handle, worker, ctypes.c_void_p(kernel), _dim3(grid),
                                                             _dim3(block), shared_bytes, args, ctypes.byref(r)),
                        "launch_kernel")
        return r

    def launch_function(self, worker, function, grid, block, args, shared_bytes=0, extra=None):
        """Routes the next unit and launches a CUfunction / hipFunction_t (an int handle)."""
        r = Route()
        self._lib.check(self._lib.eclip_router_launch_function(self.handle, worker, ctypes.c_void_p(function),
                                                               _dim3(grid), _dim3(block), shared_bytes, args, extra,
                                                               ctypes.byref(r)),
                        "launch_function")
        return r

    def counters(self, worker=-1):
        """Counters of one worker, or (worker=-1) the sum over all."""
        c = _abi.Counters()
        self._lib.check(self._lib.eclip_router_counters(self.handle, worker, ctypes.byref(c)), "counters")
        return Counters(**c.as_dict())
