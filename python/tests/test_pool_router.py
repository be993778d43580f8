import json

import pytest

import eclip
from conftest import MIX


def per_kernel(plan_dict, w):
    out = []
    for g in plan_dict["workers"][w]["groups"]:
        out += [g["config"]] * g["count"]
    return out


@pytest.mark.parametrize("strategy", eclip.STRATEGIES)
def test_router_follows_the_plan(sim, profile, strategy):
    with eclip.Plan.make(sim, profile, MIX, strategy) as plan, eclip.Pool(sim, plan) as pool, \
            eclip.Router(pool) as router:
        d = plan.to_dict()
        for w in range(plan.workers):
            slots = pool.slots(w)
            assert slots[0].slot == 0 and slots[0].groups == 16  # the whole-device fallback
            cfgs = per_kernel(d, w)
            assert {s.groups for s in slots[1:]} == set(cfgs) - {16}
            router.begin_request(w)
            for k, c in enumerate(cfgs):
                r = router.route(w)
                assert r.status_name == "routed" and r.kernel == k
                assert slots[r.slot].groups == c and r.stream == slots[r.slot].stream
        total = router.counters()
        assert total.requests == plan.workers and total.launches == sum(plan.kernel_count(w) for w in range(4))
        assert total.unrouted == 0 and total.backend_errors == 0
        assert sum(router.counters(w).launches for w in range(4)) == total.launches


def test_switches_are_counted(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "kernel-wise") as plan, eclip.Pool(sim, plan) as pool, \
            eclip.Router(pool) as router:
        cfgs = per_kernel(plan.to_dict(), 1)  # densenet201: its groups want different sizes
        expected = sum(a != b for a, b in zip(cfgs, cfgs[1:]))
        assert expected > 0
        before = router.counters(1)
        router.begin_request(1)
        switched = sum(router.route(1).switched for _ in cfgs)
        assert switched == expected
        assert (router.counters(1) - before).switches == expected


def test_running_past_the_plan_falls_back(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "model-wise") as plan, eclip.Pool(sim, plan) as pool, \
            eclip.Router(pool) as router:
        router.begin_request(2)
        for _ in range(plan.kernel_count(2)):
            router.route(2)
        r = router.route(2)
        assert r.status_name == "no_plan_entry" and r.slot == 0
        assert router.counters(2).unrouted == 1


def test_bad_worker_and_slot_are_named(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "eclip") as plan, eclip.Pool(sim, plan) as pool, \
            eclip.Router(pool) as router:
        with pytest.raises(eclip.EclipError) as e:
            router.begin_request(7)
        assert e.value.code == 1 and "7" in e.value.message
        with pytest.raises(eclip.EclipError) as e:
            pool.slot(0, 99)
        assert e.value.code == 1 and "99" in e.value.message
        with pytest.raises(eclip.EclipError):
            router.counters(-2)


def test_push_pop_context_is_a_no_op_on_sim(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "kernel-wise") as plan, eclip.Pool(sim, plan) as pool:
        with pool.context(1, 1) as slot:
            assert slot.worker == 1 and slot.slot == 1
        with pytest.raises(eclip.EclipError):
            pool.push_context(1, 42)


def test_graph_and_kernel_launch_are_unavailable_on_sim(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "eclip") as plan, eclip.Pool(sim, plan) as pool, \
            eclip.Router(pool) as router:
        n, stride = plan.kernel_count(0), pool.slot_count(0)
        execs = eclip.exec_array(range(1, 1 + n * stride))
        router.begin_request(0)
        with pytest.raises(eclip.EclipError) as e:
            router.launch_graphs(0, execs, n, stride, eclip.route_array(n))
        assert e.value.code == 5
        with pytest.raises(eclip.EclipError) as e:
            router.launch_graph(0, 1)
        assert e.value.code == 5
        with pytest.raises(eclip.EclipError) as e:
            router.launch_kernel(0, 0x1234, (1, 1, 1), (32, 1, 1), None)
        assert e.value.code == 5 and "sim" in e.value.message
        with pytest.raises(ValueError):
            router.launch_graphs(0, execs, n + 1, stride)


def test_pool_over_the_queue_limit_is_refused(sim):
    doc = {"format": "eclip.plan", "version": 1, "device": "H100", "strategy": "x",
           "workers": [{"model": f"m{w}", "groups": [{"first": i, "count": 1, "config": c}
                                                    for i, c in enumerate([1, 2, 4, 8])]} for w in range(4)]}
    with pytest.raises(eclip.EclipError) as e:
        with eclip.Plan.from_json(sim, json.dumps(doc)) as plan:
            eclip.Pool(sim, plan)
    assert e.value.code == 2 and "15" in e.value.message


def test_errors_are_per_thread(sim):
    import threading
    seen = {}

    def fail():
        try:
            eclip.Plan.from_json(sim, "[]")
        except eclip.EclipError as e:
            seen["other"] = e.message
    t = threading.Thread(target=fail)
    t.start()
    t.join()
    assert seen["other"]
    assert eclip.load_library().last_error() == ""  # this thread's last call succeeded (or none failed)


def test_capture_streams_are_the_backends_per_partition_and_owner(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "kernel-wise") as plan:
        with eclip.Pool(sim, plan) as pool:
            slot = pool.slots(1)[1]
            first = pool.capture_stream(1, slot.slot, owner=3)
            assert first not in {s.stream for s in pool.slots(1)}  # not one of the pool's own streams
            assert pool.capture_stream(1, slot.slot, owner=3) == first
            assert pool.capture_stream(1, slot.slot, owner=4) != first
        with eclip.Pool(sim, plan) as later:  # the same partition in a new pool: the same stream
            assert later.capture_stream(1, slot.slot, owner=3) == first
            with pytest.raises(ValueError, match="owner must be an int.*-1"):
                later.capture_stream(1, slot.slot, owner=-1)
            with pytest.raises(eclip.EclipError, match="slot 99 out of range"):
                later.capture_stream(1, 99, owner=3)
