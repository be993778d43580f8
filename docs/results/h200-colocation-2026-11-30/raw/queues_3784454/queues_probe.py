# Which of 16 torch streams wait behind stream 0's queue head: the hardware-queue check from Python,
# in the order sweep.py starts things (torch, torch.cuda.is_available(), then eclip.Backend("cuda")).
import os, sys, time
print("env at start:", os.environ.get("CUDA_DEVICE_MAX_CONNECTIONS"))
import torch
assert torch.cuda.is_available()
import eclip
if sys.argv[1:] == ["backend-first"] or sys.argv[1:] == ["backend"]:
    be = eclip.Backend("cuda")
print("env after the backend:", os.environ.get("CUDA_DEVICE_MAX_CONNECTIONS"), "torch initialised:", torch.cuda.is_initialized())
streams = [torch.cuda.Stream() for _ in range(16)]
x = torch.zeros(1, device="cuda"); torch.cuda.synchronize()
late = []
for trial in range(2):
    with torch.cuda.stream(streams[0]):
        torch.cuda._sleep(100_000_000)  # ~50 ms at 1.98 GHz
        torch.cuda._sleep(1000)
    evs = []
    for s in streams[1:]:
        with torch.cuda.stream(s):
            torch.cuda._sleep(1000)
            e = torch.cuda.Event(); e.record(s); evs.append(e)
    time.sleep(0.02)
    late = [i + 1 for i, e in enumerate(evs) if not e.query()]
    busy = not streams[0].query()
    torch.cuda.synchronize()
    print(f"trial {trial}: stream 0 still busy after 20 ms: {busy}; streams not done: {late}")
