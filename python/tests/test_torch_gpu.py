"""eclip.torch on an NVIDIA GPU: partitions as torch streams, per-partition graph capture, the
co-location runner. Skipped, with the reason, without torch, a CUDA GPU or a libeclip_c with the
cuda backend (ctest reports the entry as skipped)."""
import json
import os
import time

import pytest

torch = pytest.importorskip("torch", reason="SKIPPED: no torch")
if not torch.cuda.is_available():
    pytest.skip("SKIPPED: no CUDA GPU (torch sees none)", allow_module_level=True)

import eclip  # noqa: E402
from eclip import search as esearch  # noqa: E402
from eclip.torch.chain import ChainedModel  # noqa: E402
from eclip.torch.runner import Colocation  # noqa: E402
from eclip.torch.streams import PartitionStreams  # noqa: E402


@pytest.fixture(scope="module")
def cuda(lib):
    try:
        be = eclip.Backend("cuda")
    except eclip.EclipError as e:
        pytest.skip(f"SKIPPED: no CUDA GPU usable by libeclip_c ({e})")
    yield be
    be.close()


def matmul_units(n, size=512, seed=0):
    """n dependent tanh(x @ w) steps as a chained model (fp32, no TF32: comparable across partitions)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    g = torch.Generator(device="cuda").manual_seed(seed)
    w = torch.randn(size, size, device="cuda", generator=g) / size ** 0.5
    x = torch.randn(size, size, device="cuda", generator=g)
    return ChainedModel(f"matmul{n}", [(f"step{i}", lambda t: torch.tanh(t @ w)) for i in range(n)], x)


def plan_of(backend, configs_per_worker):
    """A plan with the given per-unit sizes (a test input; the planner is tested on sim)."""
    workers = []
    for w, cfgs in enumerate(configs_per_worker):
        groups = []
        for i, c in enumerate(cfgs):
            if groups and groups[-1]["config"] == c:
                groups[-1]["count"] += 1
            else:
                groups.append({"first": i, "count": 1, "config": c})
        workers.append({"model": f"w{w}", "groups": groups})
    return eclip.Plan.from_json(backend, {"format": "eclip.plan", "version": 1, "device": backend.name,
                                          "strategy": "test", "workers": workers})


def test_routed_chain_on_partition_streams_matches_one_stream(cuda):
    """Each unit on the stream the router gives it (two partitions and the whole device): the result
    equals the chain on one stream, and the counters add up."""
    classes = cuda.size_classes()
    small, mid, whole = classes[0].groups, classes[1].groups, classes[-1].groups
    cfgs = [small, small, mid, whole, mid, small, whole, mid] * 4
    model = matmul_units(len(cfgs))
    ref = model.bufs[0].clone()
    with torch.inference_mode():
        for fn in model._fns:
            ref = fn(ref)
    with plan_of(cuda, [cfgs]) as plan, eclip.Pool(cuda, plan) as pool, eclip.Router(pool) as router:
        streams = PartitionStreams(pool)
        x = model.bufs[0].clone()
        torch.cuda.synchronize()
        router.begin_request(0)
        with torch.inference_mode():
            for fn in model._fns:
                r = router.route(0)
                s = streams.for_route(r)
                with torch.cuda.stream(s):
                    y = fn(x)
                x.record_stream(s)
                x = y
                x.record_stream(s)
        torch.cuda.synchronize()
        c = router.counters(0)
        assert c.launches == len(cfgs) and c.backend_errors == 0 and c.switches > 0
        # Partitions may lead cuBLAS to other algorithms: a tolerance; misordering gives O(1) errors.
        assert (x - ref).abs().max().item() < 1e-3


def test_capture_runs_in_the_partition_and_the_runner_counts(cuda):
    classes = cuda.size_classes()
    a, b = matmul_units(6, seed=1), matmul_units(6, seed=2)
    expect = []
    for m in (a, b):
        with torch.inference_mode():
            for fn in m.units():
                fn()
        torch.cuda.synchronize()
        expect.append(m.output.clone())
    cfg = [[classes[0].groups] * 3 + [classes[2].groups] * 3, [classes[1].groups] * 6]
    with plan_of(cuda, cfg) as plan, Colocation(cuda, plan, [a.units(), b.units()], ["a", "b"]) as run:
        for w in range(2):  # each group (a run of units on one size) captured on the slot of its size
            runs = [c for i, c in enumerate(cfg[w]) if i == 0 or cfg[w][i - 1] != c]
            assert [run.active.pool.slot(w, s).groups for s in run.placements[w]] == runs
        rec = run.run(window_s=0.5, warmup_s=0.2, alone_rps={"a": 1000.0, "b": 1000.0})
    assert not rec["errors"]
    for w in rec["workers"]:
        # Counted by the router at the window's edges vs timed by completion inside it: at most one apart.
        assert w["requests"] > 0 and abs(w["requests"] - w["timed_requests"]) <= 1
        assert w["p50_ms"] <= w["p95_ms"] and w["unrouted"] == 0 and w["backend_errors"] == 0
    assert rec["workers"][0]["switches_per_request"] > 0
    assert 0 < rec["jain"] <= 1 and rec["slowest_p95_ms"] > 0
    for m, e in zip((a, b), expect):
        assert (m.output - e).abs().max().item() < 1e-3


def test_energy_window_with_torch_sync(cuda):
    try:
        meter = eclip.EnergyMeter("nvml")
    except eclip.EclipError as e:
        pytest.skip(f"SKIPPED: no NVML ({e})")
    with meter:
        w = meter.idle(0.3, torch.cuda.synchronize)
        assert w.seconds > 0 and w.joules > 0


def test_switch_frees_cached_setups_when_memory_is_short(cuda):
    classes = cuda.size_classes()
    a, b = matmul_units(2, seed=3), matmul_units(2, seed=4)
    cfgs = [[[classes[i].groups] * 2, [classes[j].groups] * 2] for i, j in ((0, 1), (1, 0), (0, 0))]
    plans = [plan_of(cuda, c) for c in cfgs]
    try:
        with Colocation(cuda, plans[0], [a.units(), b.units()], ["a", "b"], cache=8) as run:
            run.switch(plans[1])
            assert len(run._setups) == 2  # cached: memory is plentiful
            run.run(window_s=0.1, warmup_s=0.05)
            # As if one setup took more than the device has free: every cached setup but the
            # active one is freed before the next is made; the workers keep running throughout.
            run._setup_bytes = 1 << 60
            run.switch(plans[2])
            assert len(run._setups) == 2 and run.active.plan.to_json() == plans[2].to_json()
            rec = run.run(window_s=0.2, warmup_s=0.1)
            # clear_cache keeps the active setup only; switching back captures again.
            run.clear_cache()
            assert list(run._setups.values()) == [run.active]
            assert run.switch(plans[1]) > 0
            rec2 = run.run(window_s=0.2, warmup_s=0.1)
        assert not rec["errors"] and all(w["requests"] > 0 for w in rec["workers"])
        assert not rec2["errors"] and all(w["requests"] > 0 for w in rec2["workers"])
    finally:
        for p in plans:
            p.close()


def test_plans_set_up_again_and_again_reuse_their_capture_threads_and_memory(cuda):
    """Each plan set up anew (cache=1: the one before is freed) captures in the backend's partitions:
    after the first round of plans, no new capture thread, capture stream or cuBLAS workspace, so the
    device memory held stays flat (a thread and stream per pool added 4 threads and 260 MiB per
    four-worker plan on the H200); the graphs still compute what the model does eagerly."""
    import threading
    classes = cuda.size_classes()
    models = [matmul_units(2, seed=10 + i) for i in range(2)]
    expect = [reference_output(m) for m in models]
    cfgs = [[[classes[i].groups] * 2, [classes[j].groups] * 2] for i, j in ((0, 1), (1, 0), (2, 0))]
    plans = [plan_of(cuda, c) for c in cfgs]
    held = []
    try:
        with Colocation(cuda, plans[-1], [m.units() for m in models], ["a", "b"], cache=1) as run:
            for _ in range(4):  # plans[-1] is freed by the first switch: each switch sets up anew
                for p in plans:
                    assert run.switch(p) > 0  # set up anew every time
                torch.cuda.synchronize()
                torch.cuda.empty_cache()
                held.append((threading.active_count(), torch.cuda.memory_allocated()))
            rec = run.run(window_s=0.2, warmup_s=0.1)
        assert not rec["errors"] and all(w["requests"] > 0 for w in rec["workers"])
        threads, allocated = zip(*held)
        assert threads[1:] == threads[:1] * 3, held
        assert max(allocated[1:]) - allocated[0] < (16 << 20), held  # one 32-MiB workspace more would fail
    finally:
        for p in plans:
            p.close()
    for m, e in zip(models, expect):
        assert (m.output - e).abs().max().item() < 1e-3


def test_a_worker_waits_while_its_units_are_captured_and_the_others_run_on(cuda, monkeypatch):
    """A capture runs the units once eagerly on the worker's buffers: none of that worker's requests
    may run meanwhile (they would read and write the same buffers), while the workers keep
    serving between captures."""
    from eclip.torch import capture as capmod
    spans = []  # (owner, start, end) of every capture
    real = capmod.PartitionCapture.capture

    def timed(self, worker, slot, fn, mempool=None, warmup=1, owner=None):
        t0 = time.perf_counter()
        graph = real(self, worker, slot, fn, mempool, warmup, owner)
        spans.append((owner, t0, time.perf_counter()))
        return graph
    monkeypatch.setattr(capmod.PartitionCapture, "capture", timed)
    classes = cuda.size_classes()
    models = [matmul_units(4, size=1024, seed=20 + i) for i in range(2)]
    expect = [reference_output(m) for m in models]
    cfgs = [[[classes[i].groups] * 4, [classes[j].groups] * 4] for i, j in ((0, 1), (1, 0))]
    plans = [plan_of(cuda, c) for c in cfgs]
    try:
        with Colocation(cuda, plans[0], [m.units() for m in models], ["a", "b"], cache=1) as run:
            run.run(window_s=0.1, warmup_s=0.0)  # the workers run from here on
            spans.clear()
            for _ in range(3):
                for p in (plans[1], plans[0]):
                    run.switch(p)
            time.sleep(0.05)
            run.stop()
            requests = {wk.owner: [(end - lat, end) for end, lat in wk.log] for wk in run.workers}
        assert len(spans) == 6 * 2
        for owner, s, e in spans:
            overlapping = [(a, b) for a, b in requests[owner] if a < e and b > s]
            assert not overlapping, (owner, s, e, overlapping[:3])
        first, last = min(s for _, s, _ in spans), max(e for _, _, e in spans)
        for owner, reqs in requests.items():  # each worker kept serving while plans were set up
            assert any(first < b < last for a, b in reqs), owner
    finally:
        for p in plans:
            p.close()
    for m, e in zip(models, expect):
        assert (m.output - e).abs().max().item() < 1e-3


def reference_output(model):
    with torch.inference_mode():
        for fn in model.units():
            fn()
    torch.cuda.synchronize()
    return model.output.clone()


def test_mix_change_keeps_the_staying_worker_running(cuda):
    """set_mix: b stays (same thread, no restart), a leaves after its request in flight, c joins;
    every worker's result is still exact, and a plan for the wrong number of workers changes nothing."""
    classes = cuda.size_classes()
    a, b, c = matmul_units(4, seed=5), matmul_units(4, seed=6), matmul_units(4, seed=7)
    expect = [reference_output(m) for m in (a, b, c)]
    ua, ub, uc = a.units(), b.units(), c.units()
    mid = classes[1].groups
    with plan_of(cuda, [[mid] * 4, [mid] * 4]) as p_ab, \
            plan_of(cuda, [[classes[0].groups] * 4, [classes[2].groups] * 4]) as p_bc, \
            plan_of(cuda, [[mid] * 4]) as p_one, \
            Colocation(cuda, p_ab, [ua, ub], ["a", "b"]) as run:
        run.run(window_s=0.2, warmup_s=0.05)
        leaving, staying = run.workers
        thread = staying.thread
        with pytest.raises(ValueError, match="the plan has 1"):
            run.set_mix(p_one, [ub, uc], ["b", "c"])
        assert run.workers == [leaving, staying] and run.names == ["a", "b"]
        run.set_mix(p_bc, [ub, uc], ["b", "c"])
        assert run.workers[0] is staying and staying.thread is thread and thread.is_alive()
        assert leaving.thread is None and run.names == ["b", "c"]
        rec = run.run(window_s=0.3, warmup_s=0.1)
        assert not rec["errors"] and [w["model"] for w in rec["workers"]] == ["b", "c"]
        assert all(w["requests"] > 0 and w["unrouted"] == 0 for w in rec["workers"])
    for m, e in zip((a, b, c), expect):
        assert (m.output - e).abs().max().item() < 1e-3


