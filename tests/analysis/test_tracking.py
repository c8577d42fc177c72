"""Tracking and the bifurcation classifier on constructed runs with a known bifurcation of each
type (Neimark-Sacker, period doubling, pitchfork, saddle-node), resume, save/load, the command."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from constructed_runs import (  # noqa: E402
    CASES,
    FAST,
    GAINS,
    LOSS_AT,
    THETA,
    constructed_run,
    rot,
)

from analysis.bifurcation import counts, losses_of_stability  # noqa: E402
from analysis.tracking import TrackConfig, Tracking, track_run  # noqa: E402
from baselines.config import TrainConfig  # noqa: E402
from baselines.train import train  # noqa: E402
from ta_envs.cli import main  # noqa: E402


@pytest.mark.parametrize("kind", CASES)
def test_each_bifurcation_type_is_found_where_and_what_it_is(kind, tmp_path):
    run = constructed_run(tmp_path / kind, CASES[kind])
    tr = track_run(run, config=FAST, progress=False)
    losses = losses_of_stability(tr)
    first = [s for s in losses if s.symbol == 0]
    assert first and first[0].iteration == LOSS_AT[kind] and first[0].kind == kind
    assert counts(losses)[kind] == len(losses)  # both inputs (no input weights) and nothing else
    s = first[0]
    if kind == "neimark-sacker":  # a circle is born turning θ/2π per step
        assert s.attractor_after in ("torus", "orbit")
        assert s.predicted_rotation == pytest.approx(1 / 7, abs=1e-6)
        assert s.rotation_at_birth == pytest.approx(1 / 7, abs=0.02)
        assert s.winding_estimate == pytest.approx(6 / 7, abs=1e-6)  # P = 6
    if kind == "period-doubling":
        assert tr.orbit_periods[-1][0] == [2] and abs(np.angle(s.eigenvalue_after)) == \
            pytest.approx(np.pi)
    if kind == "pitchfork":
        assert (s.fixed_before, s.fixed_after) == (1, 3) and tr.n_stable[-1, 0] == 2
    if kind == "saddle-node":
        assert s.eigenvalue_after is None and s.fixed_before == 3 and s.fixed_after == 1
        assert abs(s.eigenvalue_before) > 0.5  # approaching +1 as the points collide


def test_a_unique_fixed_point_that_moves_far_is_still_classified(tmp_path):
    """Early in training one step moves the only fixed point far (here the bias alternates sign,
    so it jumps across the origin): it is the same branch, and its loss of stability is typed from
    its eigenvalues, not reported as a vanished branch."""
    from scipy.optimize import fsolve

    from analysis.bifurcation import JUMP

    gains = [0.7, 0.8, 0.9, 1.0, 1.5, 1.6, 1.7]
    weights = [(rot(g), [0.3 * (-1) ** i, 0.0]) for i, g in enumerate(gains)]
    # the answer, independently: the unique fixed point and its leading |λ| at each checkpoint
    lam = []
    for W, b in weights:
        h = fsolve(lambda x, W=W, b=b: np.tanh(W @ x + b) - x, np.zeros(2), xtol=1e-13)
        J = np.diag(1 - np.tanh(W @ h + b) ** 2) @ W
        lam.append(np.abs(np.linalg.eigvals(J)).max())
    lost = next(i for i, x in enumerate(lam) if x > 1)
    run = constructed_run(tmp_path / "run", weights)
    tr = track_run(run, config=FAST, progress=False)
    assert (tr.n_fixed[:, 0] == 1).all() and np.nanmax(tr.tracked_jump[1:, 0]) > JUMP
    first = [s for s in losses_of_stability(tr) if s.symbol == 0][0]
    assert first.iteration == 10 * lost and first.kind == "neimark-sacker"
    assert first.eigenvalue_after is not None and abs(first.eigenvalue_after) == \
        pytest.approx(lam[lost], abs=1e-6)


def test_tracking_series_events_resume_and_save_load(tmp_path):
    run = constructed_run(tmp_path / "run", CASES["neimark-sacker"])
    tr = track_run(run, config=FAST, progress=False)
    assert tr.iterations.tolist() == [0, 10, 20, 30, 40, 50, 60]
    for u in range(2):  # both symbols: the input weights are zero
        np.testing.assert_allclose(tr.lam_abs[:, u], GAINS, atol=1e-8)
        np.testing.assert_allclose(tr.lam_arg[:, u], THETA, atol=1e-8)
        assert tr.stability_lost_at(u) == 40 and tr.stable_points_lost_at(u) == 40
        assert tr.n_stable[:, u].tolist() == [1, 1, 1, 1, 0, 0, 0]
        assert [tr.attractor(c, u) for c in range(3)] == ["fixed"] * 3
        assert all(tr.attractor(c, u) in ("torus", "orbit") for c in range(4, 7))
    cross = [e for e in tr.events if e.kind == "crossing"]
    assert {(e.symbol, e.iteration, e.direction) for e in cross} == {(0, 40, 1), (1, 40, 1)}
    assert tr.bifurcation_at() == 40
    assert tr.phases["transition_at"] == 40 and all(e.from_transition == 0 for e in cross)
    np.testing.assert_allclose(tr.spectral_radius, GAINS)
    # a second call reuses the saved rows instead of recomputing them
    cache = sorted((run / "tracking").glob("fixed_points_*.npz"))
    stamps = [p.stat().st_mtime_ns for p in cache]
    again = track_run(run, config=FAST, progress=False)
    assert [p.stat().st_mtime_ns for p in cache] == stamps
    np.testing.assert_array_equal(again.lam_abs, tr.lam_abs)
    assert again.events == tr.events
    back = Tracking.load(tr.save(tmp_path / "tracking.json"))
    np.testing.assert_array_equal(back.eigenvalues, tr.eigenvalues)
    assert back.events == tr.events and back.bifurcation_at() == 40
    np.testing.assert_array_equal(back.rotation, tr.rotation)


def test_tracking_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no checkpoints"):
        track_run(tmp_path, progress=False)
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        TrackConfig(every=0)


@pytest.mark.slow
def test_analyze_command_end_to_end(tmp_path, capsys):
    cfg = TrainConfig(task_kwargs={"period": 6}, hidden=8, seq_len=24, iterations=30,
                      checkpoint_every=10, eval_every=10, eval_size=32)
    train(cfg, tmp_path / "run", progress=False)
    out = tmp_path / "analysis"
    rc = main(["analyze", str(tmp_path / "run"), "--out", str(out), "--states", "16",
               "--retrain-period", "4", "--retrain-iterations", "20", "--oscillator", "--quiet"])
    assert rc == 0
    summary = json.loads((out / "run" / "summary.json").read_text())
    tracking = Tracking.load(out / "run" / "tracking.json")
    assert tracking.iterations.tolist() == [0, 10, 20, 30]
    assert set(summary["symbols"]) == {"a", "b"}
    for name in ("tracking.png", "rings.png", "fixed_points.npz", "final_network.txt",
                 "bifurcations.json"):
        assert (out / "run" / name).stat().st_size > 0
    assert {"random_td_median", "pca_td"} <= set(summary["controls"])
    assert summary["phase_carry"]["period"] == 6
    retrain = json.loads((out / "run" / "retrain_P4" / "tracking.json").read_text())
    assert retrain["iterations"] == [0, 10, 20]
    cfg_back = json.loads((out / "run" / "retrain_P4" / "run" / "config.json").read_text())
    assert cfg_back["task_kwargs"]["period"] == 4 and cfg_back["init_from"].endswith("it_0000030.pt")
    osc = json.loads((out / "oscillator.json").read_text())
    assert all(abs(f["omega_final"] - 2 * math.pi / 24) < 1e-2 for f in osc["flows"])
    assert (out / "oscillator.png").stat().st_size > 0
    assert main(["analyze", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_report_tells_the_story(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--iterations", "40", "--quiet"]) == 0
    report = (tmp_path / "report.md").read_text()
    for fig in ("learning_curves.png", "tracking.png", "rings.png"):
        assert f"]({fig})" in report and (tmp_path / fig).stat().st_size > 0
    from baselines.phases import phases_from_metrics

    ph = phases_from_metrics(tmp_path / "run")
    assert f"| TI accuracy >= 99% at iteration | {ph.ti_solved_at} |" in report
    assert "## 2. The bifurcation" in report and "| iteration | input | type |" in report
    assert "| jump |" not in report  # tracking jumps are listed apart from losses of stability
    # the bifurcation sentence says what the tracking says, with the type defined in one line
    from analysis.bifurcation import DEFINITIONS, bifurcation_kind
    from analysis.tracking import assemble
    from baselines.runs import read_jsonl

    rows = sorted(read_jsonl(tmp_path / "tracking" / "tracking.jsonl"), key=lambda r: r["iteration"])
    tr = assemble(tmp_path / "run", tmp_path / "tracking", rows)
    bif = tr.bifurcation_at()
    if bif is None:
        assert "every input keeps a stable fixed point to the end" in report
    else:
        kind = bifurcation_kind(tr, losses_of_stability(tr))
        assert f"iteration **{bif}**" in report and f"({DEFINITIONS[kind]})" in report
    n_losses = sum(s.kind != "jump" for s in losses_of_stability(tr))
    assert f"Every loss of stability of a tracked point ({n_losses};" in report


@pytest.mark.slow
def test_demo_report_sums_training_time_over_resumes(tmp_path):
    import re

    from baselines.runs import read_metrics

    assert main(["demo", "--out", str(tmp_path), "--iterations", "30", "--quiet"]) == 0
    first = read_metrics(tmp_path / "run")[-1]["wall_s"]
    time.sleep(0.5)
    assert main(["demo", "--out", str(tmp_path), "--iterations", "60", "--quiet"]) == 0
    rows = read_metrics(tmp_path / "run")
    total = rows[-1]["wall_s"]
    assert rows[-1]["it"] == 60 and total > first  # the clock carried over the resume
    m = re.search(r"60 iterations in (\d+) s of training", (tmp_path / "report.md").read_text())
    assert m and int(m.group(1)) == round(total)


KILLED_RUNNER = """
import sys
import torch
torch.set_num_threads(1)
from analysis.tracking import TrackConfig, track_run
track_run(sys.argv[1], sys.argv[2], TrackConfig(fixed_point_states=32, orbit_states=8,
          transient=400, adam_steps=100), progress=False)
