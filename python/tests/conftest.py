"""pytest fixtures of the eclip package's tests: the simulated H100 ("sim" backend) and a synthetic
profile whose groups want different partition sizes. Run: python3 -m pytest python/tests with
ECLIP_LIBRARY pointing at libeclip_c (ctest sets it)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import eclip  # noqa: E402

FLAT = [100.0] * 5
SCALING = [1650.0, 825.0, 412.0, 206.0, 100.0]
HALF = [400.0, 200.0, 110.0, 100.0, 100.0]
MIX = ["albert", "densenet201", "alexnet", "resnext101_32x8d"]


def profile_doc():
    models = {"albert": [SCALING] * 6, "densenet201": [FLAT, HALF, FLAT, SCALING, FLAT],
              "alexnet": [HALF, SCALING, FLAT], "resnext101_32x8d": [FLAT] * 3 + [HALF] * 3}
    return {"format": "eclip.profile", "version": 1, "device": "H100", "configs": [1, 2, 4, 8, 16],
            "units": [8, 16, 32, 64, 132],
            "models": [{"model": m, "host_gap_us": 4.0,
                        "kernels": [{"name": f"g{i}", "us": us} for i, us in enumerate(ks)]}
                       for m, ks in models.items()]}


@pytest.fixture(scope="session")
def lib():
    try:
        return eclip.load_library()
    except eclip.LibraryError as e:
        pytest.fail(f"libeclip_c cannot be loaded: {e}")


@pytest.fixture
def sim(lib):
    with eclip.Backend("sim:h100") as be:
        yield be


@pytest.fixture
def profile(lib):
    with eclip.Profile.from_json(profile_doc()) as p:
        yield p
