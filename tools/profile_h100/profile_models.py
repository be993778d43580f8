#!/usr/bin/env python3
"""Record per-kernel workloads of the seven ECLIP models on an NVIDIA H100.

For every model and every SM count in UNIT_COUNTS the model runs in eager mode on a
stream confined to that many SMs, and torch.profiler (CUDA activity) records every
kernel of one inference.  Output: one JSON file per model in the format that eclip's
C++ simulator and optimizer read ("eclip.workload", version 1; see docs/workloads.md).

Usage (on the GPU machine; docs/workloads.md gives the exact commands behind the data):
    PYTHONUNBUFFERED=1 python3 tools/profile_h100/profile_models.py OUTDIR \
        [--models albert,vgg19] [--budget-s 450] [--profile-iters 5] [--latency-iters 10] \
        [--thread-mode none|thread|green-current] [--profile-graph MODELS] \
        [--cudnn-benchmark-check MODELS [--benchmark-first-sm 8]]
    PYTHONUNBUFFERED=1 python3 tools/profile_h100/profile_models.py OUTDIR --grids-only \
        [--grid-sms 132,8] [--models ...] [--thread-mode ...]     # launch grids only
    python3 tools/profile_h100/profile_models.py --merge-grids OUTDIR [workloads/h100] \
        [--models ...]                      # no GPU: add "blocks" to the workload files
    python3 tools/profile_h100/profile_models.py --self-test     # helpers only, no GPU

How SMs are confined (the hardware facts behind it, measured on this H100, see
docs/hardware.md):
  * CUDA green contexts (driver API, CUDA >= 12.4) give a stream whose kernels run only on
    a chosen set of SMs.  On Hopper the unit of allocation is 8 SMs: splitting the device's
    SM resource by 8 gives 15 disjoint "atoms" of 8 SMs plus a remainder of 12.
  * A green context for k atoms is created from the union of the first k atoms
    (cuDevResourceGenerateDesc accepts several resources), so 8/16/32/64 SMs = 1/2/4/8 atoms.
    132 SMs (the whole GPU, including the 12-SM remainder no atom union can reach) is a
    plain stream of the primary context.
  * The green stream is an ordinary CUstream; PyTorch uses it through
    torch.cuda.ExternalStream, so cuDNN/cuBLAS/ATen kernels launched under
    `with torch.cuda.stream(s)` land on the partition -- except those a library puts on
    internal streams of its own (below).
  * Green contexts are created once and kept for the whole run: creating one costs ~3 ms
    and destroying a partition that still has work in flight is a known bug pattern.

Measurement method:
  * cudnn.benchmark = False so that cuDNN picks its algorithms by heuristics, identically
    at every SM count (the heuristics see the device's 132 SMs, not the partition), which
    keeps kernel sequences aligned across SM counts.
  * Per (model, SM count): warm-up, then eager wall-clock latency (synchronised, median of
    --latency-iters), then --profile-iters profiled inferences in one profiler session, each
    inside a record_function("eclip_inference_<i>") range with a device synchronise at its
    end; kernels are assigned to inferences by time window, put in launch order (CUPTI
    correlation id), and per kernel position the median duration over the inferences is
    kept.  Finally a CUDA graph is captured on the same stream and its replay latency
    measured (replay launches on the *current* stream, so it is wrapped in
    `with torch.cuda.stream(s)`).
  * Kernel durations come from the profiler's Chrome trace (events of category "kernel",
    "dur" in microseconds with nanosecond resolution).  Memcpy/memset activities are not
    kernels and are counted separately in the log.

Library-internal streams (measured 2026-11-25, see docs/workloads.md):
  * cuDNN runs resnext101's grouped convolutions on 8 internal streams of its own.  With
    the default --thread-mode none those streams belong to the primary context (CUPTI
    context id 1), so their 384 kernels per inference run on the whole GPU whatever
    partition the caller's stream has.  The log prints, per SM count, the kernels found
    on streams other than ours and the CUPTI context id of every stream.
  * --thread-mode green-current runs each SM count in its own thread that makes the green
    context current before any library call; PyTorch then creates that thread's cuDNN and
    cuBLAS handles inside the green context, and cuDNN's internal streams belong to the
    partition too.  Side effect: cuDNN's heuristics then see the partition's SM count and
    may pick other kernels per SM count (seen for vgg19: split-K variants at 8-32 SMs),
    which breaks the alignment of kernel sequences across SM counts.
  * Every captured graph is profiled once and its kernels compared with eager mode; if
    they differ (albert: SDPA takes another attention path under capture), the graph
    latency is left out of the JSON (only logged).

Launch grids (--grids-only): the profiler's kernel events also carry each launch's grid and
block ([x, y, z]).  This mode repeats the whole-GPU (132-SM) case above without the CUDA
graph and writes, per model, OUTDIR/<model>.grids.json: per kernel of one inference (same
launch order and names as the workload file) the grid, block, blocks = grid.x*grid.y*grid.z,
Kineto's "blocks per SM" (= blocks / the device's SM count), warps per SM, registers per
thread, shared memory per block and Kineto's occupancy estimate.  --merge-grids then adds
"blocks" to the workload files, after checking that the kernel names match position by
position.

Everything written to stdout goes to the log; JSON files are written as soon as a model
is finished, so a run cut short still leaves the models it completed.
"""

import argparse
import collections
import datetime
import difflib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

UNIT_COUNTS = [8, 16, 32, 64, 132]
MODELS = ["albert", "densenet201", "alexnet", "resnet152", "resnext101_32x8d",
          "shufflenet_v2_x1_0", "vgg19"]
ATOM_SMS = 8          # Hopper green-context granularity: SM groups are multiples of 8
NAME_MAX = 96         # kernel names are truncated to this many characters in the JSON
ALBERT_SEQ = 128
IMG = 224


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------------------
# Pure helpers (no torch needed; exercised by --self-test on a machine without a GPU)
# ----------------------------------------------------------------------------------------

def median(xs):
    return float(statistics.median(xs))


def split_kernels_by_windows(kernels, windows):
    """Assign kernels (dicts with ts, dur, name) to inference windows.

    windows: list of (start, end) host-time ranges of the record_function annotations, in
    the same clock as the kernels (Kineto puts CPU and GPU events on one timeline).  Each
    inference ends with a device synchronise inside its range, so its kernels start after
    the range starts and finish before it ends.  A kernel belongs to the last window whose
    start is <= the kernel start; kernels before the first window are returned separately.

    Within an inference the kernels are put in *launch* order (CUPTI correlation id, which
    grows with every API call of the launching thread) rather than GPU start order: where a
    library forks kernels onto several streams (cuDNN's grouped convolutions) their start
    order varies from run to run, the launch order does not.
    """
    windows = sorted(windows)
    runs = [[] for _ in windows]
    stray = []
    for k in sorted(kernels, key=lambda k: k["ts"]):
        idx = -1
        for i, (s, _e) in enumerate(windows):
            if k["ts"] >= s:
                idx = i
            else:
                break
        if idx < 0 or k["ts"] > windows[idx][1]:
            stray.append(k)
        else:
            runs[idx].append(k)
    for r in runs:
        r.sort(key=lambda k: (k.get("corr") if k.get("corr") is not None else -1, k["ts"]))
    return runs, stray


