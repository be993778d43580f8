import json

import pytest

import eclip
from conftest import MIX


@pytest.mark.parametrize("strategy", eclip.STRATEGIES)
def test_make_every_strategy(sim, profile, strategy):
    with eclip.Plan.make(sim, profile, MIX, strategy) as plan:
        d = plan.to_dict()
        assert d["format"] == "eclip.plan" and d["strategy"] == strategy
        assert plan.models == MIX and plan.workers == 4
        assert [plan.kernel_count(w) for w in range(4)] == [6, 5, 3, 6]


def test_baseline_is_the_whole_device(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "baseline") as plan:
        for w in plan.to_dict()["workers"]:
            assert {g["config"] for g in w["groups"]} == {16}


def test_budget_zero_means_no_switch(sim, profile):
    with eclip.Plan.make(sim, profile, MIX, "eclip", switch_budget=0) as plan:
        for w in plan.to_dict()["workers"]:
            assert len({g["config"] for g in w["groups"]}) == 1


def test_json_round_trip_and_write(sim, profile, tmp_path):
    with eclip.Plan.make(sim, profile, MIX, "kernel-wise") as plan:
        text = plan.to_json()
        path = tmp_path / "plan.json"
        plan.write(str(path))
        assert json.loads(path.read_text()) == json.loads(text)
        with eclip.Plan.from_file(sim, str(path)) as again, eclip.Plan.from_json(sim, text) as third:
            assert again.to_json() == text == third.to_json()


def test_failed_write_keeps_the_old_file(sim, profile, tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old")
    with eclip.Plan.make(sim, profile, MIX, "eclip") as plan:
        with pytest.raises(eclip.EclipError) as e:
            plan.write(str(tmp_path / "missing" / "plan.json"))
        assert "missing" in str(e.value)
    assert path.read_text() == "old"


def test_unknown_model_and_strategy_are_named(sim, profile):
    with pytest.raises(eclip.EclipError) as e:
        eclip.Plan.make(sim, profile, ["albert", "gpt5"], "eclip")
    assert "gpt5" in e.value.message
    with pytest.raises(eclip.EclipError) as e:
        eclip.Plan.make(sim, profile, MIX, "greedy")
    assert e.value.code == 1 and "greedy" in e.value.message


def test_profile_of_another_device_is_refused(lib, profile):
    with eclip.Backend("sim:mi50") as mi50:
        with pytest.raises(eclip.EclipError) as e:
            eclip.Plan.make(mi50, profile, MIX, "eclip")
        assert "H100" in e.value.message or "MI50" in e.value.message


def test_bad_json_is_a_parse_error(sim):
    with pytest.raises(eclip.EclipError) as e:
        eclip.Plan.from_json(sim, "{not json")
    assert e.value.code == 3 and e.value.status == "parse"
    with pytest.raises(eclip.EclipError) as e:
        eclip.Profile.from_json('{"format": "eclip.profile"}')
    assert e.value.code == 3


def test_missing_files_are_named(sim, tmp_path):
    for call in (lambda p: eclip.Plan.from_file(sim, p), eclip.Profile.from_file):
        with pytest.raises(eclip.EclipError) as e:
            call(str(tmp_path / "nope.json"))
        assert "nope.json" in str(e.value)


def test_profile_and_plan_need_their_constructors():
    with pytest.raises(TypeError):
        eclip.Plan()
    with pytest.raises(TypeError):
        eclip.Profile()


def test_default_mixes_are_the_librarys(lib):
    mixes = eclip.default_mixes()
    assert list(mixes) == [f"mix{i}" for i in range(1, 8)]
    assert mixes["mix1"] == MIX  # mix i: the paper's models i, i+1, i+2, i+4 (mod 7)
    assert all(len(models) == 4 for models in mixes.values())
    assert mixes["mix7"] == ["vgg19", "albert", "densenet201", "resnet152"]
