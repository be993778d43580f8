import pytest

import eclip


def test_sim_idle_window(sim):
    with eclip.EnergyMeter("sim", sim) as m:
        assert m.description == "sim: simulated H100"
        calls = []
        w = m.idle(0.5, lambda: calls.append(1))
        assert len(calls) == 2  # one synchronise per edge
        assert w.seconds == pytest.approx(0.5) and w.avg_power_w > 0
        assert w.avg_power_w * w.seconds == pytest.approx(w.joules)


def test_sim_window_context_manager(sim):
    with eclip.EnergyMeter("sim", sim) as m:
        with m.window() as box:
            pass
        assert box.result is not None and box.result.seconds >= 0
        j, _ = m.read()
        assert j >= box.result.end_j - 1e-9


def test_failing_sync_hook_is_a_backend_error_from_it(sim):
    with eclip.EnergyMeter("sim", sim) as m:
        m.begin()

        def bad():
            raise RuntimeError("device lost")
        with pytest.raises(eclip.EclipError) as e:
            m.end(bad)
        assert e.value.code == 4 and e.value.status == "backend"
        assert isinstance(e.value.__cause__, RuntimeError) and "device lost" in str(e.value.__cause__)


def test_unavailable_counters_say_why(lib):
    with pytest.raises(eclip.EclipError) as e:
        eclip.EnergyMeter("sim")  # needs a sim backend
    assert e.value.code in (1, 5)
    try:
        eclip.EnergyMeter("nvml").close()
    except eclip.EclipError as e:  # no NVIDIA driver here: the reason, not a crash
        assert e.code == 5 and e.message.startswith("nvml")


def test_alignment_arguments_are_checked(sim):
    with eclip.EnergyMeter("sim", sim) as m:
        m.set_alignment(False)
        with pytest.raises(eclip.EclipError):
            m.set_alignment(True, poll_s=-1.0)