def consensus_runs(runs):
    """From several profiled inferences keep those whose kernel-name sequence is the most
    common one.  Returns (names, list of duration lists, number of runs dropped, the first
    kept run itself)."""
    seqs = [tuple(k["name"] for k in r) for r in runs]
    common, _n = collections.Counter(seqs).most_common(1)[0]
    kept = [[k["dur"] for k in r] for r, s in zip(runs, seqs) if s == common]
    first = next(r for r, s in zip(runs, seqs) if s == common)
    return list(common), kept, len(runs) - len(kept), first


def per_position_median(kept):
    return [median(col) for col in zip(*kept)]


def per_position_spread(kept):
    """(max - min) / median per kernel position, a noise indicator."""
    out = []
    for col in zip(*kept):
        m = median(col)
        out.append((max(col) - min(col)) / m if m > 0 else 0.0)
    return out


def align_sequences(ref_names, other_names):
    """Map positions of ref_names to positions of other_names where names match.

    Identical sequences map position i -> i.  Otherwise difflib's matching blocks give an
    order-preserving partial map; unmatched positions are reported, never padded."""
    if list(ref_names) == list(other_names):
        return {i: i for i in range(len(ref_names))}
    sm = difflib.SequenceMatcher(None, list(ref_names), list(other_names), autojunk=False)
    m = {}
    for blk in sm.get_matching_blocks():
        for j in range(blk.size):
            m[blk.a + j] = blk.b + j
    return m


def build_kernel_table(per_sm):
    """per_sm: {sm: (names, medians)}.  Returns (kernels, report) where kernels is a list of
    {"name", "us": [one per UNIT_COUNTS]} for the positions present at every SM count,
    in the order of the 132-SM (whole GPU) sequence."""
    ref_sm = UNIT_COUNTS[-1]
    ref_names, _ = per_sm[ref_sm]
    maps = {sm: align_sequences(ref_names, per_sm[sm][0]) for sm in UNIT_COUNTS}
    report = []
    for sm in UNIT_COUNTS:
        names = per_sm[sm][0]
        if list(names) != list(ref_names):
            mapped_ref = set(maps[sm].keys())
            mapped_oth = set(maps[sm].values())
            miss_ref = [ref_names[i] for i in range(len(ref_names)) if i not in mapped_ref]
            miss_oth = [names[i] for i in range(len(names)) if i not in mapped_oth]
            report.append({"sm": sm, "count": len(names), "ref_count": len(ref_names),
                           "only_in_ref": miss_ref, "only_here": miss_oth})
    kernels = []
    for i, name in enumerate(ref_names):
        if all(i in maps[sm] for sm in UNIT_COUNTS):
            us = [round(per_sm[sm][1][maps[sm][i]], 2) for sm in UNIT_COUNTS]
            kernels.append({"name": name[:NAME_MAX], "us": us})
    return kernels, report


