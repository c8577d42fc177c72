"""The benchmark suite: deterministic scores, resume after a kill, the cache keyed on model code,
checksums, joins by name, protocol checks, failures recorded, Ray, the command."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from baselines.runs import read_metrics  # noqa: E402
from baselines.suite import (  # noqa: E402
    CONDITIONS,
    SuiteConfig,
    leaderboard,
    model_source_hash,
    run_key,
    run_suite,
    run_unit,
    train_configs,
)
from baselines.train import train  # noqa: E402
from ta_envs.cli import main  # noqa: E402

TINY = {"hidden": 8, "quick": True, "mechanism": False, "machine": False}  # the v3 tests cover it


def _strip(report):
    report = json.loads(json.dumps(report))
    report.pop("environment")
    report.pop("wall_s")
    report.pop("run_wall_s")
    for t in report["tasks"]:
        for r in t["runs"]:
            for k in ("wall_s", "train_wall_s", "iterations_per_s", "checksum"):
                r.pop(k, None)
    return report


@pytest.mark.slow
def test_suite_scores_are_deterministic_and_consistent(tmp_path):
    cfg = SuiteConfig(seeds=2, tasks=("relative tau=3",), **TINY)
    a = _strip(run_suite(cfg, tmp_path / "a", show_progress=False))
    b = _strip(run_suite(cfg, tmp_path / "b", show_progress=False))
    assert a == b  # same seeds, same scores, in a fresh directory
    source = model_source_hash("rnn")
    for t in a["tasks"]:
        per_seed = [np.mean([r["acc"][c]["acc"] for c in CONDITIONS]) for r in t["runs"]]
        assert t["score_mean"] == pytest.approx(np.mean(per_seed))
        assert t["score_max"] == pytest.approx(max(per_seed)) and t["score_max"] >= t["score_mean"]
        assert t["chance"] == 0.5
        for r, (_, c) in zip(t["runs"], [x for x in train_configs(cfg, 8)
                                         if x[0].name == t["task"]]):
            # the 1x set is the run's held-out set: equal up to float32 averaging
            final = read_metrics(tmp_path / "a" / "cache" / run_key(c, source))[-1]
            assert r["acc"]["1x"]["td"] == pytest.approx(final["val_td_acc"], abs=1e-6)
            assert r["acc"]["1x"]["ti"] == pytest.approx(final["val_ti_acc"], abs=1e-6)
    assert a["overall"]["score_mean"] == pytest.approx(np.mean([t["score_mean"]
                                                                for t in a["tasks"]]))
    assert a["params"] == 8 * 3 + 64 + 16 + 9  # rnn(8) on 3 inputs: W_ih, W_hh, biases, head


def test_event_rate_conditions_change_the_symbol_mix():
    from baselines.suite import FULL

    p24 = next(t for t in FULL if t.name == "periodic P=24")
    assert p24.shifted_kwargs("sparse")["p_a"] == 0.125
    assert p24.shifted_kwargs("dense")["p_a"] == 0.875
    rel = next(t for t in FULL if t.name == "relative tau=5")
    assert rel.shifted_kwargs("sparse")["p_event"] == pytest.approx(0.05)
    assert rel.shifted_kwargs("dense")["p_event"] == pytest.approx(0.6)
    ff = next(t for t in FULL if t.name == "FlipFlop 3-bit")
    assert ff.shifted_kwargs("dense")["p_pulse"] == pytest.approx(0.15)


def test_a_killed_run_resumes_and_finished_runs_are_not_redone(tmp_path):
    cfg = SuiteConfig(seeds=1, tasks=("periodic P=6",), **TINY)
    ref = _strip(run_suite(cfg, tmp_path / "ref", show_progress=False))
    (_, tc), = train_configs(cfg, 8)
    source = model_source_hash("rnn")
    run_dir = tmp_path / "killed" / "cache" / run_key(tc, source)

    def kill(it):
        if it == 120:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # the suite dies in the middle of the run
        train(tc, run_dir, progress=False, on_iteration=kill)
    assert not (run_dir / "result.json").exists()
    resumed = _strip(run_suite(cfg, tmp_path / "killed", show_progress=False))
    assert resumed == ref
    assert [m["it"] for m in read_metrics(run_dir)] == list(range(tc.iterations + 1))
    stamp = (run_dir / "result.json").stat().st_mtime_ns
    job = {"config": tc.to_dict(), "task": {"name": "periodic P=6", "task": tc.task,
                                           "kwargs": dict(tc.task_kwargs), "seq_len": 48,
                                           "iterations": 300},
           "cache": str(tmp_path / "killed" / "cache"), "source": source, "mechanism": False,
           "mechanism_fn": None}
    run_unit(job)
    assert (run_dir / "result.json").stat().st_mtime_ns == stamp  # cached, not recomputed


@pytest.mark.slow
def test_editing_a_model_file_invalidates_its_cache(tmp_path, monkeypatch):
    src = (tmp_path / "edited.py")
    import toy_models

    src.write_text(open(toy_models.__file__).read())
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = SuiteConfig(arch="edited:ToyRNN", seeds=1, tasks=("periodic P=6",), **TINY)
    first = run_suite(cfg, tmp_path / "out", show_progress=False)
    key1 = first["tasks"][0]["runs"][0]["key"]
    again = run_suite(cfg, tmp_path / "out", show_progress=False)
    assert again["tasks"][0]["runs"][0]["key"] == key1  # unchanged code: cached
    src.write_text(src.read_text().replace("torch.relu(self.inp(x) + self.rec(h))",
                                           "torch.tanh(self.inp(x) + self.rec(h))")
                   .replace("h = torch.relu(self.inp(inputs[:, t]) + self.rec(h))",
                            "h = torch.tanh(self.inp(inputs[:, t]) + self.rec(h))"))
    import importlib

    importlib.reload(__import__("edited"))
    edited = run_suite(cfg, tmp_path / "out", show_progress=False)
    assert edited["tasks"][0]["runs"][0]["key"] != key1  # a different key: rerun
    assert len(list((tmp_path / "out" / "cache").iterdir())) == 2


def test_a_tampered_result_is_rerun_with_a_warning(tmp_path):
    cfg = SuiteConfig(seeds=1, tasks=("periodic P=6",), **TINY)
    good = _strip(run_suite(cfg, tmp_path, show_progress=False))
    (run_dir,) = list((tmp_path / "cache").iterdir())
    r = json.loads((run_dir / "result.json").read_text())
    r["acc"]["16x"]["acc"] = 1.0 if r["acc"]["16x"]["acc"] < 1 else 0.5
    r["solved_at"] = 1
    (run_dir / "result.json").write_text(json.dumps(r))
    with pytest.warns(UserWarning, match="fails its checksum"):
        again = _strip(run_suite(cfg, tmp_path, show_progress=False))
    assert again == good


def _report(arch, tasks, protocol="ta-envs-suite/2", scale=1.0):
    return {"protocol": protocol, "label": arch, "params": 100, "config": {"arch": arch},
            "tasks": [{"task": t, "chance": 0.5, "score_mean": scale * (i + 1) / 10,
                       "score_max": scale * (i + 1) / 10, "solved": "0/1", "failed": 0,
                       "acc_mean": {c: 0.5 for c in CONDITIONS}} for i, t in enumerate(tasks)]}


def test_reports_are_joined_by_task_name_never_by_position():
    a = _report("a", ["P=6", "P=12", "relative"])
    b = _report("b", ["relative", "P=6"], scale=2.0)  # another order, one task missing
    board = leaderboard([a, b])
    scores = board.split("Accuracy per condition")[0]
    rows = {line.split("|")[1].strip(): line for line in scores.splitlines()
            if line.startswith("| P=6") or line.startswith("| relative")}
    assert "0.100" in rows["P=6"] and "0.400" in rows["P=6"]  # a's P=6 next to b's P=6
    assert "0.300" in rows["relative"] and "0.200" in rows["relative"]
    assert "| P=12 |" not in board  # not in every report
    assert "only the 2 tasks common to every report" in board
    overall = next(line for line in board.splitlines() if "overall" in line)
    assert "0.200 / 0.200" in overall and "0.300 / 0.300" in overall  # means over common tasks
    with pytest.raises(ValueError, match="different protocols"):
        leaderboard([a, _report("old", ["P=6"], protocol="ta-envs-suite/1")])


def test_protocol_checks_user_models_and_names():
    SuiteConfig(arch="toy_models:ToyRNN", **TINY)  # a conforming user model
    with pytest.raises(ValueError, match="cannot import"):
        SuiteConfig(arch="no_such_module:Model", **TINY).selected() and run_suite(
            SuiteConfig(arch="no_such_module:Model", **TINY), "/tmp/never")
    with pytest.raises(ValueError, match="unknown suite tasks"):
        SuiteConfig(tasks=("periodic P=7",), **TINY)
    with pytest.raises(ValueError, match="seeds must be"):
        SuiteConfig(seeds=0, **TINY)
    with pytest.raises(ValueError, match="exactly one of hidden"):
        SuiteConfig(arch="rnn", hidden=8, params=1000, quick=True)
    with pytest.raises(ValueError, match="backend must be"):
        run_suite(SuiteConfig(**TINY), "/tmp/never", backend="slurm")
    with pytest.raises(ValueError, match="address applies to backend 'ray'"):
        run_suite(SuiteConfig(**TINY), "/tmp/never", address="ray://x:1")


def test_a_diverging_run_is_recorded_as_failed_and_the_suite_goes_on(tmp_path):
    cfg = SuiteConfig(arch="toy_models:NaNAfter", seeds=1, quick=True, hidden=8, mechanism=False,
                      tasks=("periodic P=6", "relative tau=3"))
    rep = run_suite(cfg, tmp_path, show_progress=False)
    runs = [t["runs"][0] for t in rep["tasks"]]
    assert "NaNAfter on TemporalFlipFlop-v0: the loss became nan at iteration" in runs[0]["failed"]
    assert "non-finite logits" in runs[1]["failed"]  # the next task's protocol check failed
    assert all(t["failed"] == 1 and t["score_mean"] == t["chance"] for t in rep["tasks"])
    assert json.loads((tmp_path / "results.json").read_text())["tasks"][0]["failed"] == 1


def test_parameter_budget_picks_each_width_and_reports_the_count(tmp_path):
    cfg = SuiteConfig(arch="gru", hidden=None, params=600, seeds=1, quick=True, mechanism=False,
                      tasks=("periodic P=6",))
    from baselines.suite.run import resolve_width

    h, n = resolve_width(cfg)
    assert n <= 600
    assert n == 3 * (h * 2 + h * h + 2 * h) + h + 1  # GRU: 3 gates of W_ih, W_hh, 2 biases + head


@pytest.mark.slow  # starting a local Ray instance takes a while
def test_ray_backend_gives_the_local_results(tmp_path):
    ray = pytest.importorskip("ray")
    cfg = SuiteConfig(seeds=2, tasks=("periodic P=6",), **TINY)
    local = _strip(run_suite(cfg, tmp_path / "local", workers=2, show_progress=False))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = _strip(run_suite(cfg, tmp_path / "ray", backend="ray", show_progress=False))
    finally:
        ray.shutdown()
    assert remote == local


def test_suite_command_writes_results_leaderboard_and_figure(tmp_path, capsys):
    rc = main(["suite", "--quick", "--tasks", "periodic P=6", "--hidden", "8", "--no-tensorboard",
               "--out", str(tmp_path)])
    assert rc == 0
    report = json.loads((tmp_path / "results.json").read_text())
    assert [t["task"] for t in report["tasks"]] == ["periodic P=6"]
    assert report["config"]["seeds"] == 1 and report["config"]["arch"] == "rnn"
    env = report["environment"]
    assert env["torch"] == torch.__version__ and env["model_source_hash"] == model_source_hash("rnn")
    assert report["params"] == 8 * 2 + 64 + 16 + 9
    mech = report["tasks"][0]["runs"][0]["mechanism"]
    assert set(mech["symbols"]) == {"a", "b"} and mech["summary"].startswith("a: ")
    out = capsys.readouterr().out
    assert "periodic P=6 seed 0: 1x" in out  # one line per finished run
    board = (tmp_path / "leaderboard.md").read_text()
    assert "periodic P=6" in board and "rnn(8), 105 params" in board
    assert (tmp_path / "accuracy_vs_length.png").stat().st_size > 0
    assert main(["suite", "compare", str(tmp_path), str(tmp_path / "results.json")]) == 0
    assert "periodic P=6" in capsys.readouterr().out
    assert main(["suite", "--arch", "toy_models:Raises", "--quick", "--out", str(tmp_path)]) == 2
    assert "raised RuntimeError" in capsys.readouterr().err
    assert main(["suite", "--arch", "rnn", "--init", "default", "--arch", "transformer",
                 "--quick", "--out", str(tmp_path)]) == 2
    assert "do not apply to 'transformer'" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "cache")


@pytest.mark.slow
def test_a_forward_only_transformer_in_the_current_directory_enters(tmp_path, monkeypatch, capsys):
    (tmp_path / "mytf.py").write_text(
        "import torch\n"
        "class TinyTF(torch.nn.Module):\n"
        "    def __init__(self, input_size, hidden_size, output_size):\n"
        "        super().__init__()\n"
        "        self.inp = torch.nn.Linear(input_size, hidden_size)\n"
        "        layer = torch.nn.TransformerEncoderLayer(hidden_size, 2, 2 * hidden_size,\n"
        "                                                 batch_first=True, norm_first=True)\n"
        "        self.enc = torch.nn.TransformerEncoder(layer, 1)\n"
        "        self.out = torch.nn.Linear(hidden_size, output_size)\n"
        "    def forward(self, x):\n"
        "        T = x.shape[1]\n"
        "        mask = torch.nn.Transformer.generate_square_subsequent_mask(T)\n"
        "        return self.out(self.enc(self.inp(x), mask=mask, is_causal=True))\n")
    monkeypatch.chdir(tmp_path)
    rc = main(["suite", "--arch", "mytf:TinyTF", "--quick", "--hidden", "8", "--tasks",
               "periodic P=6", "--no-tensorboard", "--out", str(tmp_path / "out")])
    assert rc == 0
    rep = json.loads((tmp_path / "out" / "results.json").read_text())
    run = rep["tasks"][0]["runs"][0]
    # a periodic rung: the length and event-rate conditions plus the two other periods
    assert run["failed"] is None and set(run["acc"]) == set(CONDITIONS) | {"P/2", "2P"}
    assert run.get("mechanism") is None  # no recurrent interface: no mechanism column


def test_nan_only_in_eval_mode_is_a_failed_run_with_the_reason(tmp_path):
    """Issue 24, item 3: a model finite in train mode and NaN in eval mode is not scored."""
    cfg = SuiteConfig(arch="toy_models:NaNInEval", seeds=1, quick=True, hidden=8, mechanism=False,
                      tasks=("periodic P=6",))
    rep = run_suite(cfg, tmp_path, show_progress=False)
    run = rep["tasks"][0]["runs"][0]
    assert "non-finite outputs" in run["failed"] and run["acc"] is None
    assert rep["tasks"][0]["failed"] == 1


@pytest.mark.slow
def test_compare_refuses_mixed_budgets_marks_off_budget_models_and_writes_csv(tmp_path, capsys):
    """Issue 24, items 10 and 12: a --quick report beside the 800-iteration references, a
    197,760-parameter model beside ~10,000, and compare --out accepted and ignored."""
    rep = run_suite(SuiteConfig(arch="gru", hidden=8, seeds=1, quick=True, mechanism=False,
                                tasks=("periodic P=6",)), tmp_path / "q", show_progress=False)
    assert rep["params"] < 1000
    rc = main(["suite", "compare", str(tmp_path / "q"), "--reference"])
    err = capsys.readouterr().err
    assert rc == 2 and "different budgets" in err and "--allow-mixed" in err
    rc = main(["suite", "compare", str(tmp_path / "q"), "--reference", "--allow-mixed",
               "--out", str(tmp_path / "cmp")])
    out = capsys.readouterr().out
    assert rc == 0 and "Note: mixed budgets" in out
    assert "% off the reference budget of 10,000" in out and "(!)" in out
    import csv

    rows = list(csv.DictReader((tmp_path / "cmp" / "compare.csv").open()))
    labels = {r["label"] for r in rows}
    from baselines.suite import reference_reports

    assert len(labels) == 1 + len(reference_reports()) and {r["task"] for r in rows} == \
        {"periodic P=6"}
    mine = next(r for r in rows if r["label"] == "gru(8)")  # v3 columns: period and machine
    assert mine["control_2P"] and float(mine["acc_P/2"]) >= 0 and float(mine["machine"]) >= 0
    assert (tmp_path / "cmp" / "accuracy_vs_length.png").stat().st_size > 1000


@pytest.mark.slow
def test_a_partial_tasks_run_merges_into_the_existing_report(tmp_path):
    """Issue 24, item 11: --tasks replaced a full results.json with a one-task one."""
    base = dict(arch="rnn", hidden=8, seeds=1, quick=True, mechanism=False, machine=False)
    run_suite(SuiteConfig(**base, tasks=("periodic P=6", "parity")), tmp_path, show_progress=False)
    full = json.loads((tmp_path / "results.json").read_text())
    assert [t["task"] for t in full["tasks"]] == ["periodic P=6", "parity"]
    run_suite(SuiteConfig(**base, tasks=("periodic P=6",)), tmp_path, show_progress=False)
    merged = json.loads((tmp_path / "results.json").read_text())
    assert [t["task"] for t in merged["tasks"]] == [t["task"] for t in full["tasks"]]
    assert merged["overall"]["tasks"] == len(full["tasks"])
    with pytest.raises(ValueError, match="another model or protocol"):
        run_suite(SuiteConfig(**{**base, "arch": "gru"}, tasks=("periodic P=6",)), tmp_path,
                  show_progress=False)


def test_editing_a_helper_the_model_imports_changes_the_key(tmp_path, monkeypatch):
    """Issue 24, item 4: only the class's own file was hashed; a helper it imports was not."""
    (tmp_path / "helper_act.py").write_text("import torch\n\ndef act(x):\n    return torch.tanh(x)\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "deep.py").write_text("SCALE = 1.0\n")
    (tmp_path / "helper_act.py").write_text("import torch\nfrom pkg.deep import SCALE\n\n"
                                            "def act(x):\n    return torch.tanh(SCALE * x)\n")
    (tmp_path / "usermodel.py").write_text(
        "import numpy  # installed: not hashed\nfrom helper_act import act\nimport torch\n\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self, input_size, hidden_size, output_size):\n"
        "        super().__init__()\n        self.f = torch.nn.Linear(input_size, output_size)\n"
        "    def forward(self, x):\n        return act(self.f(x))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    from baselines.suite.cache import local_sources

    files = {p.name for p in local_sources(tmp_path / "usermodel.py")}
    assert files == {"usermodel.py", "helper_act.py", "deep.py", "__init__.py"}  # pkg runs too
    h1 = model_source_hash("usermodel:M")
    (tmp_path / "pkg" / "deep.py").write_text("SCALE = 2.0\n")  # two imports away
    import os

    os.utime(tmp_path / "pkg" / "deep.py", ns=(1, 10**18))
    assert model_source_hash("usermodel:M") != h1


@pytest.mark.slow
def test_suite_verify_reruns_a_seed_and_catches_edited_numbers(tmp_path, capsys):
    """Issue 24, item 5: a report whose numbers were edited and checksum recomputed was trusted;
    verify re-runs one seed and compares with the recorded seeds."""
    base = ["--quick", "--tasks", "periodic P=6", "--hidden", "8", "--no-tensorboard",
            "--no-mechanism"]
    assert main(["suite", *base, "--out", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert main(["suite", "verify", str(tmp_path / "r"), "--out", str(tmp_path / "v")]) == 0
    assert "exact" in capsys.readouterr().out  # same code, same machine: the same numbers
    rep = json.loads((tmp_path / "r" / "results.json").read_text())
    run = rep["tasks"][0]["runs"][0]
    for c in run["acc"]:  # a forger moves every number (down if it was already near perfect)
        v = run["acc"][c]["acc"]
        run["acc"][c]["acc"] = 0.5 if v > 0.75 else 1.0
    (tmp_path / "forged.json").write_text(json.dumps(rep))
    assert main(["suite", "verify", str(tmp_path / "forged.json"), "--out",
                 str(tmp_path / "v2")]) == 1
    assert "OUTSIDE" in capsys.readouterr().out


def test_a_report_with_the_wrong_structure_is_one_line(tmp_path, capsys):
    """Issue 24: a result with a valid checksum but the wrong structure gave a TypeError traceback
    in cli/suite.py."""
    good = json.loads(open(__import__("baselines.suite.report", fromlist=["RESULTS"]).RESULTS
                           / "suite_gru.json").read())
    good["tasks"][0]["score_mean"] = "high"
    (tmp_path / "bad.json").write_text(json.dumps(good))
    assert main(["suite", "compare", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "tasks[0].score_mean is missing or has the wrong type (str)" in err
    assert len(err.strip().splitlines()) == 1


def test_progress_inside_each_run_names_the_task_and_lines_say_not_solved(tmp_path, capsys):
    """Issue 24 friction: one bar per run and no ETA for 6-15 minutes; lines said 'solved at
    None'."""
    assert main(["suite", "--quick", "--tasks", "periodic P=6", "--hidden", "2",
                 "--no-tensorboard", "--no-mechanism", "--out", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    assert "periodic P=6 seed 0" in cap.err  # the run's own iteration bar, named by task
    assert "solved at None" not in cap.out
    assert ("not solved" in cap.out) or ("solved at iteration" in cap.out)


def test_mechanism_cells_shorten_rotations_and_contractions_without_pipes():
    from baselines.suite.report import mechanism_cell

    cell = mechanism_cell(["a: fixed point (decaying rotation |λ| 0.9977, ~period 24.1); "
                        "b: fixed point (contraction |λ| 0.9800)"] * 2)
    assert cell == "2x (a: fixed point (rotation ρ 1.00 ~24.1), b: fixed point (contraction ρ 0.98))"
