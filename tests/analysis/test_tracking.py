"""Tracking across checkpoints: a constructed run with a known bifurcation, resume, and the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from analysis.tracking import track_run  # noqa: E402
from baselines.train import TrainConfig, build, save_checkpoint, train  # noqa: E402
from ta_envs.cli import main  # noqa: E402

THETA = 2 * math.pi / 7
GAINS = [0.7, 0.8, 0.9, 0.95, 1.1, 1.2, 1.3]  # |λ| of the origin; crosses 1 at iteration 40


def _constructed_run(path):
    """Checkpoints every 10 iterations of a 2-unit tanh RNN with W_hh = g·R(θ), no input, no bias:
    the origin is a fixed point with eigenvalues g·e^{±iθ}; the TD accuracy jumps at 40."""
    cfg = TrainConfig(task_kwargs={"period": 6}, hidden=2, seq_len=12, eval_every=10)
    _, model, opt, _ = build(cfg)
    R = np.array([[np.cos(THETA), -np.sin(THETA)], [np.sin(THETA), np.cos(THETA)]])
    rows = []
    for i, g in enumerate(GAINS):
        with torch.no_grad():
            model.rnn.weight_hh_l0.copy_(torch.as_tensor(g * R))
            model.rnn.weight_ih_l0.zero_()
            model.rnn.bias_ih_l0.zero_()
            model.rnn.bias_hh_l0.zero_()
        save_checkpoint(path / "checkpoints" / f"it_{10 * i:07d}.pt", 10 * i, cfg, model, opt,
                        np.random.default_rng(0), 0.0)
        td = 0.5 if 10 * i < 40 else 1.0
        rows.append({"it": 10 * i, "val_td_acc": td, "val_ti_acc": 1.0, "spectral_radius": g})
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_tracking_finds_the_constructed_bifurcation_and_resumes(tmp_path):
    run = _constructed_run(tmp_path / "run")
    tr = track_run(run, progress=False)
    assert tr.iterations.tolist() == [0, 10, 20, 30, 40, 50, 60]
    for u in range(2):  # both symbols: the input weights are zero
        np.testing.assert_allclose(tr.lam_abs[:, u], GAINS, atol=1e-8)
        np.testing.assert_allclose(tr.lam_arg[:, u], THETA, atol=1e-8)
        assert tr.stability_lost_at(u) == 40 and tr.stable_points_lost_at(u) == 40
        assert tr.n_stable[:, u].tolist() == [1, 1, 1, 1, 0, 0, 0]
        # past the bifurcation the trajectories turn: a stable cycle or a torus
        after = tr.iterations >= 40
        assert ((tr.n_stable_orbits[after, u] > 0) | np.isfinite(tr.rotation[after, u])).all()
        assert not np.isfinite(tr.rotation[~after, u]).any()
    cross = [e for e in tr.events if e["kind"] == "crossing"]
    assert {(e["symbol"], e["iteration"], e["direction"]) for e in cross} == {(0, 40, 1), (1, 40, 1)}
    assert tr.bifurcation_at() == 40
    assert tr.phases["transition_at"] == 40 and all(e["from_transition"] == 0 for e in cross)
    np.testing.assert_allclose(tr.spectral_radius, GAINS)
    # a second call reuses the saved rows instead of recomputing them
    cache = sorted((run / "tracking").glob("fixed_points_*.npz"))
    stamps = [p.stat().st_mtime_ns for p in cache]
    again = track_run(run, progress=False)
    assert [p.stat().st_mtime_ns for p in cache] == stamps
    np.testing.assert_array_equal(again.lam_abs, tr.lam_abs)
    assert again.events == tr.events


def test_tracking_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no checkpoints"):
        track_run(tmp_path, progress=False)
    run = _constructed_run(tmp_path / "run")
    with pytest.raises(ValueError, match="every"):
        track_run(run, every=0, progress=False)


def test_analyze_command_end_to_end(tmp_path, capsys):
    cfg = TrainConfig(task_kwargs={"period": 6}, hidden=8, seq_len=24, iterations=30,
                      checkpoint_every=10, eval_every=10, eval_size=32)
    train(cfg, tmp_path / "run", progress=False)
    out = tmp_path / "analysis"
    rc = main(["analyze", str(tmp_path / "run"), "--out", str(out), "--states", "16",
               "--retrain-period", "4", "--retrain-iterations", "20", "--oscillator", "--quiet"])
    assert rc == 0
    summary = json.loads((out / "run" / "summary.json").read_text())
    tracking = json.loads((out / "run" / "tracking.json").read_text())
    assert tracking["iterations"] == [0, 10, 20, 30]
    assert set(summary["symbols"]) == {"a", "b"}
    for name in ("tracking.png", "rings.png", "fixed_points.npz", "final_network.txt"):
        assert (out / "run" / name).stat().st_size > 0
    retrain = json.loads((out / "run" / "retrain_P4" / "tracking.json").read_text())
    assert retrain["iterations"] == [0, 10, 20]
    cfg_back = json.loads((out / "run" / "retrain_P4" / "run" / "config.json").read_text())
    assert cfg_back["task_kwargs"]["period"] == 4 and cfg_back["init_from"].endswith("it_0000030.pt")
    osc = json.loads((out / "oscillator.json").read_text())
    assert all(abs(f["omega_final"] - 2 * math.pi / 24) < 1e-2 for f in osc["flows"])
    assert (out / "oscillator.png").stat().st_size > 0
    assert main(["analyze", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "not a run directory" in capsys.readouterr().err