def workload_json(doc):
    """Serialise compactly: header keys one per line, one kernel per line."""
    lines = ["{"]
    head = [k for k in doc if k != "kernels"]
    for k in head:
        lines.append("  %s: %s," % (json.dumps(k), json.dumps(doc[k], separators=(", ", ": "))))
    lines.append('  "kernels": [')
    ks = doc["kernels"]
    for i, k in enumerate(ks):
        lines.append("    " + json.dumps(k, separators=(", ", ": ")) + ("," if i + 1 < len(ks) else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def kernel_from_event(e):
    """One Chrome-trace kernel event -> dict.  Kineto writes the launch configuration into
    the event's args: "grid" and "block" ([x, y, z]), "blocks per SM" (Kineto computes it as
    grid blocks / the device's SM count, not the occupancy limit), "warps per SM",
    "registers per thread", "shared memory" (static + dynamic bytes per block) and
    "est. achieved occupancy %".  Missing keys give None."""
    a = e.get("args", {})
    grid = a.get("grid")
    block = a.get("block")
    return {"name": e["name"], "ts": float(e["ts"]), "dur": float(e["dur"]),
            "stream": a.get("stream"), "corr": a.get("correlation"),
            "grid": list(grid) if grid is not None else None,
            "block": list(block) if block is not None else None,
            "blocks": grid_blocks(grid),
            "blocks_per_sm": a.get("blocks per SM"), "warps_per_sm": a.get("warps per SM"),
            "registers": a.get("registers per thread"), "shared_memory": a.get("shared memory"),
            "occupancy_pct": a.get("est. achieved occupancy %")}


def grid_blocks(grid):
    """Thread blocks of one launch: grid.x * grid.y * grid.z (None if unknown)."""
    if grid is None or len(grid) != 3:
        return None
    n = 1
    for g in grid:
        n *= int(g)
    return n


def parse_trace_events(evs):
    """Split a Chrome trace's events into kernels (kernel_from_event dicts), inference
    windows (record_function ranges "eclip_inference_<i>"), counts of memcpy/memset
    activities, the set of kernel streams, and {stream: set of CUPTI context ids}."""
    kernels, windows, other = [], [], collections.Counter()
    streams = set()
    ctxs = collections.defaultdict(set)
    for e in evs:
        if e.get("ph") != "X":
            continue
        cat = e.get("cat", "")
        if cat == "kernel":
            kernels.append(kernel_from_event(e))
            streams.add(e.get("args", {}).get("stream"))
            ctxs[str(e.get("args", {}).get("stream"))].add(e.get("args", {}).get("context"))
        elif cat in ("gpu_memcpy", "gpu_memset"):
            other[cat] += 1
        elif cat == "user_annotation" and e.get("name", "").startswith("eclip_inference_"):
            windows.append((float(e["ts"]), float(e["ts"]) + float(e["dur"])))
    return kernels, windows, other, streams, ctxs


LAUNCH_KEYS = ("grid", "block", "blocks", "blocks_per_sm", "warps_per_sm", "registers",
               "shared_memory", "occupancy_pct")


def launch_table(runs, names):
    """runs: the kept inferences (kernel dicts, all with the kernel-name sequence `names`).
    Returns (table, varying): per position {"name" (first NAME_MAX chars), "us" (median
    duration), and LAUNCH_KEYS from the first run}, and the positions whose grid or block
    differs between the runs."""
    table, varying = [], []
    for i, name in enumerate(names):
        col = [r[i] for r in runs]
        k0 = col[0]
        row = {"name": name[:NAME_MAX], "us": round(median([k["dur"] for k in col]), 2)}
        for key in LAUNCH_KEYS:
            row[key] = k0.get(key)
        if any(k.get("grid") != k0.get("grid") or k.get("block") != k0.get("block") for k in col):
            varying.append(i)
        table.append(row)
    return table, varying


def merge_blocks(doc, grid_rows):
    """Add "blocks" to each kernel of a workload document (eclip.workload) from grid_rows
    (launch_table rows of the same model, whole GPU).  The sequences must have the same
    length and the same (truncated) name at every position, and every row must have a
    positive block count.  Returns (new document or None, list of problems)."""
    ks = doc["kernels"]
    problems = []
    if len(ks) != len(grid_rows):
        problems.append("kernel count: JSON %d, grids %d" % (len(ks), len(grid_rows)))
    for i, (k, g) in enumerate(zip(ks, grid_rows)):
        if k["name"] != g["name"][:NAME_MAX]:
            problems.append("#%d name: JSON %r, grids %r" % (i, k["name"], g["name"][:NAME_MAX]))
        elif not isinstance(g.get("blocks"), int) or g["blocks"] <= 0:
            problems.append("#%d %s: no block count (%r)" % (i, k["name"][:60], g.get("blocks")))
    if problems:
        return None, problems
    out = dict(doc)
    out["kernels"] = []
    for k, g in zip(ks, grid_rows):
        nk = {key: v for key, v in k.items() if key != "blocks"}
        nk["blocks"] = g["blocks"]
        out["kernels"].append(nk)
    return out, []


def blocks_stats(doc, sms=132):
    """(kernel count, median blocks, share of the kernel time at `sms` SMs spent in kernels
    of fewer than `sms` blocks) for a workload document with "blocks"."""
    j = doc["unit_counts"].index(sms)
    ks = doc["kernels"]
    tot = sum(k["us"][j] for k in ks)
    small = sum(k["us"][j] for k in ks if k["blocks"] < sms)
    return len(ks), median([k["blocks"] for k in ks]), (small / tot if tot > 0 else 0.0)


def grids_json(doc):
    """Serialise a grids document ("eclip.grids"): header keys one per line, one kernel per
    line (same layout as workload_json)."""
    return workload_json(doc)


def self_test():
    ks = [{"name": n, "ts": t, "dur": d} for n, t, d in
          [("a", 10, 1.0), ("b", 12, 2.0), ("a", 110, 1.2), ("b", 112, 2.2),
           ("a", 210, 0.9), ("b", 212, 1.8), ("x", 5, 9.0)]]
    runs, stray = split_kernels_by_windows(ks, [(100, 150), (9, 50), (200, 250)])
    assert [len(r) for r in runs] == [2, 2, 2] and len(stray) == 1, (runs, stray)
    # two streams: "q" launched first (corr 1) but started later than "p" (corr 2)
    r2, _ = split_kernels_by_windows([{"name": "p", "ts": 11, "dur": 1, "corr": 2},
                                      {"name": "q", "ts": 12, "dur": 1, "corr": 1}], [(10, 20)])
    assert [k["name"] for k in r2[0]] == ["q", "p"], r2
    names, kept, dropped, _first = consensus_runs(runs + [[{"name": "a", "dur": 5.0}]])
    assert names == ["a", "b"] and dropped == 1 and len(kept) == 3
    assert per_position_median(kept) == [1.0, 2.0]
    per_sm = {sm: (["a", "b", "c"], [sm * 1.0, 2.0, 3.0]) for sm in UNIT_COUNTS}
    per_sm[16] = (["a", "c"], [1.0, 3.0])
    kern, rep = build_kernel_table(per_sm)
    assert [k["name"] for k in kern] == ["a", "c"], kern
    assert rep[0]["sm"] == 16 and rep[0]["only_in_ref"] == ["b"], rep
    assert kern[0]["us"] == [8.0, 1.0, 32.0, 64.0, 132.0]
    doc = {"format": "eclip.workload", "version": 1, "kernels": kern}
    assert json.loads(workload_json(doc)) == doc
    # --grids-only: launch configuration from Kineto's kernel-event args
    ev = {"ph": "X", "cat": "kernel", "name": "k" * 120, "ts": 10.5, "dur": 2.25,
          "args": {"stream": 7, "correlation": 42, "context": 1, "registers per thread": 32,
                   "shared memory": 1024, "blocks per SM": 0.5, "warps per SM": 2.0,
                   "grid": [33, 2, 1], "block": [128, 1, 1], "est. achieved occupancy %": 3}}
    k = kernel_from_event(ev)
    assert k["blocks"] == 66 and k["grid"] == [33, 2, 1] and k["block"] == [128, 1, 1], k
    assert k["corr"] == 42 and k["blocks_per_sm"] == 0.5 and k["registers"] == 32, k
    assert kernel_from_event({"name": "n", "ts": 0, "dur": 1, "args": {}})["blocks"] is None
    assert grid_blocks([4, 3, 2]) == 24 and grid_blocks(None) is None
    evs = [ev, {"ph": "X", "cat": "gpu_memset", "name": "m", "ts": 1, "dur": 1},
           {"ph": "X", "cat": "user_annotation", "name": "eclip_inference_0", "ts": 9, "dur": 5},
           {"ph": "i", "cat": "kernel", "name": "instant", "ts": 1}]
    kk, ww, oo, st, cx = parse_trace_events(evs)
    assert len(kk) == 1 and ww == [(9.0, 14.0)] and oo == {"gpu_memset": 1} and st == {7}, (kk, ww, oo)
    assert dict(cx) == {"7": {1}}
    mk = lambda n, d, g: {"name": n, "dur": d, "grid": g, "block": [64, 1, 1],  # noqa: E731
                          "blocks": grid_blocks(g)}
    r1 = [mk("a" * 100, 1.0, [10, 1, 1]), mk("b", 4.0, [200, 1, 1])]
    r2 = [mk("a" * 100, 3.0, [10, 1, 1]), mk("b", 2.0, [100, 2, 1])]
    r3 = [mk("a" * 100, 2.0, [10, 1, 1]), mk("b", 3.0, [200, 1, 1])]
    tab, var = launch_table([r1, r2, r3], ["a" * 100, "b"])
    assert var == [1] and tab[0]["name"] == "a" * NAME_MAX and tab[0]["us"] == 2.0, (tab, var)
    assert tab[0]["blocks"] == 10 and tab[1]["blocks"] == 200 and tab[1]["grid"] == [200, 1, 1]
    wdoc = {"format": "eclip.workload", "version": 1, "model": "m", "unit_counts": [8, 132],
            "kernels": [{"name": "a" * NAME_MAX, "us": [5.0, 2.0]}, {"name": "b", "us": [9.0, 3.0]}]}
    merged, probs = merge_blocks(wdoc, tab)
    assert not probs and [kk["blocks"] for kk in merged["kernels"]] == [10, 200], probs
    assert list(merged["kernels"][0]) == ["name", "us", "blocks"] and "blocks" not in wdoc["kernels"][0]
    assert json.loads(workload_json(merged)) == merged
    assert '{"name": "b", "us": [9.0, 3.0], "blocks": 200}' in workload_json(merged)
    n, med, share = blocks_stats(merged)
    assert (n, med) == (2, 105.0) and abs(share - 0.4) < 1e-12, (n, med, share)
    assert merge_blocks(wdoc, tab[:1])[0] is None
    bad = [dict(tab[0]), dict(tab[1], name="c")]
    m2, p2 = merge_blocks(wdoc, bad)
    assert m2 is None and len(p2) == 1 and p2[0].startswith("#1 name"), p2
    assert merge_blocks(wdoc, [tab[0], dict(tab[1], blocks=None)])[0] is None
    # merge_grids end to end: a matching model is rewritten, a mismatching one left alone
    td = tempfile.mkdtemp()
    for nm, rows in (("ok", tab), ("bad", bad)):
        with open(os.path.join(td, nm + ".json"), "w") as f:
            f.write(workload_json(dict(wdoc, model=nm)))
        with open(os.path.join(td, nm + ".grids.json"), "w") as f:
            f.write(grids_json({"format": "eclip.grids", "version": 1, "model": nm, "sm": 132,
                                "kernels": rows}))
    before_bad = open(os.path.join(td, "bad.json")).read()
    assert merge_grids(td, td, ["ok", "bad"]) == 1
    assert open(os.path.join(td, "bad.json")).read() == before_bad
    got = json.load(open(os.path.join(td, "ok.json")))
    assert [kk["blocks"] for kk in got["kernels"]] == [10, 200] and got["version"] == 1
    for nm in ("ok", "bad"):
        os.remove(os.path.join(td, nm + ".json"))
        os.remove(os.path.join(td, nm + ".grids.json"))
    os.rmdir(td)
    print("self-test ok")


# ----------------------------------------------------------------------------------------
# GPU part
# ----------------------------------------------------------------------------------------

def cu_check(ret, what):
    """cuda.bindings calls return (CUresult, *values); raise on any error, return values."""
    from cuda.bindings import driver as drv
    err = ret[0]
    if err != drv.CUresult.CUDA_SUCCESS:
        e2, name = drv.cuGetErrorName(err)
        raise RuntimeError("%s failed: %s (%s)" % (what, name, int(err)))
    vals = ret[1:]
    if len(vals) == 0:
        return None
    return vals[0] if len(vals) == 1 else vals


class Partitions:
    """Green-context streams of 1, 2, 4, 8 atoms of 8 SMs, plus a whole-GPU stream."""

    def __init__(self, torch, thread_mode="none"):
        from cuda.bindings import driver as drv
        self.torch = torch
        self.thread_mode = thread_mode
        self.gctx = {}
        self.executors = {}
        self.keep = []        # green contexts and raw streams: alive for the whole run
        self.streams = {}
        self.sm_counts = {}
        torch.cuda.init()
        torch.zeros(1, device="cuda")           # make the primary context current
        cu_check(drv.cuInit(0), "cuInit")
        dev = cu_check(drv.cuDeviceGet(torch.cuda.current_device()), "cuDeviceGet")
        res = cu_check(drv.cuDeviceGetDevResource(
            dev, drv.CUdevResourceType.CU_DEV_RESOURCE_TYPE_SM), "cuDeviceGetDevResource")
        total = res.sm.smCount
        n_atoms = total // ATOM_SMS
        # Hopper: min group 8 SMs, groups in multiples of 8.  Not every SM can join an
        # 8-SM group (measured on H100: 15 groups + a remainder of 12, not 16 + 4), so ask
        # for total//8 groups and, if the driver refuses, for one fewer until it accepts.
        last_err = None
        for want in range(n_atoms, 0, -1):
            try:
                groups, n_got, rem = cu_check(drv.cuDevSmResourceSplitByCount(
                    want, res, 0, ATOM_SMS), "cuDevSmResourceSplitByCount(%d)" % want)
                break
            except RuntimeError as e:
                last_err = e
                log("  %s" % e)
        else:
            raise last_err
        groups = list(groups)[:n_got]
        log("device SM resource: %d SMs; split by %d -> %d groups of %s, remainder %d" % (
            total, ATOM_SMS, n_got, sorted({g.sm.smCount for g in groups}), rem.sm.smCount))
        for sm in UNIT_COUNTS:
            if sm >= total:
                # Whole GPU: a plain (non-default) stream of the primary context.
                self.streams[sm] = torch.cuda.Stream()
                self.sm_counts[sm] = total
                continue
            k = sm // ATOM_SMS
            if k * ATOM_SMS != sm or k > n_got:
                raise RuntimeError("cannot build %d SMs from %d atoms of %d" % (sm, n_got, ATOM_SMS))
            # The union of the first k atoms is one partition of k*8 SMs.
            desc = cu_check(drv.cuDevResourceGenerateDesc(groups[:k], k), "cuDevResourceGenerateDesc")
            gctx = cu_check(drv.cuGreenCtxCreate(
                desc, dev, drv.CUgreenCtxCreate_flags.CU_GREEN_CTX_DEFAULT_STREAM), "cuGreenCtxCreate")
            got = cu_check(drv.cuGreenCtxGetDevResource(
                gctx, drv.CUdevResourceType.CU_DEV_RESOURCE_TYPE_SM), "cuGreenCtxGetDevResource")
            raw = cu_check(drv.cuGreenCtxStreamCreate(
                gctx, drv.CUstream_flags.CU_STREAM_NON_BLOCKING, 0), "cuGreenCtxStreamCreate")
            self.keep.append((gctx, raw))
            self.gctx[sm] = gctx
            self.streams[sm] = torch.cuda.ExternalStream(int(raw))
            self.sm_counts[sm] = got.sm.smCount
            if got.sm.smCount != sm:
                raise RuntimeError("green context for %d SMs reports %d" % (sm, got.sm.smCount))
        log("partitions: " + ", ".join("%d->%d SMs" % (k, v) for k, v in self.sm_counts.items()))
        if thread_mode != "none":
            import concurrent.futures
            for sm in UNIT_COUNTS:
                self.executors[sm] = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, initializer=self._thread_init, initargs=(sm,))
                self.executors[sm].submit(lambda: None).result()   # start it now

    def _thread_init(self, sm):
        """Start of the worker thread for one SM count.  PyTorch gives each thread its own
        cuDNN and cuBLAS handles.  cuDNN runs some grouped convolutions on internal streams
        of its own (seen: resnext101, 8 streams); those streams are not the green stream we
        pass, so their kernels are not confined by it.  In mode "green-current" the thread
        makes the partition's green context current before any library call, so that
        whatever the libraries create in the current context belongs to the partition."""
        from cuda.bindings import driver as drv
        self.torch.cuda.set_device(0)
        if self.thread_mode == "green-current" and sm in self.gctx:
            ctx = cu_check(drv.cuCtxFromGreenCtx(self.gctx[sm]), "cuCtxFromGreenCtx")
            cu_check(drv.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        log("  worker thread for %d SMs ready (mode %s)" % (sm, self.thread_mode))

    def run_in(self, sm, fn, *a):
        """Run fn(*a) in the thread of this SM count (or here if no threads are used)."""
        if not self.executors:
            return fn(*a)
        return self.executors[sm].submit(fn, *a).result()


def confinement_check(torch, parts):
    """Cheap proof that the green streams confine work: a 4096^3 fp16 matmul needs many
    more waves on 8 SMs than on 132, so it must take roughly 132/8 = 16x longer."""
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    b = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    res = {}
    for sm in UNIT_COUNTS:
        s = parts.streams[sm]
        with torch.cuda.stream(s):
            for _ in range(3):
                c = a @ b
            e0 = torch.cuda.Event(enable_timing=True)
            e1 = torch.cuda.Event(enable_timing=True)
            e0.record(s)
            for _ in range(10):
                c = a @ b
            e1.record(s)
        e1.synchronize()
        res[sm] = e0.elapsed_time(e1) / 10 * 1000.0
    del c
    torch.cuda.synchronize()
    log("confinement check, 4096^3 fp16 matmul (us): " +
        ", ".join("%d SMs %.1f" % (k, v) for k, v in res.items()) +
        "; ratio 8/132 = %.1f" % (res[8] / res[132]))
    if res[8] / res[132] < 5:
        log("WARNING: 8-SM matmul is not much slower than the whole GPU: confinement doubtful")
    return res


def build_model(torch, name):
    """Random weights (no internet there), fp16, eval; returns (model, example_input)."""
    g = torch.Generator().manual_seed(0)
    if name == "albert":
        from transformers import AlbertConfig, AlbertModel
        cfg = AlbertConfig()   # library defaults (these are the xxlarge dims: hidden 4096)
        m = AlbertModel(cfg)
        x = torch.randint(0, cfg.vocab_size, (1, ALBERT_SEQ), generator=g)
        info = "AlbertConfig() hidden=%d layers=%d heads=%d ffn=%d attn=%s" % (
            cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads,
            cfg.intermediate_size, getattr(cfg, "_attn_implementation", "?"))
    else:
        import torchvision
        m = torchvision.models.get_model(name, weights=None)
        x = torch.randn(1, 3, IMG, IMG, generator=g).half()
        info = "torchvision %s" % name
    m = m.half().eval().cuda()
    return m, x.cuda(), info


def run_once(torch, model, x):
    return model(x)


def eager_latency(torch, model, x, s, iters):
    ts = []
    with torch.cuda.stream(s):
        for _ in range(iters):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            run_once(torch, model, x)
            s.synchronize()
            ts.append((time.perf_counter() - t0) * 1e6)
    return median(ts)


def graph_latency(torch, model, x, s, iters):
    g = torch.cuda.CUDAGraph()
    with torch.cuda.stream(s):
        with torch.cuda.graph(g, stream=s):
            run_once(torch, model, x)
    torch.cuda.synchronize()
    ts = []
    # replay() launches on the *current* stream: keep it the partition's stream.
    with torch.cuda.stream(s):
        for _ in range(3):
            g.replay()
        s.synchronize()
        for _ in range(iters):
            t0 = time.perf_counter()
            g.replay()
            s.synchronize()
            ts.append((time.perf_counter() - t0) * 1e6)
    return median(ts), g


def profile_kernels(torch, fn, s, iters, tmpdir):
    """Profile `iters` calls of fn() (one inference each: an eager forward or a graph
    replay) on stream s; return list (one per inference) of kernel lists, plus counts of
    stray kernels, memcpy/memset activities and distinct streams seen."""
    from torch.profiler import profile, ProfilerActivity, record_function
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        with torch.cuda.stream(s):
            for i in range(iters):
                with record_function("eclip_inference_%d" % i):
                    fn()
                    s.synchronize()
    path = os.path.join(tmpdir, "trace.json")
    prof.export_chrome_trace(path)
    with open(path) as f:
        tr = json.load(f)
    os.remove(path)
    evs = tr["traceEvents"] if isinstance(tr, dict) else tr
    kernels, windows, other, streams, ctxs = parse_trace_events(evs)
    no_grid = [e for e in evs if e.get("ph") == "X" and e.get("cat") == "kernel"
               and "grid" not in e.get("args", {})]
    if no_grid:
        log("  NOTE: %d kernel events without a grid; args of the first: %s" % (
            len(no_grid), json.dumps(no_grid[0].get("args", {}))[:400]))
    if len(windows) == iters:
        runs, stray = split_kernels_by_windows(kernels, windows)
    elif kernels and len(kernels) % iters == 0:
        # Fallback: without the annotations, cut the time-ordered kernels into equal parts
        # (consensus_runs then checks that the parts have the same name sequence).
        log("  NOTE: %d inference annotations found, expected %d; splitting equally" % (
            len(windows), iters))
        ks = sorted(kernels, key=lambda k: k["ts"])
        n = len(ks) // iters
        runs, stray = [ks[i * n:(i + 1) * n] for i in range(iters)], []
        for r in runs:
            r.sort(key=lambda k: (k["corr"] if k["corr"] is not None else -1, k["ts"]))
    else:
        raise RuntimeError("found %d inference annotations, expected %d, and %d kernels" % (
            len(windows), iters, len(kernels)))
    ctxs = {k: sorted(map(str, v)) for k, v in sorted(ctxs.items())}
    return runs, len(stray), dict(other), streams, ctxs


def profile_model(torch, name, args, parts, meta, tmpdir, t_start):
    """Profile one model at every SM count; write its JSON; return its summary row."""
    t_model = time.time()
    model, x, info = build_model(torch, name)
    log("\n=== %s (%s), built in %.1f s" % (name, info, time.time() - t_model))
    per_sm, lat_e, lat_g, off_pos = {}, [], [], {}
    graph_ok = True
    graph_differs = []   # SM counts where the captured graph runs other kernels than eager
    noisy = []
    aborted = False

    def warm():
        # Global warm-up on the whole GPU: cuDNN/cuBLAS handles, lazy module loading.
        with torch.inference_mode(), torch.cuda.stream(parts.streams[132]):
            for _ in range(args.warmup):
                run_once(torch, model, x)
        torch.cuda.synchronize()

    def measure(sm):
        nonlocal graph_ok
        # inference_mode and the current stream are thread-local: set them here, in the
        # thread that runs this SM count (see Partitions.run_in).
        with torch.inference_mode():
            s = parts.streams[sm]
            t0 = time.time()
            with torch.cuda.stream(s):
                for _ in range(args.warmup):
                    run_once(torch, model, x)
            s.synchronize()
            le = eager_latency(torch, model, x, s, args.latency_iters)
            runs, n_stray, other, streams, ctxs = profile_kernels(
                torch, lambda: run_once(torch, model, x), s, args.profile_iters, tmpdir)
            names, kept, dropped, first = consensus_runs(runs)
            if not names:
                log("  ERROR: the profiler recorded no kernels for %s at %d SMs" % (name, sm))
            med = per_position_median(kept)
            spread = per_position_spread(kept)
            per_sm[sm] = (names, med)
            # Kernels that a library launched on a stream of its own (not the one we set):
            # such a stream may belong to the primary context, i.e. not to the partition.
            main_stream = collections.Counter(k["stream"] for k in first).most_common(1)[0][0] \
                if first else None
            off = [i for i, k in enumerate(first) if k["stream"] != main_stream]
            off_pos[sm] = off
            if off:
                log("  %3d SMs: %d kernels/inference on streams other than %s (%s), %.1f us: %s" % (
                    sm, len(off), main_stream, sorted({str(first[i]["stream"]) for i in off}),
                    sum(med[i] for i in off),
                    collections.Counter(names[i][:70] for i in off).most_common(4)))
            noisy.append((sm, sum(1 for sp, m in zip(spread, med) if sp > 0.2 and m > 5.0)))
            lg = None
            if graph_ok:
                try:
                    lg, g = graph_latency(torch, model, x, s, args.graph_iters)
                    if not compare_graph_kernels(torch, g, s, tmpdir, names, med, sm,
                                                 name in args.profile_graph.split(",")):
                        graph_differs.append(sm)
                    del g
                except Exception as e:  # noqa: BLE001
                    graph_ok = False
                    log("  graph capture failed for %s at %d SMs: %r" % (name, sm, e))
                    torch.cuda.synchronize()
            lat_e.append(round(le, 2))
            lat_g.append(round(lg, 2) if lg is not None else None)
            log("  %3d SMs: %4d kernels/inference (runs kept %d, dropped %d, stray %d, "
                "memcpy/memset %s, streams %s) sum %.1f us, eager %.1f us, graph %s us, "
                "noisy(>20%% spread, >5us) %d  [%.1f s]" % (
                    sm, len(names), len(kept), dropped, n_stray, other, sorted(map(str, streams)),
                    sum(med), le, "%.1f" % lg if lg is not None else "-", noisy[-1][1],
                    time.time() - t0))
            log("      stream -> CUPTI context id: %s" % ctxs)
            if dropped:
                lens = [len(r) for r in runs]
                log("  NOTE: inferences had different kernel sequences; lengths %s" % lens)

    parts.run_in(UNIT_COUNTS[-1], warm)
    for sm in UNIT_COUNTS:
        if time.time() - t_start > args.budget_s:
            log("BUDGET: %s aborted before %d SMs (no JSON written)" % (name, sm))
            aborted = True
            break
        parts.run_in(sm, measure, sm)
    if aborted:
        del model, x
        torch.cuda.empty_cache()
        return None
    kernels, report = build_kernel_table(per_sm)
    for r in report:
        log("  MISMATCH at %d SMs: %d kernels vs %d at 132; only at 132: %s; only here: %s" % (
            r["sm"], r["count"], r["ref_count"], r["only_in_ref"][:10], r["only_here"][:10]))
    if off_pos.get(132):
        ref = per_sm[132][0]
        offn = set(off_pos[132])
        tot = [sum(k["us"][j] for i, k in enumerate(kernels) if i in offn) for j in range(len(UNIT_COUNTS))]
        if len(kernels) == len(ref):
            log("  off-stream kernels (%d/inference), time at each SM count: %s us" % (
                len(offn), [round(t, 1) for t in tot]))
    # Evidence of confinement per model: the largest kernel's 8-SM vs 132-SM time.
    if kernels:
        big = max(kernels, key=lambda k: k["us"][-1])
        log("  largest kernel at 132 SMs: %.1f us, at 8 SMs %.1f us (x%.1f): %s" % (
            big["us"][-1], big["us"][0], big["us"][0] / max(big["us"][-1], 1e-9), big["name"]))
    doc = {"format": "eclip.workload", "version": 1, "model": name}
    doc.update(meta)
    doc.update({"batch": 1, "dtype": "fp16", "mode": "eager", "unit_counts": UNIT_COUNTS})
    rl = {"eager": lat_e}
    if graph_differs:
        # A graph latency of another kernel sequence would mislead whoever compares it with
        # the kernel list (albert: SDPA takes another attention path under capture).
        log("  graph latency left out of the JSON: the graph runs other kernels than eager "
            "at %s SMs; graph latencies were %s us" % (graph_differs, lat_g))
    elif all(v is not None for v in lat_g):
        rl["graph"] = lat_g
    doc["request_latency_us"] = rl
    doc["kernels"] = kernels
    with open(os.path.join(args.outdir, name + ".json"), "w") as f:
        f.write(workload_json(doc))
    row = {
        "kernels": len(kernels), "mismatch": len(report),
        "sum": [round(sum(k["us"][i] for k in kernels), 1) for i in range(len(UNIT_COUNTS))],
        "eager": lat_e, "graph": lat_g, "noisy": noisy, "graph_differs": graph_differs}
    log("  wrote %s.json (%d kernels) in %.1f s" % (name, len(kernels), time.time() - t_model))
    del model, x
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    return row


def grids_model(torch, name, args, parts, meta, tmpdir):
    """--grids-only: the launch grid of every kernel of one inference, on the whole GPU.

    The same steps as profile_model's 132-SM case (global warm-up on the whole GPU, then on
    the SM count's stream: warm-up, eager latency, --profile-iters profiled inferences), but
    no CUDA graph.  The grid and block of each kernel come from the profiler's kernel events
    (kernel_from_event).  Writes <outdir>/<model>.grids.json ("eclip.grids") with the rows
    of --grid-sms' first SM count (132: the workloads' order and names); further SM counts
    are only compared with it (logged, and summarised in the file's "other_sms")."""
    t_model = time.time()
    model, x, info = build_model(torch, name)
    log("\n=== %s (%s), built in %.1f s  [grids only]" % (name, info, time.time() - t_model))
    sms = [int(v) for v in args.grid_sms.split(",") if v]
    res = {}

    def warm():
        with torch.inference_mode(), torch.cuda.stream(parts.streams[132]):
            for _ in range(args.warmup):
                run_once(torch, model, x)
        torch.cuda.synchronize()

    def measure(sm):
        with torch.inference_mode():
            s = parts.streams[sm]
            t0 = time.time()
            with torch.cuda.stream(s):
                for _ in range(args.warmup):
                    run_once(torch, model, x)
            s.synchronize()
            le = eager_latency(torch, model, x, s, args.latency_iters)
            runs, n_stray, other, streams, ctxs = profile_kernels(
                torch, lambda: run_once(torch, model, x), s, args.profile_iters, tmpdir)
            names, _kept, dropped, _first = consensus_runs(runs)
            kept = [r for r in runs if [k["name"] for k in r] == names]
            table, varying = launch_table(kept, names)
            res[sm] = (names, table, varying)
            no_grid = sum(1 for r in table if r["blocks"] is None)
            log("  %3d SMs: %4d kernels/inference (runs kept %d, dropped %d, stray %d, "
                "memcpy/memset %s, streams %s) sum %.1f us, eager %.1f us; grid or block "
                "differs between runs at %d positions %s; no grid at %d  [%.1f s]" % (
                    sm, len(names), len(kept), dropped, n_stray, other,
                    sorted(map(str, streams)), sum(r["us"] for r in table), le,
                    len(varying), varying[:10], no_grid, time.time() - t0))
            log("      stream -> CUPTI context id: %s" % ctxs)
            bad = [r for r in table if r["blocks"] is not None and r["blocks_per_sm"] is not None
                   and abs(r["blocks_per_sm"] * parts.sm_counts[132] - r["blocks"]) > 0.01 * r["blocks"] + 0.5]
            log("      'blocks per SM' == blocks / %d SMs at %d of %d kernels" % (
                parts.sm_counts[132], len(table) - len(bad) - sum(
                    1 for r in table if r["blocks_per_sm"] is None), len(table)))

    parts.run_in(132, warm)
    for sm in UNIT_COUNTS:        # the order of profile_model: ascending, 132 last
        if sm in sms:
            parts.run_in(sm, measure, sm)
    ref_sm = sms[0]
    names, table, varying = res[ref_sm]
    other_sms = {}
    for sm in sms[1:]:
        n2, t2, _v2 = res[sm]
        same_names = n2 == names
        diff = [i for i, (a, b) in enumerate(zip(table, t2))
                if a["grid"] != b["grid"] or a["block"] != b["block"]] if same_names else None
        other_sms[str(sm)] = {"same_kernels": same_names,
                              "grid_or_block_differs_at": diff}
        if same_names:
            log("  %d SMs vs %d SMs: same kernels; grid or block differs at %d positions%s" % (
                sm, ref_sm, len(diff), "".join(
                    "\n      #%d %s %s/%s -> %s/%s" % (i, table[i]["name"][:70], table[i]["grid"],
                                                     table[i]["block"], t2[i]["grid"], t2[i]["block"])
                    for i in diff[:8])))
        else:
            log("  %d SMs vs %d SMs: OTHER KERNELS (%d vs %d)" % (sm, ref_sm, len(n2), len(names)))
    blocks = [r["blocks"] for r in table if r["blocks"] is not None]
    if blocks:
        tot = sum(r["us"] for r in table)
        small = sum(r["us"] for r in table if r["blocks"] is not None and r["blocks"] < 132)
        log("  blocks: min %d, median %g, max %d; kernels < 132 blocks: %d of %d, %.0f%% of "
            "the kernel time" % (min(blocks), median(blocks), max(blocks),
                                 sum(1 for b in blocks if b < 132), len(table),
                                 100.0 * small / tot if tot else 0.0))
    doc = {"format": "eclip.grids", "version": 1, "model": name}
    doc.update(meta)
    doc.update({"batch": 1, "dtype": "fp16", "mode": "eager", "sm": ref_sm,
                "thread_mode": args.thread_mode, "profile_iters": args.profile_iters,
                "grid_varies_between_runs_at": varying, "other_sms": other_sms,
                "kernels": table})
    with open(os.path.join(args.outdir, name + ".grids.json"), "w") as f:
        f.write(grids_json(doc))
    log("  wrote %s.grids.json (%d kernels) in %.1f s" % (name, len(table), time.time() - t_model))
    del model, x
    torch.cuda.synchronize()
    torch.cuda.empty_cache()


def merge_grids(grid_dir, workload_dir, models):
    """--merge-grids (no GPU): add "blocks" from <grid_dir>/<model>.grids.json to
    <workload_dir>/<model>.json.  A model whose kernel sequence does not match is reported
    and its file left alone.  Prints a Markdown table of the merged models.  Returns the
    number of models not merged."""
    rows, failed = [], 0
    for name in models:
        gp = os.path.join(grid_dir, name + ".grids.json")
        wp = os.path.join(workload_dir, name + ".json")
        if not os.path.exists(gp):
            log("%s: no %s, skipped" % (name, gp))
            failed += 1
            continue
        with open(gp) as f:
            g = json.load(f)
        with open(wp) as f:
            w = json.load(f)
        if g.get("sm") != w["unit_counts"][-1]:
            log("%s: grids taken at %s SMs, the workload's order is at %s; skipped" % (
                name, g.get("sm"), w["unit_counts"][-1]))
            failed += 1
            continue
        new, problems = merge_blocks(w, g["kernels"])
        if problems:
            failed += 1
            log("%s: NOT MERGED, %d problems: %s" % (name, len(problems), problems[:5]))
            continue
        with open(wp, "w") as f:
            f.write(workload_json(new))
        n, med, share = blocks_stats(new)
        rows.append((name, n, med, share))
        log("%s: merged %d kernels" % (name, n))
    log("\n| model | kernels | median blocks | kernel time at 132 SMs in kernels of < 132 blocks |")
    log("|---|---|---|---|")
    for name, n, med, share in rows:
        log("| %s | %d | %g | %.0f%% |" % (name, n, med, share * 100))
    return failed


def compare_graph_kernels(torch, g, s, tmpdir, names, med, sm, detail):
    """Profile graph replays and compare their kernels with the eager ones.  Returns True
    when the graph runs the same multiset of kernels as eager mode (order may differ where
    a library forks work onto several streams)."""
    runs, _n, _o, streams, _c = profile_kernels(torch, g.replay, s, 3 if detail else 1, tmpdir)
    gnames, gkept, _d, _f = consensus_runs(runs)
    gmed = per_position_median(gkept)
    same = collections.Counter(gnames) == collections.Counter(names)
    if same and not detail:
        return True
    log("  %3d SMs graph replay: %d kernels (eager %d)%s, kernel sum %.1f us (eager %.1f), "
        "streams %s" % (sm, len(gnames), len(names), "" if same else " NOT THE SAME KERNELS",
                        sum(gmed), sum(med), sorted(map(str, streams))))
    if not detail:
        return same
    if gnames == names:
        diffs = sorted(range(len(names)), key=lambda i: -abs(gmed[i] - med[i]))[:5]
        for i in diffs:
            log("      #%d %.1f us eager vs %.1f us graph: %s" % (i, med[i], gmed[i], names[i][:90]))
    else:
        ce, cg = collections.Counter(names), collections.Counter(gnames)
        log("      only eager: %s" % list((ce - cg).items())[:6])
        log("      only graph: %s" % list((cg - ce).items())[:6])
        te, tg = collections.defaultdict(float), collections.defaultdict(float)
        for n, t in zip(names, med):
            te[n[:60]] += t
        for n, t in zip(gnames, gmed):
            tg[n[:60]] += t
        keys = sorted(set(te) | set(tg), key=lambda k: -abs(te[k] - tg[k]))[:6]
        for k in keys:
            log("      %.1f us eager vs %.1f us graph: %s" % (te[k], tg[k], k))
    return same


def cudnn_benchmark_check(torch, name, parts, args):  # noqa: C901
    """Diagnostic (log only): graph latency per SM count with cudnn.benchmark=True, i.e.
    algorithms chosen by timing rather than by heuristics.  cuDNN times the candidates on
    the first call per shape and caches the winner by shape, not by stream, so the first
    call is made on the whole GPU; the same algorithms then run at every SM count."""
    model, x, _info = build_model(torch, name)
    torch.backends.cudnn.benchmark = True
    res = {}
    try:
        with torch.inference_mode():
            first = args.benchmark_first_sm
            for sm in [first] + [u for u in UNIT_COUNTS if u != first]:
                s = parts.streams[sm]
                with torch.cuda.stream(s):
                    for _ in range(args.warmup):
                        run_once(torch, model, x)
                s.synchronize()
                lg, g = graph_latency(torch, model, x, s, args.graph_iters)
                del g
                res[sm] = round(lg, 1)
    finally:
        torch.backends.cudnn.benchmark = False
    log("cudnn.benchmark=True check (algorithms picked at %d SMs), %s graph latency (us): %s" % (
        args.benchmark_first_sm, name, [res[sm] for sm in UNIT_COUNTS]))
    del model, x
    torch.cuda.synchronize()
    torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--budget-s", type=float, default=450.0,
                    help="start no new (model, SM count) after this many seconds")
    ap.add_argument("--profile-iters", type=int, default=5)
    ap.add_argument("--latency-iters", type=int, default=10)
    ap.add_argument("--graph-iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--cudnn-benchmark-check", default="",
                    help="comma-separated models whose graph latency is also measured with "
                         "cudnn.benchmark=True, after all JSON files are written (log only)")
    ap.add_argument("--thread-mode", default="none", choices=["none", "thread", "green-current"],
                    help="none: everything in the main thread; thread: one worker thread per "
                         "SM count (own cuDNN/cuBLAS handles); green-current: as thread, and "
                         "the thread makes its green context current first")
    ap.add_argument("--benchmark-first-sm", type=int, default=132,
                    help="SM count on which the cudnn.benchmark check makes its first call "
                         "(where cuDNN times and picks the algorithms)")
    ap.add_argument("--profile-graph", default="",
                    help="comma-separated models whose graph replays are also profiled and "
                         "compared kernel by kernel with eager (diagnostic, log only)")
    ap.add_argument("--grids-only", action="store_true",
                    help="record only the launch grid (blocks) of every kernel, at the SM "
                         "counts of --grid-sms; writes OUTDIR/<model>.grids.json")
    ap.add_argument("--grid-sms", default="132",
                    help="with --grids-only: SM counts, comma-separated; the first one (132, "
                         "the order of the workload files) is written, the others are only "
                         "compared with it")
    ap.add_argument("--merge-grids", metavar="GRID_DIR",
                    help="no GPU: add \"blocks\" from GRID_DIR/<model>.grids.json to "
                         "OUTDIR/<model>.json (OUTDIR defaults to workloads/h100)")
    ap.add_argument("--self-test", action="store_true", help="test the pure helpers, no GPU")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return 0
    if args.merge_grids:
        wd = args.outdir or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "..", "..", "workloads", "h100")
        return 1 if merge_grids(args.merge_grids, wd, filter(None, args.models.split(","))) else 0
    if not args.outdir:
        ap.error("outdir is required")
    os.makedirs(args.outdir, exist_ok=True)
    t_start = time.time()

    import torch
    torch.backends.cudnn.benchmark = False     # same algorithms at every SM count
    try:
        drv_ver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                                  "--format=csv,noheader"], capture_output=True,
                                 text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception as e:  # noqa: BLE001
        drv_ver = "unknown (%s)" % e
    meta = {"device": torch.cuda.get_device_name(0), "driver": drv_ver,
            "torch": torch.__version__, "date": datetime.date.today().isoformat()}
    log("meta:", json.dumps(meta), "cudnn", torch.backends.cudnn.version(),
        "python", sys.version.split()[0])
    try:
        import torchvision
        import transformers
        log("torchvision", torchvision.__version__, "transformers", transformers.__version__)
    except Exception as e:  # noqa: BLE001
        log("version query failed:", e)

    parts = Partitions(torch, args.thread_mode)
    tmpdir = tempfile.mkdtemp()
    if args.grids_only:
        sms = [int(v) for v in args.grid_sms.split(",") if v]
        if not sms or any(sm not in parts.streams for sm in sms):
            ap.error("--grid-sms: SM counts must be among %s" % UNIT_COUNTS)
        for name in filter(None, args.models.split(",")):
            if time.time() - t_start > args.budget_s:
                log("BUDGET: skipping %s" % name)
                continue
            try:
                grids_model(torch, name, args, parts, meta, tmpdir)
            except Exception:  # noqa: BLE001
                log("ERROR while recording the grids of %s:\n%s" % (name, traceback.format_exc()))
                torch.cuda.synchronize()
        log("total %.1f s" % (time.time() - t_start))
        return 0
    confinement_check(torch, parts)
    summary = {}

    for name in filter(None, args.models.split(",")):
        if time.time() - t_start > args.budget_s:
            log("BUDGET: skipping %s" % name)
            continue
        try:
            row = profile_model(torch, name, args, parts, meta, tmpdir, t_start)
        except Exception:  # noqa: BLE001 -- one broken model must not lose the others
            log("ERROR while profiling %s:\n%s" % (name, traceback.format_exc()))
            torch.cuda.synchronize()
            continue
        if row is not None:
            summary[name] = row

    for name in filter(None, args.cudnn_benchmark_check.split(",")):
        if time.time() - t_start > args.budget_s:
            log("BUDGET: skipping the cudnn.benchmark check of %s" % name)
            continue
        try:
            cudnn_benchmark_check(torch, name, parts, args)
        except Exception:  # noqa: BLE001
            log("ERROR in the cudnn.benchmark check of %s:\n%s" % (name, traceback.format_exc()))

    log("\n=== SUMMARY (us; columns = SMs %s)" % UNIT_COUNTS)
    log("%-20s %7s  %-44s  %-44s  %s" % ("model", "kernels", "sum of kernel time",
                                         "eager latency", "graph latency"))
    for name, s in summary.items():
        fmt = lambda v: " ".join("%8.1f" % x if x is not None else "       -" for x in v)  # noqa: E731
        log("%-20s %7d  %s  %s  %s" % (name, s["kernels"], fmt(s["sum"]), fmt(s["eager"]),
                                       fmt(s["graph"])))
    log("SUMMARY_JSON " + json.dumps(summary))
    log("total %.1f s" % (time.time() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