"""


@pytest.mark.slow
def test_tracking_killed_midway_then_resumed_gives_the_straight_result(tmp_path):
    """SIGKILL a tracking process after a few checkpoints, resume it: every checkpoint's fixed
    points (points, basin counts, slow points) and row equal those of a straight run. Two stable
    points per input (a pitchfork), so the counts depend on which states were drawn."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from analysis.fixed_points import FixedPoints
    from baselines.runs import read_jsonl

    weights = [(np.diag([g, 0.5]), [0.0, 0.0]) for g in np.linspace(1.2, 1.6, 24)]
    run = constructed_run(tmp_path / "run", weights)
    straight = track_run(run, tmp_path / "straight", config=FAST, progress=False)
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUNNER, str(run), str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = out / "tracking.jsonl"
    t0 = time.time()
    while not (log.exists() and log.read_text().count("\n") >= 3):
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert time.time() - t0 < 120, "tracking wrote no rows"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    done = len(read_jsonl(log))
    assert 3 <= done < 24  # killed midway
    resumed = track_run(run, out, config=FAST, progress=False)
    assert read_jsonl(out / "tracking.jsonl") == read_jsonl(tmp_path / "straight" /
                                                           "tracking.jsonl")
    for p in sorted((tmp_path / "straight").glob("fixed_points_*.npz")):
        a, b = FixedPoints.load(p), FixedPoints.load(out / p.name)
        np.testing.assert_array_equal(a.n_found, b.n_found)
        np.testing.assert_allclose(a.points, b.points, atol=1e-12)
        np.testing.assert_allclose(a.slow_points, b.slow_points, atol=1e-12)
    assert any(len(set(FixedPoints.load(p).n_found.tolist())) > 1
               for p in (tmp_path / "straight").glob("fixed_points_*.npz"))  # draws mattered
    np.testing.assert_array_equal(resumed.lam_abs, straight.lam_abs)
    assert resumed.events == straight.events


