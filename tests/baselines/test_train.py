"""The training engine: learning, exact resume (in-process interrupts), checkpoints, seeds in
workers, phases, the train command. Faults caused from outside are in test_runs.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from baselines.config import TrainConfig  # noqa: E402
from baselines.phases import detect_phases, phases_from_metrics  # noqa: E402
from baselines.runs import checkpoints, load_checkpoint, make_model, read_metrics  # noqa: E402
from baselines.train import train, train_seeds  # noqa: E402

TINY = dict(task_kwargs={"period": 4}, hidden=16, batch=16, seq_len=16, eval_every=5,
            eval_size=32, checkpoint_every=10)


@pytest.mark.parametrize("kw, fragment", [
    (dict(arch="transformer2"), "arch must be one of"),
    (dict(lr=-0.1), "lr must be"),
    (dict(task_kwargs={"tau": 3}), "unexpected keyword argument 'tau'"),
    (dict(optimizer="rmsprop"), "optimizer"),
    (dict(batch=0), "batch"),
    (dict(momentum=1.0), "momentum"),
    (dict(task="Nope-v0"), "unknown task id"),
    (dict(device="tpu"), "device must be"),
    (dict(hidden=2.5), "hidden must be an int"),
    (dict(seed=-1), "seed must be an int in [0, 4294967295], got -1"),
    (dict(continue_after_stop=5), "continue_after_stop needs stop_at_td"),
    (dict(arch="toy_models:ToyRNN", init="default"), "init/gain apply"),
    (dict(model_kw={"layers": 2}), "not accepted by 'rnn'"),
])
def test_bad_configs_fail_before_any_work(kw, fragment, tmp_path):
    with pytest.raises((ValueError, TypeError)) as err:
        TrainConfig(**kw)
    assert fragment in str(err.value)
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error")
def test_cuda_request_without_cuda_is_a_clear_error():
    from baselines.config import resolve_device

    cfg = TrainConfig(device="cuda")  # valid config; refused when a run would start
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device(cfg.device)
    assert resolve_device("auto") == "cpu"


def test_small_rnn_learns_period_4(tmp_path):
    cfg = TrainConfig(task_kwargs={"period": 4}, iterations=300, seed=0, eval_every=10)
    r = train(cfg, tmp_path / "run", progress=False)
    assert r.final["val_td_acc"] >= 0.95 and r.final["val_ti_acc"] >= 0.99
    m = read_metrics(tmp_path / "run")
    assert m[0]["it"] == 0 and m[0]["val_td_acc"] < 0.8  # it had to learn it
    assert [x["it"] for x in m] == list(range(301))


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path):
    cfg = TrainConfig(**TINY, iterations=40, seed=3)
    train(cfg, tmp_path / "full", progress=False)

    def interrupt(it):
        if it == 23:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", progress=False, on_iteration=interrupt)
    assert [p.name for p in checkpoints(tmp_path / "cut")] == [
        "it_0000000.pt", "it_0000010.pt", "it_0000020.pt", "it_0000023.pt"]
    train(cfg, tmp_path / "cut", progress=False)
    assert _strip(read_metrics(tmp_path / "cut")) == _strip(read_metrics(tmp_path / "full"))


def test_extending_a_finished_run_equals_running_longer(tmp_path):
    train(TrainConfig(**TINY, iterations=20, seed=4), tmp_path / "a", progress=False)
    train(TrainConfig(**TINY, iterations=35, seed=4), tmp_path / "a", progress=False)
    train(TrainConfig(**TINY, iterations=35, seed=4), tmp_path / "b", progress=False)
    assert _strip(read_metrics(tmp_path / "a")) == _strip(read_metrics(tmp_path / "b"))


def test_checkpoint_round_trip_and_bad_checkpoints(tmp_path):
    cfg = TrainConfig(**TINY, iterations=10, seed=1)
    train(cfg, tmp_path / "run", progress=False)
    path = checkpoints(tmp_path / "run")[-1]
    state = load_checkpoint(path, cfg)
    assert state.iteration == 10 and state.config == cfg
    model = make_model(cfg)
    model.load_state_dict(state.model)
    logits, _ = model(torch.zeros(1, 3, 2))
    assert torch.isfinite(logits).all()
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="not a ta-envs-checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(ValueError, match=r"different run: fields \['hidden'\]"):
        load_checkpoint(path, TrainConfig(**{**TINY, "hidden": 8}, iterations=10, seed=1))
    with pytest.raises(ValueError, match="different run"):
        train(TrainConfig(**TINY, iterations=10, seed=2), tmp_path / "run", progress=False)


@pytest.mark.slow
def test_parallel_seeds_match_serial_runs(tmp_path):
    cfg = TrainConfig(**TINY, iterations=15)
    par = train_seeds(cfg, [0, 1], tmp_path / "par", workers=2, progress=False)
    ser = train_seeds(cfg, [0, 1], tmp_path / "ser", workers=1, progress=False)
    for a, b in zip(par, ser):
        assert _strip(read_metrics(a)) == _strip(read_metrics(b))
    assert _strip(read_metrics(par[0])) != _strip(read_metrics(par[1]))


@pytest.mark.parametrize("arch", ["gru", "lstm", "linear"])
def test_every_builtin_trains_and_logs(arch, tmp_path):
    cfg = TrainConfig(**TINY, arch=arch, iterations=10, lr=0.01)
    r = train(cfg, tmp_path / arch, progress=False)
    m = read_metrics(tmp_path / arch)
    assert len(m) == 11 and np.isfinite(m[-1]["loss"]) and m[-1]["spectral_radius"] > 0
    assert "spectral_radius" not in m[3]  # computed at evaluations only
    assert r.iterations == 10


def test_multichannel_and_k_class_tasks_train(tmp_path):
    for task, kw in (("FlipFlop-v0", {"n_bits": 2}), ("TemporalFlipFlop-v0", {"period": 6,
                                                                                "num_phases": 3})):
        cfg = TrainConfig(task=task, task_kwargs=kw, hidden=8, batch=8, seq_len=12, iterations=5,
                          eval_size=16, eval_every=5)
        train(cfg, tmp_path / task, progress=False)
        last = read_metrics(tmp_path / task)[-1]
        assert 0 <= last["val_ti_acc"] <= 1


# -- phases ----------------------------------------------------------------------------------
def test_phases_on_a_synthetic_three_phase_curve():
    its = np.arange(0, 1001, 10)
    ti = np.where(its >= 50, 1.0, 0.5 + its / 100)
    td = np.where(its < 400, 0.55, np.minimum(1.0, 0.55 + (its - 400) * 0.005))
    # td: 0.55 until 400, then +0.05 per 10 its: 0.6 at 410, 0.75 at 440, 0.9 at 470, 1.0 at 490
    p = detect_phases(its, td, ti)
    assert p.ti_solved_at == 50
    assert p.transition_at == 440
    assert p.jump_start == 400 and p.jump_end == 470 and p.jump_width == 70
    assert p.plateau_start == 50 and p.plateau_end == 400
    assert p.plateau_td == pytest.approx(0.55)
    assert p.solved and p.solved_at == 490  # 0.95 at 480, 1.0 at 490


def test_phases_without_transition_and_validation():
    its = [0, 10, 20, 30]
    p = detect_phases(its, [0.5, 0.6, 0.58, 0.61], [0.6, 1.0, 1.0, 1.0])
    assert p.transition_at is None and p.jump_width is None and not p.solved
    assert p.plateau_start == 10 and p.plateau_end == 30
    assert p.plateau_td == pytest.approx((0.6 + 0.58 + 0.61) / 3)
    with pytest.raises(ValueError, match="increasing"):
        detect_phases([0, 10, 10], [0.5] * 3, [0.5] * 3)
    with pytest.raises(ValueError, match="equal length"):
        detect_phases([0, 10], [0.5], [0.5, 0.5])


def test_phases_from_metrics_uses_held_out_rows(tmp_path):
    rows = [{"it": 0, "val_td_acc": 0.5, "val_ti_acc": 0.5},
            {"it": 1, "loss": 1.0, "td_acc": 0.9, "ti_acc": 1.0},
            {"it": 10, "val_td_acc": 0.8, "val_ti_acc": 1.0}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = phases_from_metrics(tmp_path)
    assert p.transition_at == 10 and p.final_td == 0.8


# -- CLI -------------------------------------------------------------------------------------
def test_cli_train_writes_runs_summary_and_figure(tmp_path):
    from ta_envs.cli import main

    out = tmp_path / "sweep"
    rc = main(["train", "--kw", "period=4", "--hidden", "16", "--iterations", "150",
               "--seeds", "2", "--eval-every", "10", "--out", str(out)])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["aggregate"]["seeds"] == 2 and len(s["runs"]) == 2
    for run in s["runs"]:
        expected = phases_from_metrics(out / run["run"]).to_dict()
        assert {k: run[k] for k in expected} == expected
    assert (out / "learning_curves.png").stat().st_size > 10_000
    assert main(["train", "--arch", "nope", "--out", str(tmp_path / "x")]) == 2


def test_single_evaluation_spikes_make_no_transition():
    its = np.arange(0, 200, 10)
    td = np.full(len(its), 0.55)
    td[3] = 0.95  # one noisy evaluation
    p = detect_phases(its, td, np.ones(len(its)))
    assert p.transition_at is None and not p.solved
    p1 = detect_phases(its, td, np.ones(len(its)), window=1)  # without smoothing it would count
    assert p1.transition_at == 30


def test_resuming_a_run_that_met_its_stop_criterion_does_nothing(tmp_path):
    cfg = TrainConfig(task_kwargs={"period": 4}, iterations=400, seed=0, stop_at_td=0.95)
    r1 = train(cfg, tmp_path / "run", progress=False)
    assert r1.iterations < 400
    before = (tmp_path / "run" / "metrics.jsonl").read_text()
    r2 = train(cfg, tmp_path / "run", progress=False)
    assert r2.iterations == r1.iterations
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == before
