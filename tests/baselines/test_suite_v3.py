"""Suite protocol v3: the new rungs and their seeds, the conditions each task gets, the period
conditions' control checked against the reference stepper, the state size, the machine score in
the report and the leaderboard, and v2 reports kept readable but apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from baselines.config import TrainConfig  # noqa: E402
from baselines.runs import make_model  # noqa: E402
from baselines.suite import FULL, PROTOCOL, SuiteConfig, leaderboard, run_suite  # noqa: E402
from baselines.suite.evaluate import condition_sets, period_control  # noqa: E402
from baselines.suite.protocol import FULL_V2, V2, SuiteTask  # noqa: E402
from baselines.suite.report import reference_reports  # noqa: E402
from baselines.suite.run import state_record, train_configs  # noqa: E402
from ta_envs import make_task  # noqa: E402
from ta_envs.cli import main  # noqa: E402
from ta_envs.reference import reference_outputs  # noqa: E402


def rung(name):
    return next(t for t in FULL if t.name == name)


def test_v3_ladder_keeps_the_v2_rungs_and_runs_five_seeds_on_the_new_ones():
    v2 = reference_reports(V2)
    assert v2, "the committed v2 references must stay readable"
    assert [t.name for t in FULL_V2] == [t["task"] for t in v2[0]["tasks"]]
    new = [t for t in FULL if t not in FULL_V2]
    assert {t.task for t in new} == {"WordProblem-v0", "RandomAutomaton-v0"}
    assert all(t.min_seeds >= 5 for t in new) and all(t.min_seeds == 1 for t in FULL_V2)
    seeds = {}
    for t, c in train_configs(SuiteConfig(seeds=3, hidden=8), 8):
        seeds.setdefault(t.name, []).append(c.seed)
    assert seeds["A5"] == [0, 1, 2, 3, 4] and seeds["periodic P=24"] == [0, 1, 2]
    for t in FULL:  # every rung builds, and so does each of its period conditions
        make_task(t.task, **t.kwargs)
        for c in t.period_conditions():
            assert make_task(t.task, **t.period_kwargs(c)).params["period"] != t.period


def test_each_task_gets_the_conditions_that_apply():
    assert rung("parity").conditions() == ("1x", "4x", "16x")
    assert rung("parity").period_conditions() == {}
    assert rung("periodic P=24").conditions() == ("1x", "4x", "16x", "sparse", "dense")
    assert rung("periodic P=24").period_conditions() == {"P/2": 12, "2P": 48}
    assert rung("relative tau=5").period_conditions() == {}  # no period to change
    assert rung("periodic+relative").period_conditions() == {"P/2": 6, "2P": 24}
    assert rung("temporal parity P=12").period_conditions() == {"P/2": 6, "2P": 24}
    for kw in ({}, {"num_phases": 3}):  # no period given: the task's own (its factory default)
        t = SuiteTask("default period", "TemporalFlipFlop-v0", kw)
        assert t.period == make_task(t.task, **kw).params["period"]
    assert SuiteTask("no period", "WordProblem-v0", {"group": "S3"}).period is None
    with pytest.raises(TypeError, match="machine must be a bool"):
        SuiteConfig(machine="yes")


@pytest.mark.parametrize("name", ["periodic P=12", "temporal parity P=12"])
def test_the_period_control_is_the_trained_automaton_stepped_by_the_reference(name):
    t = rung(name)
    cfg = TrainConfig(task=t.task, task_kwargs=dict(t.kwargs), seq_len=t.seq_len, seed=3)
    sets = condition_sets(t, cfg)
    assert set(sets) == {*t.conditions(), "P/2", "2P"}
    trained = make_task(t.task, **t.kwargs)
    alphabet = trained.automaton.alphabet
    for cond in ("P/2", "2P"):
        b = sets[cond]
        assert b.inputs.shape[:2] == (256, t.seq_len)
        n = 16  # the reference stepper is slow: check the first sequences
        mine = np.array([reference_outputs(trained.automaton, [alphabet[s] for s in row])
                         for row in b.symbols[:n]])
        expect = (mine == b.targets[:n])[b.mask_td[:n]].mean()
        sub = type(b)(**{k: getattr(b, k)[:n] for k in b.keys()})
        assert period_control(t, sub) == pytest.approx(expect)
        assert 0.3 < period_control(t, b) < 0.95  # a kept clock is partly wrong at P'
    assert period_control(t, sets["1x"]) == 1.0  # at its own period the automaton is exact


def test_state_size_counts_the_floats_carried_between_steps():
    task = make_task("TemporalFlipFlop-v0", period=6)
    cfg = dict(task="TemporalFlipFlop-v0", task_kwargs={"period": 6}, hidden=8)
    assert state_record(make_model(TrainConfig(arch="rnn", **cfg), task))["state_size"] == 8
    assert state_record(make_model(TrainConfig(arch="lstm", **cfg), task))["state_size"] == 16
    tf = state_record(make_model(TrainConfig(arch="transformer", **cfg), task))
    assert tf["state_size"] is None and tf["state_per_step"] == 2 * 2 * 8  # 2 layers x K and V
    assert "grows" in tf["rule"]


@pytest.mark.slow
def test_a_v3_run_records_state_periods_machine_score_and_the_leaderboard_shows_them(tmp_path):
    cfg = SuiteConfig(hidden=8, quick=True, mechanism=False, seeds=1,
                      tasks=("periodic P=6", "parity"))
    rep = run_suite(cfg, tmp_path, show_progress=False)
    assert rep["protocol"] == PROTOCOL == "ta-envs-suite/3"
    assert rep["state"]["state_size"] == 8
    p6, par = rep["tasks"]
    run = p6["runs"][0]
    assert set(run["acc"]) == {"1x", "4x", "16x", "sparse", "dense", "P/2", "2P"}
    assert run["acc"]["P/2"]["period"] == 3 and run["acc"]["2P"]["period"] == 12
    assert 0 < run["acc"]["2P"]["control"] < 1
    # the score is over the length and event-rate conditions only
    five = np.mean([run["acc"][c]["acc"] for c in ("1x", "4x", "16x", "sparse", "dense")])
    assert p6["score_mean"] == pytest.approx(five)
    assert set(par["runs"][0]["acc"]) == {"1x", "4x", "16x"}
    assert par["score_mean"] == pytest.approx(np.mean([par["runs"][0]["acc"][c]["acc"]
                                                       for c in ("1x", "4x", "16x")]))
    for t in (p6, par):
        m = t["runs"][0]["machine"]
        assert 0.0 <= m["score"] <= 1.0 and m["length"] == 4 * t["seq_len"]
        assert t["machine_mean"] == m["score"]
    assert par["ranges"] == {"train_length": 32, "eval_lengths": [32, 128, 512]}
    assert p6["ranges"]["eval_periods"] == {"P/2": 3, "2P": 12}
    board = leaderboard([rep])
    assert "state 8" in board and "Generalisation and machine score" in board
    assert "2P " in board and "ctrl" in board
    no_machine = run_suite(SuiteConfig(hidden=8, quick=True, mechanism=False, seeds=1,
                                       tasks=("parity",), machine=False), tmp_path / "b",
                           show_progress=False)
    assert "machine" not in no_machine["tasks"][0]["runs"][0]


def test_v2_reports_stay_readable_and_apart(tmp_path, capsys):
    v2 = reference_reports(V2)
    board = leaderboard(v2)
    assert "periodic P=24" in board and "Generalisation" not in board  # v2 has no such columns
    v3 = json.loads(json.dumps(v2[0]))
    v3["protocol"] = PROTOCOL
    with pytest.raises(ValueError, match="different protocols"):
        leaderboard([v2[1], v3])
    assert main(["suite", "verify", v2[0]["_path"], "--out", str(tmp_path)]) == 2
    assert "follows ta-envs-suite/2" in capsys.readouterr().err
