"""``ta-envs study replay``: recorded seeds regenerate field for field, a changed record is caught
with its first difference, and a shorter replay compares only what its iterations determine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from ta_envs.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    assert main(["study", "timing", "--seeds", "2", "--iterations", "60", "--states", "32",
                 "--runs", str(root / "runs"), "--out", str(root / "out"), "--quiet"]) == 0
    return root / "out" / "timing.json"


@pytest.mark.slow
def test_replay_regenerates_the_recorded_seeds(record, capsys):
    assert main(["study", "replay", str(record), "--seeds", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count(": identical (") == 2 and "every field, 60 iterations" in out


@pytest.mark.slow
def test_a_changed_record_is_caught_with_its_first_difference(record, tmp_path, capsys):
    d = json.loads(record.read_text())
    true = d["runs"][1]["curve"][3][1]
    d["runs"][1]["curve"][3][1] = true + 1e-6
    d["runs"][1]["bifurcation_kind"] = "pitchfork"  # after the curve: not the first
    bad = tmp_path / "timing.json"
    bad.write_text(json.dumps(d))
    assert main(["study", "replay", str(bad), "--seeds", "2", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "seed_000: identical" in out
    assert f"seed_001: DIFFERS at curve[3][1]: recorded {true + 1e-6!r}, replayed {true!r}" in out
    # a tolerance larger than the change passes it and reaches the next difference
    assert main(["study", "replay", str(bad), "--seeds", "2", "--rtol", "1e-3", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS at bifurcation_kind: recorded 'pitchfork'" in out
    # a seed that matches only within the tolerance is not called identical
    assert "seed_000: equal within rtol 0.001 (" in out and "identical" not in out


def test_a_shorter_replay_compares_the_prefix_only(record, tmp_path, capsys):
    d = json.loads(record.read_text())
    d["runs"][0]["phases"]["solved_at"] = 999  # beyond the replayed prefix: not compared
    changed = tmp_path / "timing.json"
    changed.write_text(json.dumps(d))
    assert main(["study", "replay", str(changed), "--seeds", "1", "--iterations", "40",
                 "--quiet"]) == 0
    assert "curve to iteration 40" in capsys.readouterr().out
    d["runs"][0]["curve"][2][1] = 2.0  # iteration 20: inside the prefix
    changed.write_text(json.dumps(d))
    assert main(["study", "replay", str(changed), "--seeds", "1", "--iterations", "40",
                 "--quiet"]) == 1
    assert "DIFFERS at curve[2][1]: recorded 2.0" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--seeds", "1", "--out", "x"], "--out does not apply to replay"),
    ([], "replay needs --seeds K"),
    (["--seeds", "3"], "seeds must be an int in [1, 2]"),
    (["--seeds", "1", "--setting", "gru"], "setting must be one of"),
    (["--seeds", "1", "--rtol", "2"], "rtol must be a number in [0, 1)"),
])
def test_replay_refuses_bad_input_in_one_line(record, args, message, capsys):
    assert main(["study", "replay", str(record), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_study_without_a_configuration_is_refused(tmp_path, capsys):
    old = tmp_path / "controls.json"
    old.write_text(json.dumps({"n": 1, "runs": [{"run": "seed_000"}]}))
    assert main(["study", "replay", str(old), "--seeds", "1"]) == 2
    assert "records no training configuration" in capsys.readouterr().err
    assert main(["study", "timing", str(old), "--runs", "r", "--out", "o"]) == 2
    assert "applies to replay only" in capsys.readouterr().err
