"""eclip: several ML-inference workers sharing one GPU, each kernel group on a partition of compute
units (NVIDIA green contexts, AMD CU masks, or a simulated device).

Pure Python over the C ABI (libeclip_c, include/eclip/eclip_c.h) with ctypes: routing, topology,
the planner, pools and the energy meter all run in the library. The library is found on first use
(ECLIP_LIBRARY, the install prefix, a build tree, the system: see eclip._loader).

    import eclip
    be = eclip.Backend("sim")                        # or "cuda", "hip"
    prof = eclip.Profile.from_file("profile_b1.json")
    plan = eclip.Plan.make(be, prof, ["albert", "vgg19"], "eclip")
    pool = eclip.Pool(be, plan); router = eclip.Router(pool)
    router.begin_request(0); r = router.route(0)     # r.stream: launch worker 0's next unit there

eclip.torch adds PyTorch: partition streams, per-partition graph capture, a co-location runner and
the group profiler behind `eclip profile`."""
from ._abi import ABI_VERSION, Route
from ._loader import load as load_library
from .backend import Backend, SizeClass, Topology
from .energy import EnergyMeter, EnergyWindow
from .errors import AbiVersionError, EclipError, LibraryError
from .plan import STRATEGIES, Plan, default_mixes
from .pool import Pool, Slot
from .profile import Profile
from .router import Counters, Router, exec_array, route_array
from . import search

__version__ = "0.2.0"


def version():
    """The library's version ("0.2.0")."""
    return load_library().eclip_version().decode()


def abi_version():
    return load_library().abi_version


__all__ = ["ABI_VERSION", "AbiVersionError", "Backend", "Counters", "EclipError", "EnergyMeter", "EnergyWindow",
           "LibraryError", "Plan", "Pool", "Profile", "Route", "Router", "STRATEGIES", "SizeClass", "Slot", "Topology",
           "abi_version", "default_mixes", "exec_array", "load_library", "route_array", "version"]
