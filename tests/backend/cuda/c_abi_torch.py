#!/usr/bin/env python3
"""Drives libeclip_c from Python through the eclip package and runs PyTorch work on the streams it
routes to: python/tests/test_torch_gpu.py (a routed matmul chain over two partitions and the whole
device equals the chain on one stream; per-partition capture and the co-location runner; NVML).
Usage: c_abi_torch.py [PATH/TO/libeclip_c.so]; the package is the source tree's python/ (or one on
PYTHONPATH). pytest's exit code; the reason is printed for what is skipped (no torch, no CUDA GPU)."""
import os
import sys

PYTHON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "python")


def main():
    if len(sys.argv) > 1:
        os.environ["ECLIP_LIBRARY"] = sys.argv[1]
    sys.path.insert(0, PYTHON_DIR)
    import pytest
    return int(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", os.path.join(PYTHON_DIR, "tests", "test_torch_gpu.py")]))


if __name__ == "__main__":
    sys.exit(main())
