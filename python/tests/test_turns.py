"""eclip.torch.runner.Turns: a worker's requests and the captures of its units take turns (no GPU)."""
import threading
import time

from eclip.torch.runner import Turns


def test_a_pause_goes_before_the_next_request():
    """A pause asked while a request runs gets its turn when that request ends, before the worker's
    next one, every time. (With one plain lock the worker, straight back for its next request,
    often takes it first: on the H200 a batch-8 setup waited 448 s for four captures.)"""
    turns = Turns()
    order, lost = [], []
    for i in range(20):
        in_request, finish = threading.Event(), threading.Event()

        def worker():
            with turns.request():
                in_request.set()
                finish.wait(5)
            with turns.request():  # straight back, as a worker in a closed loop
                order.append((i, "request"))

        def pause():
            with turns.paused():
                order.append((i, "pause"))

        w = threading.Thread(target=worker)
        w.start()
        assert in_request.wait(5)
        p = threading.Thread(target=pause)
        p.start()
        time.sleep(0.01)  # the pause is now waiting for the request in flight
        finish.set()
        w.join(5)
        p.join(5)
        assert not w.is_alive() and not p.is_alive(), "a request or pause never finished"
        if [what for j, what in order if j == i] != ["pause", "request"]:
            lost.append(i)
    assert not lost, f"the worker's next request went first in rounds {lost}"


def test_a_pause_waits_for_the_request_in_flight_only():
    """A worker in a closed loop of 5-ms requests: 40 pauses each wait for about one request, none
    overlaps a request, and the worker serves between them."""
    turns, stop = Turns(), threading.Event()
    inside, overlaps, served = [0], [], [0]

    def worker():
        while not stop.is_set():
            with turns.request():
                inside[0] += 1
                time.sleep(0.005)
                inside[0] -= 1
                served[0] += 1

    th = threading.Thread(target=worker, daemon=True)
    th.start()
    waits = []

    def pauses():
        for _ in range(40):
            t0 = time.perf_counter()
            with turns.paused():
                waits.append(time.perf_counter() - t0)
                if inside[0]:
                    overlaps.append(inside[0])
            time.sleep(0.002)  # the worker serves between pauses

    pauser = threading.Thread(target=pauses, daemon=True)
    pauser.start()
    pauser.join(timeout=20)
    stop.set()
    th.join(timeout=5)
    assert not pauser.is_alive(), f"the pauses starved: {len(waits)} of 40 in 20 s"
    assert not overlaps
    assert max(waits) < 0.1, sorted(waits)[-5:]  # one 5-ms request, with room for a loaded CI machine
    assert served[0] >= 20