def test_a_torn_last_tracking_row_is_dropped_and_recomputed(tmp_path):
    run = constructed_run(tmp_path / "run", CASES["pitchfork"])
    straight = track_run(run, tmp_path / "a", config=FAST, progress=False)
    log = tmp_path / "a" / "tracking.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])  # killed mid-write
    with pytest.warns(UserWarning, match="tracking.jsonl"):
        again = track_run(run, tmp_path / "a", config=FAST, progress=False)
    assert log.read_text() == "".join(lines)
    assert again.events == straight.events


def test_a_cache_of_another_run_or_config_is_not_returned(tmp_path):
    """Issue 24, items 1-2: rows already in ``out`` belong to the run and settings that made them."""
    a = constructed_run(tmp_path / "a", CASES["neimark-sacker"])
    b = constructed_run(tmp_path / "b", CASES["saddle-node"])
    cache = tmp_path / "cache"
    ta = track_run(a, cache, FAST, progress=False)
    tb = track_run(b, cache, FAST, progress=False)  # same folder, another run
    fresh = track_run(b, tmp_path / "fresh", FAST, progress=False)
    np.testing.assert_array_equal(tb.lam_abs, fresh.lam_abs)
    assert not np.allclose(ta.lam_abs, tb.lam_abs, equal_nan=True)
    other = TrackConfig(fixed_point_states=24, orbit_states=8, transient=400, adam_steps=100)
    rows_before = (cache / "tracking.jsonl").read_text().count("\n")
    track_run(b, cache, other, progress=False)  # another config: recomputed, not reused
    rows = [json.loads(x) for x in (cache / "tracking.jsonl").read_text().splitlines()]
    assert rows_before == len(rows) == 7
    assert len({r["key"] for r in rows}) == 7