def test_online_tuner_replans_when_a_worker_joins(cuda):
    from eclip.torch.tune import OnlineTuner
    a, b, c = matmul_units(3, seed=8), matmul_units(3, seed=9), matmul_units(3, seed=10)
    ua, ub, uc = a.units(), b.units(), c.units()
    alone = {"a": 1000.0, "b": 1000.0, "c": 1000.0}
    with esearch.plan_for(cuda, {"models": ["a", "b"], "segments": [[3], [3]]}, {"split": []}) as p, \
            Colocation(cuda, p, [ua, ub], ["a", "b"]) as run:
        tuner = OnlineTuner(run, cuda, alone, window_s=0.1, warmup_s=0.05, log=print, time_limit_s=3.0,
                            p95_limit=[])
        try:
            best, report = tuner.retune()
            assert best.workers == 2 and report["trials"]
            best, report = tuner.change_mix([ua, ub, uc], ["a", "b", "c"])
            assert best.workers == 3 and run.active.plan.to_json() == best.to_json()
            assert [h["models"] for h in tuner.history] == [["a", "b"], ["a", "b", "c"]]
            assert [w["models"] for w in report["baseline"]] == [["a", "b", "c"]] * 3 and report["replan_s"] > 0
            rec = run.run(window_s=0.1, warmup_s=0.05)
            assert not rec["errors"] and all(w["requests"] > 0 for w in rec["workers"])
        finally:
            tuner.close()


