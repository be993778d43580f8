#!/usr/bin/env python3
"""Kernel-by-kernel check of one routed inference (issue 9, item 4).

Inputs, both written by one smoke.py --profile run under the interposer:
  --eclip TRACE.json[.gz]  ECLIP_TRACE: Perfetto JSON, one "launch" event per intercepted launch
                           (name = kernel name; args: worker, request, position, units of the
                           partition the plan gives it, stream launched on and lane = the app
                           stream, each described as "id=<cuStreamGetId> sms=<green SMs | all>")
  --profile TRACE.json[.gz]  torch.profiler's chrome trace of the same process's last inference

The profiled inference is the worker's last request in the eclip trace. Each of its launches is
matched to the profiler's kernel at the same request position (the profiler's kernels in launch
order, by correlation id; eclip's position is the plan position it matched, so kernels eclip never
saw leave gaps), and for every such kernel:
  name      eclip's name (cuKernelGetName / cuFuncGetName / cudaFuncGetName, demangled) equals the
            profiler's (CUPTI's), compared without spaces;
  stream    the profiler's stream id equals the id of the stream eclip launched it on;
  partition the SMs of that stream's green context equal the plan's units for the kernel's position
            ("all" when the plan keeps it on the whole device).
The profiler's kernels eclip never saw (launched by a library's static runtime) must all run on the
application's stream (the stream of the request's first kept launch). Confinement of a
green-context stream to its SMs was measured with %smid in docs/results/h100-backend-2026-11-25;
with the checks above it places every kernel eclip routed.

Prints a summary JSON line "CHECK {...}"; exit 1 if any check fails.
"""
import argparse
import gzip
import json
import sys


def opener(path):
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def norm(name):
    return "".join(name.split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eclip", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--worker", type=int, default=0)
    ap.add_argument("--units-all", type=int, default=132, help="the device's SMs (whole-device plan entries)")
    ap.add_argument("--show", type=int, default=8, help="mismatches to print")
    a = ap.parse_args()

    with opener(a.eclip) as f:
        text = f.read()
    # The interposer writes the array form and closes it at exit; a killed process leaves it open.
    trace = json.loads(text if text.rstrip().endswith("]") or text.lstrip().startswith("{") else text.rstrip().rstrip(",") + "]")
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    rows = [{"worker": e["args"]["worker"], "request": e["args"]["request"], "position": e["args"]["position"],
             "planned_units": e["args"]["units"], "stream": e["args"]["stream"], "app_stream": e["args"]["lane"],
             "kernel": e.get("name", "")}
            for e in events if e.get("cat") == "launch" and int(e["args"]["worker"]) == a.worker]
    last = max(int(r["request"]) for r in rows)
    placed_nowhere = sum(1 for r in rows if int(r["request"]) == last and int(r["position"]) < 0)
    req = [r for r in rows if int(r["request"]) == last and int(r["position"]) >= 0]
    req.sort(key=lambda r: int(r["position"]))

    with opener(a.profile) as f:
        ev = json.load(f)["traceEvents"]
    kernels = [e for e in ev if e.get("cat") == "kernel"]
    kernels.sort(key=lambda e: e.get("args", {}).get("correlation", 0))

    out = {"worker": a.worker, "request": last, "eclip_launches": len(req), "profiler_kernels": len(kernels),
           "positions_increasing": all(int(x["position"]) < int(y["position"]) for x, y in zip(req, req[1:]))}
    bad = {"name": [], "stream": [], "partition": [], "unseen_not_on_app_stream": []}
    routed = 0
    seen = set()
    app = None
    for r in req:
        i = int(r["position"])
        if i >= len(kernels):
            bad["name"].append((i, r["kernel"][:90], "no such profiler kernel"))
            continue
        seen.add(i)
        k = kernels[i]
        if norm(r["kernel"]) != norm(k.get("name", "")):
            bad["name"].append((i, r["kernel"][:90], k.get("name", "")[:90]))
        fields = dict(p.split("=", 1) for p in r["stream"].split())
        sid = k.get("args", {}).get("stream")
        if str(sid) != fields.get("id"):
            bad["stream"].append((i, fields.get("id"), sid))
        app_fields = dict(p.split("=", 1) for p in r["app_stream"].split())
        app = app or app_fields.get("id")
        planned = int(r["planned_units"])
        sms = fields.get("sms")
        want = "all" if planned in (0, a.units_all) else str(planned)
        if sms != want:
            bad["partition"].append((i, planned, sms))
        if sms not in (None, "all"):
            routed += 1
    unseen = [i for i in range(len(kernels)) if i not in seen]
    for i in unseen:
        if str(kernels[i].get("args", {}).get("stream")) != app:
            bad["unseen_not_on_app_stream"].append((i, kernels[i].get("name", "")[:90]))
    # Profiler kernels at no eclip position: never seen by eclip, or seen but matched to no position
    # (placed_nowhere, on the app stream); the difference is what eclip never saw.
    out.update({"routed_on_partitions": routed, "at_no_eclip_position": len(unseen),
                "seen_but_placed_nowhere": placed_nowhere, "app_stream": app,
                "name_mismatches": len(bad["name"]), "stream_mismatches": len(bad["stream"]),
                "partition_mismatches": len(bad["partition"]),
                "unseen_not_on_app_stream": len(bad["unseen_not_on_app_stream"])})
    ok = out["positions_increasing"] and not any(bad.values())
    out["ok"] = ok
    print("CHECK " + json.dumps(out))
    for what, items in bad.items():
        for item in items[:a.show]:
            print("  %s mismatch at %s" % (what, item))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
