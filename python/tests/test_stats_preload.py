import eclip.preload
from eclip import stats


def test_percentile_is_nearest_rank_like_the_simulator():
    assert stats.percentile([], 0.95) is None
    assert stats.percentile([5], 0.5) == 5
    assert stats.percentile([1, 2, 3, 4, 5], 0.95) == 5  # not 4.8 (interpolation)
    assert stats.percentile([1, 2, 3, 4], 0.5) == 2
    assert stats.percentile(list(range(1, 101)), 0.95) == 95


def test_jain():
    assert stats.jain([1, 1, 1, 1]) == 1.0
    assert stats.jain([1, 0, 0, 0]) == 0.25
    assert stats.jain([0, 0]) == 0.0
    assert stats.jain([]) is None


def test_preload_absent_without_the_interposer():
    assert not eclip.preload.available()
    assert eclip.preload.begin_request() is False
    assert eclip.preload.active() is False
    assert eclip.preload.counters() is None
    try:
        eclip.preload.set_worker(1)
    except eclip.EclipError as e:
        assert e.code == 5 and "LD_PRELOAD" in e.message
    else:
        raise AssertionError("set_worker without the interposer must say so")


def _profile_cli(*args):
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-m", "eclip.torch.profile", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_profiler_refuses_bad_arguments_before_needing_torch():
    out = _profile_cli("--models", "albert,gpt5")
    assert out.returncode == 2 and "unknown model 'gpt5'" in out.stderr
    out = _profile_cli("--batches", "0")
    assert out.returncode == 2 and "--batches" in out.stderr


def test_profiler_says_what_is_missing():
    import importlib.util

    import pytest
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed: the no-torch message cannot be seen here")
    out = _profile_cli("--models", "alexnet", "--out", "/nonexistent/should-not-be-made")
    assert out.returncode == 1 and "PyTorch is not importable" in out.stderr


def test_profiler_splits_a_models_energy_over_its_groups_by_time():
    from eclip.torch.profile import group_energy_uj
    # 700 W alone against 120 W idle at 400 requests/s: 1.45 J per request, split 1:3.
    e = group_energy_uj(700.0, 120.0, 400.0, [100.0, 300.0])
    assert e == [362500.0, 1087500.0]
    assert group_energy_uj(119.0, 120.0, 400.0, [1.0]) is None  # no more than idle: nothing recorded
    out = _profile_cli("--energy-s", "-1")
    assert out.returncode == 2 and "--energy-s -1.0" in out.stderr
