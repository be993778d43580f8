#!/usr/bin/env python3
"""Transparent-mode smoke test (issue 9, items 4/5; docs/transparent.md).

An unmodified torchvision / transformers model (random weights, seeded, fp16, batch 1, eager)
runs `--iters` inferences. The model code is untouched; the only eclip-aware line is an optional
`eclip_begin_request()` before each inference, looked up with ctypes.CDLL(None) so the script
runs the same without the preload (docs/transparent.md: the documented request boundary).

  --save REF   write the first and last outputs (torch.save) as the reference
  --check REF  compare this run's outputs with REF bit for bit (torch.equal on the raw bits)
  --profile    after everything else, profile one inference with torch.profiler and count the
               kernels per CUDA stream (routed kernels must be on streams other than the app's);
               with ECLIP_TRACE set, check_trace.py matches it kernel by kernel to eclip's trace
  --microbench N  before the model: host time per launch of N tiny in-place adds (best of 3),
               eager PyTorch's own launch path with and without the interposer

Prints one line per fact, "key: value"; a final JSON line "RESULT {...}".
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time


class Counters(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "launches", "routed", "kept", "unplanned", "captured", "switches", "barriers", "joins", "requests",
        "skipped", "eclip_ns")]  # include/eclip/eclip_c.h's eclip_preload_counters, field for field


def eclip_api():
    """eclip's C calls when the preload is loaded, else None."""
    try:
        lib = ctypes.CDLL(None)
        begin = lib.eclip_begin_request
        get = lib.eclip_preload_get_counters
        active = lib.eclip_preload_active
    except (AttributeError, OSError):
        return None
    get.argtypes = [ctypes.c_int32, ctypes.POINTER(Counters)]
    get.restype = ctypes.c_int
    active.argtypes = [ctypes.POINTER(ctypes.c_int)]

    def is_active():
        on = ctypes.c_int(0)
        return on.value if active(ctypes.byref(on)) == 0 else 0

    return {"begin": begin, "get": get, "active": is_active}


def counters(api, worker):
    if api is None:
        return None
    c = Counters()
    if api["get"](worker, ctypes.byref(c)) != 0:
        return None
    return {n: int(getattr(c, n)) for n, _ in Counters._fields_}


def build(torch, name):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    if name == "albert":
        from transformers import AlbertConfig, AlbertModel
        cfg = AlbertConfig()
        m = AlbertModel(cfg)
        x = torch.randint(0, cfg.vocab_size, (1, 128), generator=g)
    else:
        import torchvision
        m = torchvision.models.get_model(name, weights=None)
        x = torch.randn(1, 3, 224, 224, generator=g).half()
    return m.half().eval().cuda(), x.cuda()


