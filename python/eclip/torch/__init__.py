"""eclip for PyTorch: partitions as torch streams, per-partition CUDA-graph capture with the
partition's context current, a closed-loop co-location runner, and the group profiler behind
`eclip profile` (python3 -m eclip.torch.profile).

torch is imported when a function needs it, never by `import eclip` or `import eclip.torch`;
require_torch() says clearly what is missing."""

import os


def require_torch(cuda=True):
    """torch, or ImportError/RuntimeError naming what is missing (torch itself, or a CUDA GPU).

    With cuda, CUDA_DEVICE_MAX_CONNECTIONS is set to 32 first when unset: torch.cuda.is_available()
    starts the driver, which reads it then, and the backend (eclip::cuda::Options::
    hardware_connections) can no longer; with the driver's 8, co-located workers on routed
    streams stalled each other on the H200 (docs/hardware.md, "Hardware work queues"). Under MPS,
    export a smaller value (8) before starting: the server refused four clients of 32 queues each."""
    if cuda:
        os.environ.setdefault("CUDA_DEVICE_MAX_CONNECTIONS", "32")
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"eclip.torch needs PyTorch, which this Python cannot import ({e})") from e
    if cuda and not torch.cuda.is_available():
        raise RuntimeError(f"eclip.torch needs a CUDA GPU; PyTorch {torch.__version__} (CUDA {torch.version.cuda}) "
                           "sees none")
    return torch


def __getattr__(name):
    # The classes, imported on first use so that `import eclip.torch` costs nothing.
    from importlib import import_module
    where = {"PartitionStreams": "streams", "PartitionCapture": "capture", "Colocation": "runner",
             "WorkerResult": "runner", "ChainedModel": "chain"}
    if name in where:
        return getattr(import_module(f"{__name__}.{where[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