def test_online_tuner_check_replans_only_on_drift(cuda):
    from eclip.torch.tune import OnlineTuner
    a, b = matmul_units(3, seed=11), matmul_units(3, seed=12)
    ua, ub = a.units(), b.units()
    with esearch.plan_for(cuda, {"models": ["a", "b"], "segments": [[3], [3]]}, {"split": []}) as p, \
            Colocation(cuda, p, [ua, ub], ["a", "b"]) as run:
        tuner = OnlineTuner(run, cuda, {"a": 1000.0, "b": 1000.0}, window_s=0.1, warmup_s=0.05, time_limit_s=2.0,
                            p95_limit=[], jain_floor=0.0)
        try:
            with pytest.raises(RuntimeError, match="nothing tuned yet"):
                tuner.check()
            tuner.retune()
            rec, report = tuner.check(drift=0.99)  # the same plan, within 99 %: serving goes on
            assert report is None and rec["requests"] > 0 and len(tuner.history) == 1
            rec, report = tuner.check(drift=-1.0)  # as if the value had fallen: re-planned
            assert report is not None and len(tuner.history) == 2
            tuner.close()  # closes the tuner's plans; the co-location serves on its own copy
            rec = run.run(window_s=0.1, warmup_s=0.05)
            assert not rec["errors"] and rec["requests"] > 0
        finally:
            tuner.close()