def test_analyze_refuses_two_runs_with_one_output_folder(tmp_path):
    for parent in ("A", "B"):
        constructed_run((tmp_path / parent / "seed_000"), CASES["pitchfork"]).mkdir(exist_ok=True)
    code = main(["analyze", str(tmp_path / "A" / "seed_000"), str(tmp_path / "B" / "seed_000"),
                 "--out", str(tmp_path / "AN"), "--quiet"])
    assert code == 2
    assert not (tmp_path / "AN" / "seed_000").exists()


def test_tracking_finds_all_three_points_of_a_fold_at_every_checkpoint(tmp_path):
    """Issue 23: on x = tanh(2x + b) tracking returned 2 points at checkpoints where 3 exist (its
    states cluster at the stable points); states spread across the trajectories' box find the
    saddle and the unvisited stable point too."""
    from analysis.fixed_points import FixedPoints

    bs = np.linspace(-0.5, 0.5, 14)  # |b| < 0.5328: three fixed points at every checkpoint
    run = constructed_run(tmp_path / "fold", [(np.diag([2.0, 0.5]), [b, 0.0]) for b in bs],
                          td=[0.5] * 14)
    tr = track_run(run, tmp_path / "tr", TrackConfig(), progress=False)
    for it, b in zip(tr.iterations, bs):
        fp = FixedPoints.load(tmp_path / "tr" / f"fixed_points_{int(it):07d}.npz")
        pts = np.sort(fp.points[fp.input_index == 0][:, 0])
        assert len(pts) == 3, (b, pts)
        np.testing.assert_allclose(np.tanh(2 * pts + b), pts, atol=1e-9)
        assert list(fp.stability[fp.input_index == 0]).count("saddle") == 1
