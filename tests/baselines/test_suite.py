"""The benchmark suite: deterministic scores, cache resume after a kill, protocol checks, Ray."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from baselines.suite import LENGTHS, SuiteConfig, run_key, run_suite, run_unit  # noqa: E402
from baselines.train import read_metrics, train  # noqa: E402
from ta_envs.cli import main  # noqa: E402

TINY = {"hidden": 8, "quick": True}


def _strip(report):
    for t in report["tasks"]:
        for r in t["runs"]:
            r.pop("wall_s")
    return report


def test_suite_scores_are_deterministic_and_consistent(tmp_path):
    cfg = SuiteConfig(seeds=2, tasks=("relative tau=3",), **TINY)
    a = _strip(run_suite(cfg, tmp_path / "a"))
    b = _strip(run_suite(cfg, tmp_path / "b"))
    assert a == b  # same seeds, same scores, in a fresh directory
    for t in a["tasks"]:
        per_seed = [np.mean([r["acc"][f"{m}x"]["acc"] for m in LENGTHS]) for r in t["runs"]]
        assert t["score_mean"] == pytest.approx(np.mean(per_seed))
        assert t["score_max"] == pytest.approx(max(per_seed)) and t["score_max"] >= t["score_mean"]
        for r, (_, c) in zip(t["runs"], [x for x in cfg.runs() if x[0].name == t["task"]]):
            # the 1x set is the run's held-out set: equal up to float32 averaging (1 error = 8e-5)
            final = read_metrics(tmp_path / "a" / "cache" / run_key(c))[-1]
            assert r["acc"]["1x"]["td"] == pytest.approx(final["val_td_acc"], abs=1e-6)
            assert r["acc"]["1x"]["ti"] == pytest.approx(final["val_ti_acc"], abs=1e-6)
    assert a["overall"]["score_mean"] == pytest.approx(np.mean([t["score_mean"] for t in a["tasks"]]))


def test_a_killed_run_resumes_from_its_checkpoint_and_finished_runs_are_not_redone(tmp_path):
    cfg = SuiteConfig(seeds=1, tasks=("periodic P=6",), **TINY)
    ref = _strip(run_suite(cfg, tmp_path / "ref"))
    (_, tc), = cfg.runs()
    run_dir = tmp_path / "killed" / "cache" / run_key(tc)

    def kill(it):
        if it == 120:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # the suite dies in the middle of the run
        train(tc, run_dir, progress=False, on_iteration=kill)
    assert not (run_dir / "result.json").exists()
    resumed = _strip(run_suite(cfg, tmp_path / "killed"))
    assert resumed == ref
    assert [m["it"] for m in read_metrics(run_dir)] == list(range(tc.iterations + 1))
    stamp = (run_dir / "result.json").stat().st_mtime_ns
    run_unit((tc.to_dict(), "periodic P=6", str(tmp_path / "killed" / "cache")))
    assert (run_dir / "result.json").stat().st_mtime_ns == stamp  # cached, not recomputed


def test_protocol_checks_user_models_and_names():
    SuiteConfig(arch="toy_models:ToyRNN", **TINY)  # a conforming user model
    with pytest.raises(TypeError, match=r"missing \['step'\]"):
        SuiteConfig(arch="toy_models:NoStep", **TINY)
    with pytest.raises(TypeError, match="forward states has shape"):
        SuiteConfig(arch="toy_models:WrongStates", **TINY)
    with pytest.raises(ValueError, match="cannot import"):
        SuiteConfig(arch="no_such_module:Model", **TINY)
    with pytest.raises(ValueError, match="unknown suite tasks"):
        SuiteConfig(tasks=("periodic P=7",), **TINY)
    with pytest.raises(ValueError, match="seeds must be"):
        SuiteConfig(seeds=0, **TINY)
    with pytest.raises(ValueError, match="backend must be"):
        run_suite(SuiteConfig(**TINY), "/tmp/never", backend="slurm")


@pytest.mark.slow  # starting a local Ray instance takes a while
def test_ray_backend_gives_the_local_results(tmp_path):
    ray = pytest.importorskip("ray")
    cfg = SuiteConfig(seeds=2, tasks=("periodic P=6",), **TINY)
    local = _strip(run_suite(cfg, tmp_path / "local", workers=2))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = _strip(run_suite(cfg, tmp_path / "ray", backend="ray"))
    finally:
        ray.shutdown()
    assert remote == local


def test_suite_command_writes_results_leaderboard_and_figure(tmp_path, capsys):
    rc = main(["suite", "--quick", "--tasks", "periodic P=6", "--hidden", "8", "--out",
               str(tmp_path)])
    assert rc == 0
    report = json.loads((tmp_path / "results.json").read_text())
    assert [t["task"] for t in report["tasks"]] == ["periodic P=6"]
    assert report["config"]["seeds"] == 1 and report["config"]["arch"] == "rnn"
    board = (tmp_path / "leaderboard.md").read_text()
    assert "periodic P=6" in board and "rnn(8) mean / max" in board
    assert (tmp_path / "accuracy_vs_length.png").stat().st_size > 0
    assert main(["suite", "--arch", "toy_models:NoStep", "--out", str(tmp_path)]) == 2
    assert "missing ['step']" in capsys.readouterr().err
