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
