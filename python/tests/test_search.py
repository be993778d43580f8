"""The plan space and the library's search from Python (eclip.search), on the simulated H100: static
splits as plans, and the search driven by a Python evaluator (what eclip.torch.tune measures)."""

import os

import pytest

import eclip
from eclip import search as es

from conftest import MIX, profile_doc


def test_static_split_is_a_plan_with_disjoint_homes(sim):
    with es.static_split(sim, MIX, [6, 5, 3, 6], [5, 4, 4, 3]) as plan, eclip.Pool(sim, plan) as pool:
        doc = plan.to_dict()
        assert [pool.slot_count(w) for w in range(4)] == [2, 2, 2, 2]
    assert doc["version"] == 2
    homes = [(w["home"]["first"], w["home"]["groups"]) for w in doc["workers"]]
    assert homes == [(0, 5), (5, 4), (9, 4), (13, 3)]
    assert [w["groups"][0]["config"] for w in doc["workers"]] == [5, 4, 4, 3]


def test_bad_candidate_names_the_field(sim):
    with pytest.raises(eclip.EclipError, match="takes 17 groups but H100 has 16"):
        es.static_split(sim, MIX, [1, 1, 1, 1], [5, 4, 4, 4])
    with pytest.raises(eclip.EclipError, match="candidate.split\\[1\\]"):
        es.plan_for(sim, {"models": MIX[:2], "segments": [[1], [1]]}, {"split": [3, "x"]})


def test_search_with_a_python_evaluator_finds_the_best_split(sim):
    weights = [1.0, 2.0, 3.0, 4.0]
    calls = []

    def evaluate(plan, candidate):
        calls.append(candidate["label"])
        doc = plan.to_dict()  # the plan the library lent: readable during the call
        shared = "home" not in doc["workers"][0]
        split = [4, 4, 4, 4] if shared else [w["home"]["groups"] for w in doc["workers"]]
        scale = 0.5 if shared else 1.0  # sharing everything is worse than any split here
        return {"throughput_rps": [scale * wt * g ** 0.5 for wt, g in zip(weights, split)], "p95_ms": [1, 1, 1, 1],
                "power_w": 300.0, "window_s": 1.0}

    spec = {"models": MIX, "segments": [[1]] * 4, "search": {"noise": 0.0}}
    best, report = es.search(sim, spec, evaluate)
    with best:
        split = [w["home"]["groups"] for w in best.to_dict()["workers"]]
    assert report["format"] == "eclip.search" and report["converged"]
    assert len(report["trials"]) == len(calls)
    # Brute force over every split: sum w * sqrt(g) is maximised at g proportional to w^2.
    import itertools
    # (The last worker never gets the 12-SM remainder group alone: no cluster kernel launches there.)
    cands = [s for s in itertools.product(range(1, 14), repeat=4) if sum(s) == 16 and s[-1] > 1]
    brute = max(cands, key=lambda s: sum(w * g ** 0.5 for w, g in zip(weights, s)))
    assert split == list(brute)
    assert report["plan"]["strategy"] == "eclip-tuned"


def test_the_pick_is_measured_again_through_the_c_abi(sim):
    # 4/4/4/4's first window is lucky (1.2x), every later one is not (0.7x): judged by the mean of
    # its windows it falls behind a neighbour, which is measured again and kept.
    weights = [1.0, 1.0, 1.0, 1.0]
    seen = {}

    def evaluate(plan, candidate):
        label = candidate["label"]
        doc = plan.to_dict()
        split = [4, 4, 4, 4] if "home" not in doc["workers"][0] else [w["home"]["groups"] for w in doc["workers"]]
        scale = 0.5 if not candidate["split"] else (1.0 if label != "4/4/4/4" else (1.2 if label not in seen else 0.7))
        seen[label] = seen.get(label, 0) + 1
        return {"throughput_rps": [scale * wt * g ** 0.5 for wt, g in zip(weights, split)], "p95_ms": [1] * 4,
                "power_w": 300.0, "window_s": 1.0}

    spec = {"models": MIX, "segments": [[1]] * 4, "search": {"noise": 0.0, "confirm": 2}}
    best, report = es.search(sim, spec, evaluate)
    best.close()
    repeats = [t for t in report["trials"] if "repeats" in t]
    assert seen["4/4/4/4"] == 2 and len(repeats) == 2
    assert report["trials"][repeats[0]["repeats"]]["candidate"]["label"] == "4/4/4/4"
    assert report["best"]["label"] != "4/4/4/4"
    assert report["evaluation"]["window_s"] == 2.0  # the kept plan's two windows
    assert "measured again: 4/4/4/4" in report["pick"]


def test_an_evaluator_error_is_kept_in_the_trial(sim):
    def evaluate(plan, candidate):
        if candidate["split"]:
            raise ValueError("no GPU today")
        return {"throughput_rps": [1.0] * 4}

    best, report = es.search(sim, {"models": MIX, "segments": [[1]] * 4}, evaluate)
    best.close()
    notes = [t["note"] for t in report["trials"]]
    assert any("ValueError: no GPU today" in n for n in notes)