def same_bits(torch, a, b):
    """Bit-for-bit equality that also holds for NaN/inf (torch.equal is False for NaN == NaN):
    compares the raw bit patterns. Run 2026-11-25: random-weight resnet152 in fp16 gives NaN."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype in (torch.float16, torch.bfloat16):
        return torch.equal(a.view(torch.int16), b.view(torch.int16))
    if a.dtype == torch.float32:
        return torch.equal(a.view(torch.int32), b.view(torch.int32))
    return torch.equal(a, b)


def output_tensor(out):
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet152")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--save")
    ap.add_argument("--check")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--microbench", type=int, default=0)
    ap.add_argument("--worker", type=int, default=int(os.environ.get("ECLIP_WORKER", "0") or 0))
    a = ap.parse_args(argv)

    t_start = time.perf_counter()
    import torch
    print("torch:", torch.__version__, "cuda:", torch.version.cuda, flush=True)
    api = eclip_api()
    print("preload:", "loaded" if api else "absent",
          "| LD_PRELOAD=%s ECLIP_PLAN=%s ECLIP_WORKER=%s" % (
              os.environ.get("LD_PRELOAD", ""), os.environ.get("ECLIP_PLAN", ""),
              os.environ.get("ECLIP_WORKER", "")), flush=True)
    if a.microbench:
        y = torch.zeros(1, device="cuda")
        for _ in range(1000):
            y.add_(1)
        torch.cuda.synchronize()
        cm0 = counters(api, a.worker)
        per = []
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(a.microbench):
                y.add_(1)
            torch.cuda.synchronize()
            per.append((time.perf_counter() - t0) * 1e9 / a.microbench)
        cm1 = counters(api, a.worker)
        delta = {k: cm1[k] - cm0[k] for k in cm1} if cm0 and cm1 else None
        print("MICROBENCH " + json.dumps({"launches": a.microbench, "ns_per_launch": per, "min_ns": min(per),
                                          "counters_delta": delta}), flush=True)
    model, x = build(torch, a.model)
    torch.cuda.synchronize()
    print("device:", torch.cuda.get_device_name(0), "| build_s: %.1f" % (time.perf_counter() - t_start), flush=True)
    if api:
        print("eclip_preload_active:", api["active"](), flush=True)
    c_setup = counters(api, a.worker)
    print("counters_after_setup:", json.dumps(c_setup), flush=True)

    def infer():
        if api:
            api["begin"]()
        with torch.inference_mode():
            return output_tensor(model(x))

    outs = []
    for _ in range(a.warmup):
        outs.append(infer())
    torch.cuda.synchronize()
    c0 = counters(api, a.worker)
    lat = []
    for _ in range(a.iters):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        o = infer()
        torch.cuda.synchronize()
        lat.append((time.perf_counter() - t0) * 1e6)
        outs.append(o)
    c1 = counters(api, a.worker)
    per_inf = None
    if c0 and c1:
        per_inf = {k: (c1[k] - c0[k]) / a.iters for k in c1}
        print("counters_per_inference:", json.dumps(per_inf), flush=True)
    print("counters_total:", json.dumps(c1), flush=True)
    med = statistics.median(lat)
    print("latency_us: median %.1f mean %.1f min %.1f max %.1f (n=%d)" % (
        med, statistics.mean(lat), min(lat), max(lat), len(lat)), flush=True)

    # Within-run determinism: every inference's output equals the first one.
    same_within = all(same_bits(torch, outs[0], o) for o in outs[1:])
    print("outputs_identical_within_run:", same_within, flush=True)
    first, last = outs[0].float().cpu(), outs[-1].float().cpu()
    finite = bool(torch.isfinite(first).all())
    print("output: shape %s finite %s sum %.6f" % (tuple(first.shape), finite, float(first.double().sum())), flush=True)
    result = {"model": a.model, "latency_us_median": med, "latency_us": lat, "identical_within_run": same_within,
              "finite": finite, "counters_per_inference": per_inf, "counters_total": c1,
              "preload": bool(api)}
    if a.save:
        torch.save({"first": outs[0].cpu(), "last": outs[-1].cpu()}, a.save)
        print("saved reference:", a.save, flush=True)
    if a.check:
        ref = torch.load(a.check)
        eq_first = same_bits(torch, ref["first"], outs[0].cpu())
        eq_last = same_bits(torch, ref["last"], outs[-1].cpu())
        maxdiff = float((ref["first"].float() - outs[0].float().cpu()).abs().max())
        print("bit_identical_to_reference: first %s last %s (max abs diff %.3g)" % (eq_first, eq_last, maxdiff),
              flush=True)
        result.update({"bit_identical_first": eq_first, "bit_identical_last": eq_last, "max_abs_diff": maxdiff})
    print("RESULT " + json.dumps(result), flush=True)

    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        infer()
        torch.cuda.synchronize()
        cb = counters(api, a.worker)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            infer()
            torch.cuda.synchronize()
        ca = counters(api, a.worker)
        trace = os.environ.get("SMOKE_TRACE", "/tmp/trace.json")
        prof.export_chrome_trace(trace)
        with open(trace) as f:
            ev = json.load(f)["traceEvents"]
        per_stream = {}
        for e in ev:
            if e.get("cat") == "kernel":
                s = e.get("args", {}).get("stream")
                per_stream[s] = per_stream.get(s, 0) + 1
        print("profile_kernels_per_stream:", json.dumps(per_stream), flush=True)
        if cb and ca:
            print("profile_counters_delta:", json.dumps({k: ca[k] - cb[k] for k in ca}), flush=True)
        print("PROFILE " + json.dumps({"kernels_per_stream": per_stream,
                                       "counters_delta": ({k: ca[k] - cb[k] for k in ca} if cb and ca else None)}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
