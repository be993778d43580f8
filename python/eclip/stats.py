"""Statistics of measured runs, with the definitions `eclip simulate` uses (src/experiments), so a
GPU run and a simulated one are compared on one footing."""
import math


def percentile(values, q):
    """Nearest rank: the smallest value with at least q (0..1) of the samples at or below it; None
    for no samples."""
    v = sorted(values)
    if not v:
        return None
    rank = math.ceil(q * len(v))
    return v[min(len(v) - 1, max(rank, 1) - 1)]


def jain(values):
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 when all equal, 1/n when one has all; None
    for no values (0 when all are 0, as the simulator reports)."""
    xs = [float(x) for x in values]
    if not xs:
        return None
    s2 = sum(x * x for x in xs)
    return sum(xs) ** 2 / (len(xs) * s2) if s2 > 0 else 0.0


def mean(values):
    xs = [float(x) for x in values]
    return sum(xs) / len(xs) if xs else None