def test_plan_make_static_equal_and_eclip(sim):
    with eclip.Profile.from_json(profile_doc()) as prof:
        with eclip.Plan.make(sim, prof, MIX, "static-equal") as p:
            assert [w["home"]["groups"] for w in p.to_dict()["workers"]] == [4, 4, 4, 4]
        with eclip.Plan.make(sim, prof, MIX, "eclip") as p:
            assert p.strategy == "eclip"
        with eclip.Plan.make(sim, prof, MIX, "eclip-budget") as p:
            assert p.strategy == "eclip-budget"


def test_tuning_spec_takes_baseline_floor_and_p95_and_names_a_missing_solo_rate():
    from eclip.torch.tune import OnlineTuner, tuning_spec
    base = {"jain": 0.9, "slowest_p95_ms": 12.5}
    units = [list(range(7)), list(range(4))]
    spec = tuning_spec(["a", "b"], units, base, {"a": 10.0, "b": 20.0}, noise=0.03, segments=2)
    assert spec["search"]["confirm"] == 2  # measured tunings judge their pick by two windows
    obj = spec["objective"]
    assert obj["jain_floor"] == 0.9 and obj["p95_limit_ms"] == [12.5, 12.5] and obj["tolerance"] == 0.03
    assert obj["alone_rps"] == [10.0, 20.0] and spec["search"]["noise"] == 0.03
    assert spec["segments"] == [[3, 4], [2, 2]] and "predictor" not in spec
    spec = tuning_spec(["a", "b"], units, base, {"a": 10.0, "b": 20.0}, jain_floor=0.5, p95_limit=[])
    assert spec["objective"]["jain_floor"] == 0.5 and spec["objective"]["p95_limit_ms"] == []
    with pytest.raises(ValueError, match="no solo throughput \\(alone_rps\\) for b"):
        tuning_spec(["a", "b"], units, base, {"a": 10.0})
    spec = tuning_spec(["a", "b"], units, base, {"a": 10.0, "b": 20.0}, profile="p.json", model_starts=["static"])
    assert spec["predictor"]["starts"] == ["static"] and os.path.isabs(spec["predictor"]["profile"])
    assert "starts" not in tuning_spec(["a", "b"], units, base, {"a": 10.0, "b": 20.0}, profile="p.json")["predictor"]
    with pytest.raises(ValueError, match="model_starts needs a profile"):
        tuning_spec(["a", "b"], units, base, {"a": 10.0, "b": 20.0}, model_starts=["plan"])
    with pytest.raises(TypeError, match="windows"):  # a misspelt option fails when the tuner is made
        OnlineTuner(None, None, {}, windows=1.0)


def test_the_floor_and_limit_are_the_mean_of_baselines_windows():
    from eclip.torch.tune import OnlineTuner, baseline_windows, tuning_spec
    units = [list(range(3)), list(range(3))]
    windows = [{"jain": 0.9, "slowest_p95_ms": 16.3}, {"jain": 0.8, "slowest_p95_ms": 15.3},
               {"jain": 0.85, "slowest_p95_ms": 15.8}]
    obj = tuning_spec(["a", "b"], units, windows, {"a": 10.0, "b": 20.0})["objective"]
    assert obj["jain_floor"] == pytest.approx(0.85) and obj["p95_limit_ms"] == pytest.approx([15.8, 15.8])
    with pytest.raises(ValueError, match="no Baseline window"):
        tuning_spec(["a", "b"], units, [], {"a": 10.0, "b": 20.0})

    class Colo:  # stands in for a Colocation on Baseline: each window one record
        def __init__(self):
            self.labels = []

        def run(self, window_s, warmup_s, alone_rps=None, idle_w=None, label=None):
            self.labels.append(label)
            return windows[len(self.labels) - 1]

    colo = Colo()
    assert baseline_windows(colo, 3, label="tune:baseline") == windows
    assert colo.labels == ["tune:baseline:0", "tune:baseline:1", "tune:baseline:2"]
    with pytest.raises(ValueError, match="count 0 < 1"):
        baseline_windows(colo, 0)
    with pytest.raises(ValueError, match="reference 0 < 1"):
        OnlineTuner(None, None, {}, reference=0)


def test_score_judges_an_evaluation_as_the_search_does(sim):
    ev = {"throughput_rps": [10.0, 30.0], "p95_ms": [5.0, 12.0], "power_w": 200.0}
    assert es.score({"kind": "energy"}, ev) == (pytest.approx(0.2), pytest.approx(0.2), "")
    value, sc, why = es.score({"p95_limit_ms": [10, 10]}, ev)
    assert value == pytest.approx(40.0) and sc == float("-inf") and why == "worker 1 p95 12.000 ms > limit 10.000 ms"
    with pytest.raises(eclip.EclipError, match="unknown objective \"fastest\""):
        es.score({"kind": "fastest"}, ev)