def test_solo_rates_measure_each_model_alone(cuda):
    from eclip.torch.tune import solo_rates
    a, b = matmul_units(2, seed=13), matmul_units(4, seed=14)
    logged = []
    rates, records = solo_rates(cuda, ["a", "b"], [a.units(), b.units()], window_s=0.1, warmup_s=0.05,
                                log=logged.append)
    assert set(rates) == {"a", "b"} and all(r > 0 for r in rates.values())
    assert records["a"]["models"] == ["a"] and len(logged) == 2


def test_profile_records_each_groups_energy(cuda, tmp_path):
    """The profiler's energy window (NVML) gives each group of a model a dynamic energy, and the
    library reads the profile back with it."""
    import subprocess
    import sys
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-m", "eclip.torch.profile", "--models", "alexnet", "--batches", "1",
                          "--reps", "2", "--energy-s", "0.5", "--out", str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.load(open(tmp_path / "profile_b1.json"))
    energies = [k.get("energy_uj", 0) for k in doc["models"][0]["kernels"]]
    assert all(e > 0 for e in energies), energies
    det = json.load(open(tmp_path / "profile_b1_details.json"))["models"]["alexnet"]["alone"]
    assert sum(energies) * 1e-6 == pytest.approx(det["dynamic_j_per_request"], rel=0.01)
    with eclip.Profile.from_file(str(tmp_path / "profile_b1.json")) as p:
        assert p.source.endswith("profile_b1.json")
