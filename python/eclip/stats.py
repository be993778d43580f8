"""Statistics of measured runs, with the definitions `eclip simulate` and the planner use, so a GPU
run and a simulated one are compared on one footing: percentile and Jain's index are the library's
own (eclip/core/stats.hpp through the C ABI), not a second copy."""
import ctypes

from ._loader import load


def _doubles(values):
    xs = [float(x) for x in values]
    return (ctypes.c_double * len(xs))(*xs), len(xs)


def percentile(values, q):
    """Nearest rank: the smallest value with at least q (0..1) of the samples at or below it; None
    for no samples. The library's definition (eclip_percentile), the simulator's."""
    arr, n = _doubles(values)
    if not n:
        return None
    out = ctypes.c_double()
    lib = load()
    lib.check(lib.eclip_percentile(arr, n, float(q), ctypes.byref(out)), "percentile")
    return out.value


def jain(values):
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when all equal, 1/n when one has all; None
    for no values (0 when all are 0, as the simulator reports). The library's (eclip_jain_index)."""
    arr, n = _doubles(values)
    if not n:
        return None
    out = ctypes.c_double()
    lib = load()
    lib.check(lib.eclip_jain_index(arr, n, ctypes.byref(out)), "jain_index")
    return out.value


def mean(values):
    xs = [float(x) for x in values]
    return sum(xs) / len(xs) if xs else None