def test_violation_measures_how_far_a_constraint_is_broken(sim):
    ev = {"throughput_rps": [10.0, 30.0], "p95_ms": [5.0, 12.0], "power_w": 200.0}
    assert es.violation({"p95_limit_ms": [10, 10]}, ev) == pytest.approx(0.2)  # 12 ms over a 10-ms limit
    assert es.violation({"p95_limit_ms": [10, 10], "tolerance": 0.1}, ev) == pytest.approx(12 / 11 - 1)
    assert es.violation({"p95_limit_ms": [20, 20]}, ev) == 0.0
    assert es.violation({"kind": "energy"}, dict(ev, power_w=0)) == float("inf")  # no power reading
    with pytest.raises(eclip.EclipError, match="unknown objective \"fastest\""):
        es.violation({"kind": "fastest"}, ev)


def test_baseline_is_the_shared_candidate(sim):
    with es.baseline(sim, MIX, [6, 5, 3, 6]) as plan:
        doc = plan.to_dict()
    assert doc["strategy"] == "baseline" and all("home" not in w for w in doc["workers"])
    assert [w["groups"][0]["config"] for w in doc["workers"]] == [16] * 4


def test_the_model_adds_its_best_plan_to_the_starts(sim, tmp_path):
    import json
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile_doc()))

    def evaluate(plan, candidate):
        return {"throughput_rps": [1, 1, 1, 1], "p95_ms": [1, 1, 1, 1], "power_w": 300.0, "window_s": 1.0}

    spec = {"models": MIX, "segments": [[6], [5], [3], [6]], "search": {"max_rounds": 0}}
    best, report = es.search(sim, spec, evaluate)
    best.close()
    assert [t["candidate"]["label"] for t in report["trials"]] == ["shared", "4/4/4/4"]
    # The picks before 2026-12-01: its best plans under the objective (throughput) and under energy.
    spec["predictor"] = {"profile": str(path), "starts": ["plan", "plan-other"]}
    best, report = es.search(sim, spec, evaluate)
    best.close()
    labels = [t["candidate"]["label"] for t in report["trials"]]
    assert labels[:2] == ["shared", "4/4/4/4"] and len(labels) == 4 and len(set(labels)) == 4
    assert all(t["round"] == 0 for t in report["trials"])
    # Under the energy objective the throughput objective's best plan is a start too (fails when
    # the starts hold only the objective's own: one model start).
    spec["objective"] = {"kind": "energy"}
    best, report = es.search(sim, spec, evaluate)
    best.close()
    energy_labels = [t["candidate"]["label"] for t in report["trials"]]
    assert len(energy_labels) == 4 and len(set(energy_labels)) == 4 and labels[2] in energy_labels[2:]
    # The default: its best static splits under both objectives, then its best plan with
    # per-segment moves ("+" in the label) grown from the first.
    del spec["objective"]
    spec["predictor"] = {"profile": str(path)}
    best, report = es.search(sim, spec, evaluate)
    best.close()
    labels = [t["candidate"]["label"] for t in report["trials"]]
    assert labels[:2] == ["shared", "4/4/4/4"] and len(labels) == 5 and len(set(labels)) == 5
    assert "+" not in labels[2] + labels[3] and "+" in labels[4]
    # Bad picks are named.
    for starts, message in ((["best"], 'unknown model start "best"'), ("static", "expected an array"),
                            ([1], "1 is not a string")):
        spec["predictor"] = {"profile": str(path), "starts": starts}
        with pytest.raises(eclip.EclipError, match=message):
            es.search(sim, spec, evaluate)
    spec["predictor"] = {"profile": str(path), "start": ["plan"]}
    with pytest.raises(eclip.EclipError, match="spec.predictor.start: unknown field"):
        es.search(sim, spec, evaluate)


def test_the_models_start_keeps_the_p95_limits(sim, profile, tmp_path):
    # The model's plan is searched under the caller's p95 limits: with every limit 3 % under the
    # slowest p95 of its unconstrained best (as the model predicts both), it starts from a plan
    # that keeps them.
    import json
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile_doc()))
    space = {"models": MIX, "segments": [[6], [5], [3], [6]]}
    run = {"duration_ms": 300, "warmup_ms": 50}  # the predictor's simulation

    def p95(candidate):
        with es.plan_for(sim, space, candidate) as plan:
            return es.predict(profile, plan, run)["p95_ms"]

    def models_start(objective):
        spec = dict(space, search={"max_rounds": 0}, predictor={"profile": str(path)}, objective=objective)
        best, report = es.search(sim, spec, lambda plan, c: {"throughput_rps": [1] * 4, "p95_ms": [1] * 4})
        best.close()
        return report["trials"][2]["candidate"]

    limit = 0.97 * max(p95(models_start({})))
    start = models_start({"p95_limit_ms": [limit] * 4})
    assert max(p95(start)) <= limit


def test_tune_refuses_bad_model_starts_before_loading_anything():
    import subprocess
    import sys
    for args, message in ((["--model-starts", "static"], "--model-starts needs --profile"),
                          (["--profile", "p.json", "--model-starts", "static,best"], "unknown best")):
        r = subprocess.run([sys.executable, "-m", "eclip.torch.tune", "--models", "albert"] + args,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and message in r.stderr, r.stderr
