"""The crossing experiment's per-seed reading on constructed runs whose last stable fixed point
is lost at a known checkpoint, with a known |λ| on each side."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("scipy")

from constructed_runs import CASES, FAST, GAINS, constructed_run  # noqa: E402

from analysis.crossing import (  # noqa: E402
    bifurcation_window,
    crossing_of,
    summarise,
    track_window,
)
from analysis.tracking import track_run  # noqa: E402


def _record(bif):
    return {"run": "seed_000", "bifurcation_at": bif,
            "phases": {"transition_at": 40, "raw_transition_at": 50, "jump_start": 30},
            "curve": [[10 * i, 0.5 if 10 * i < 40 else 1.0] for i in range(len(GAINS))]}


@pytest.mark.parametrize("kind", ["neimark-sacker", "period-doubling"])
def test_a_continuous_crossing_is_read_with_its_eigenvalues_and_offsets(kind, tmp_path):
    run = constructed_run(tmp_path / kind, CASES[kind])
    tr = track_run(run, run / "tracking", FAST, progress=False)
    c = crossing_of(tr, _record(40))
    # the origin is the only fixed point; its |λ| is the gain: 0.95 at 30, 1.1 at 40
    assert c.lost_at == 40 and c.agrees and c.symbol in (0, 1)
    assert c.lam_before == pytest.approx(0.95, abs=1e-6)
    assert c.lam_after == pytest.approx(1.1, abs=1e-6)
    assert c.continuous and c.moved == pytest.approx(0.0, abs=1e-8) and c.kind == kind
    assert c.offsets == {"smoothed TD >= 0.75": 0, "raw TD >= 0.75": -10,
                         "plateau end (jump start)": 10}
    assert c.td_at_loss == 1.0
    s = summarise([c, crossing_of(tr, _record(60))])  # a record 20 later does not agree
    assert s["n"] == 2 and s["agrees_with_record"] == 1 and s["continuous"] == 2
    assert s["before_smoothed_transition"] == 0


def test_a_record_the_tracking_does_not_match_is_flagged(tmp_path):
    run = constructed_run(tmp_path / "ns", CASES["neimark-sacker"])
    tr = track_run(run, run / "tracking", FAST, progress=False)
    assert not crossing_of(tr, _record(60)).agrees  # the loss is at 40, not in (50, 60]


def test_tracking_a_window_tracks_only_its_checkpoints(tmp_path):
    run = constructed_run(tmp_path / "ns", CASES["neimark-sacker"])
    tr = track_run(run, tmp_path / "w", FAST, progress=False, window=(20, 50))
    assert tr.iterations.tolist() == [20, 30, 40, 50] and tr.bifurcation_at() == 40
    with pytest.raises(ValueError, match="no checkpoint in the window"):
        track_run(run, tmp_path / "x", FAST, progress=False, window=(1000, 2000))


def test_a_bifurcation_seen_at_a_stride_is_resolved_in_its_window(tmp_path):
    from dataclasses import replace

    from baselines.runs import read_jsonl

    run = constructed_run(tmp_path / "ns", CASES["neimark-sacker"])  # checkpoints 0, 10, .., 60
    tr = track_run(run, run / "tracking", replace(FAST, every=3), progress=False)
    assert tr.iterations.tolist() == [0, 30, 60] and tr.bifurcation_at() == 60
    assert bifurcation_window(tr) == (30, 60)
    stride_rows = {r["iteration"]: r for r in read_jsonl(run / "tracking" / "tracking.jsonl")}
    w = track_window(run, (30, 60), FAST)
    assert w.iterations.tolist() == [30, 40, 50, 60] and w.bifurcation_at() == 40
    window_rows = {r["iteration"]: r for r in read_jsonl(run / "tracking_window" / "tracking.jsonl")}
    assert window_rows[30] == stride_rows[30] and window_rows[60] == stride_rows[60]
    c = crossing_of(w, _record(60), resolution=30)
    # the origin's |λ| is the gain: 0.95 at 30, 1.1 at 40; the stride saw the loss only at 60
    assert c.lost_at == 40 and c.agrees and c.continuous and c.kind == "neimark-sacker"
    assert c.lam_before == pytest.approx(0.95, abs=1e-6)
    assert c.lam_after == pytest.approx(1.1, abs=1e-6)
    assert not crossing_of(w, _record(60)).agrees  # at the record's default step of 10
    assert track_window(run, (30, 60), FAST).bifurcation_at() == 40  # a repeat reuses the rows
    assert len(read_jsonl(run / "tracking_window" / "tracking.jsonl")) == 4


def test_no_window_without_a_bifurcation_after_the_first_checkpoint(tmp_path):
    run = constructed_run(tmp_path / "ns", CASES["neimark-sacker"][:4])  # gains below 1
    tr = track_run(run, run / "tracking", FAST, progress=False)
    assert tr.bifurcation_at() is None and bifurcation_window(tr) is None


def test_the_command_refuses_what_it_does_not_apply(tmp_path, capsys):
    from ta_envs.cli import main

    assert main(["study", "crossing", "--runs", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "crossing needs the timing study JSON" in capsys.readouterr().err
    assert main(["study", "crossing", "t.json", "--runs", str(tmp_path), "--out", str(tmp_path),
                 "--every", "2"]) == 2
    assert "--every does not apply to crossing" in capsys.readouterr().err
