"""Replay a study's recorded seeds and compare them field by field (``ta-envs study replay``).

A study JSON (``timing``, ``gated``, ``complexity``) records, per block of runs, the training
configuration, the tracking configuration and one record per seed. `replay()` re-trains the
first ``seeds`` recorded seeds of every block from that configuration, tracks them, rebuilds their
records with the same code that wrote the study and compares every field: integers and strings
exactly, floats exactly or within ``rtol``. The first difference of each seed is reported.

With ``iterations`` below the recorded budget only what the first ``iterations`` determine is
compared: the held-out TD curve up to ``iterations``, and the losses of stability whose
checkpoint and the checkpoints used to type them lie within it (without ``permanent``, which
depends on the future). Per-seed trajectories are sensitive to every numerical change (another
BLAS, another thread count, another commit): a difference means the record was made by other code
or on another numerical platform, which is why the record carries its provenance.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from baselines.config import TrainConfig
from baselines.train import train
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_int

from .study import load_json, run_record
from .tracking import TrackConfig, track_run

#: Checkpoints after a loss of stability that its type is read from (``losses_of_stability``).
TYPE_WINDOW = 3


@dataclass(frozen=True)
class Difference:
    """The first field where a replayed record differs from the recorded one."""

    path: str  #: e.g. ``phases.solved_at`` or ``losses[3].kind``
    recorded: Any
    replayed: Any

    def __str__(self) -> str:
        return f"{self.path}: recorded {self.recorded!r}, replayed {self.replayed!r}"


@dataclass(frozen=True)
class SeedReplay:
    """One replayed seed: which block and run, how many fields were compared, what was compared
    (``scope``), and the first difference (None: identical)."""

    block: str
    run: str
    fields: int
    scope: str
    difference: Difference | None

    @property
    def identical(self) -> bool:
        """Every compared field equal."""
        return self.difference is None


@dataclass(frozen=True)
class ReplayResult:
    """Every replayed seed of a study JSON."""

    study: Path
    seeds: tuple[SeedReplay, ...]

    @property
    def identical(self) -> bool:
        """Every replayed seed identical to its record."""
        return all(s.identical for s in self.seeds)


def blocks(study: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The replayable blocks of a study JSON: name -> ``{"config", "track", "runs"}`` (the timing
    study is one block named ``""``; gated one per network; complexity one per setting)."""
    def ok(d: Any) -> bool:
        return isinstance(d, dict) and {"config", "track", "runs"} <= set(d)

    if ok(study):
        return {"": study}
    inner = study.get("settings", study)
    return {k: v for k, v in inner.items() if ok(v)}


def compare(recorded: Any, replayed: Any, rtol: float = 0.0, path: str = ""
            ) -> tuple[int, Difference | None]:
    """``(fields compared, first difference)`` between two JSON values, depth first in the
    recorded order (an int and an equal float are the same number)."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        return _compare_dicts(recorded, replayed, rtol, path)
    if isinstance(recorded, list) and isinstance(replayed, list):
        return _compare_lists(recorded, replayed, rtol, path)
    return 1, None if _same_value(recorded, replayed, rtol) else \
        Difference(path, recorded, replayed)


def _compare_dicts(recorded: dict[str, Any], replayed: dict[str, Any], rtol: float, path: str
                   ) -> tuple[int, Difference | None]:
    n = 0
    for key in list(recorded) + [k for k in replayed if k not in recorded]:
        sub = f"{path}.{key}" if path else str(key)
        if key not in recorded or key not in replayed:
            return n, Difference(sub, recorded.get(key, "<absent>"), replayed.get(key, "<absent>"))
        m, diff = compare(recorded[key], replayed[key], rtol, sub)
        n += m
        if diff is not None:
            return n, diff
    return n, None


def _compare_lists(recorded: list[Any], replayed: list[Any], rtol: float, path: str
                   ) -> tuple[int, Difference | None]:
    n = 0
    for i, (a, b) in enumerate(zip(recorded, replayed)):
        m, diff = compare(a, b, rtol, f"{path}[{i}]")
        n += m
        if diff is not None:
            return n, diff
    if len(recorded) != len(replayed):
        return n, Difference(f"{path} (length)", len(recorded), len(replayed))
    return n, None


def _same_value(a: Any, b: Any, rtol: float) -> bool:
    """Equal leaves; two numbers (not bools) within ``rtol`` relative to the larger."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return bool(a == b or abs(a - b) <= rtol * max(abs(a), abs(b)))
    return bool(a == b)


def prefix(record: dict[str, Any], iterations: int, spacing: int) -> dict[str, Any]:
    """The part of a run record that its first ``iterations`` determine (see the module)."""
    last = iterations - (TYPE_WINDOW - 1) * spacing
    losses = [{k: v for k, v in s.items() if k != "permanent"} for s in record["losses"]
              if s["iteration"] <= last]
    return {"curve": [p for p in record.get("curve", []) if p[0] <= iterations],
            "losses": losses}


def replay(study_json: str | Path, seeds: int, iterations: int | None = None,
           runs: str | Path | None = None, setting: str | None = None, rtol: float = 0.0,
           progress: bool = True) -> ReplayResult:
    """Re-run recorded seeds of a study and compare them with the record (see the module).

    Args:
        study_json: a study JSON written by ``ta-envs study`` (timing, gated or complexity).
        seeds: how many recorded seeds of each block to re-run (the first ones).
        iterations: train only this many iterations and compare what they determine.
        runs: where the replayed runs go (default: a temporary folder, removed after).
        setting: only this block (a gated network or a complexity setting).
        rtol: relative tolerance on floats (0: exact).
        progress: show a progress bar.

    Returns:
        Per replayed seed: the fields compared, the scope, and the first difference (or none).

    Raises:
        ValueError: a missing file, a study without recorded configurations, a bad setting,
            seed count, iteration count or tolerance.
    """
    path = Path(study_json)
    if not path.is_file():
        raise InvalidValue(f"study_json {str(path)!r} is not a file")
    study = load_json(path)
    found = blocks(study)
    if not found:
        raise InvalidValue(f"{path.name} records no training configuration per block (a study "
                           "made before replay existed, or a derived study such as controls or "
                           "retrain): regenerate it with ta-envs study")
    if setting is not None:
        if setting not in found:
            raise InvalidValue(f"setting must be one of {sorted(found)}, got {setting!r}")
        found = {setting: found[setting]}
    check_int("seeds", seeds, 1, min(len(b["runs"]) for b in found.values()))
    if iterations is not None:
        check_int("iterations", iterations, 1)
    _check_rtol(rtol)
    with tempfile.TemporaryDirectory(prefix="ta-envs-replay-") as tmp:
        root = Path(runs) if runs is not None else Path(tmp)
        out = []
        jobs = [(name, rec) for name, b in found.items() for rec in b["runs"][:seeds]]
        for name, rec in iterate(jobs, f"replaying {path.name}", progress):
            out.append(_replay_one(found[name], name, rec, iterations, root, rtol))
    return ReplayResult(path, tuple(out))


def _check_rtol(rtol: float) -> None:
    if not isinstance(rtol, (int, float)) or isinstance(rtol, bool) or not 0 <= rtol < 1:
        raise InvalidValue(f"rtol must be a number in [0, 1), got {rtol!r}")


def _replay_one(block: dict[str, Any], name: str, rec: dict[str, Any], iterations: int | None,
                root: Path, rtol: float) -> SeedReplay:
    config = TrainConfig.from_dict(block["config"])
    seed = int(rec["run"].split("_")[1])
    budget = config.iterations
    n = budget if iterations is None else min(iterations, budget)
    full = n == budget
    config = replace(config, seed=seed, iterations=n)
    run = root / (name.replace(" ", "_").replace("=", "") or "study") / rec["run"]
    train(config, run, progress=False)
    track = TrackConfig(**block["track"])
    mine = run_record(run, track_run(run, run / "tracking", track, progress=False))
    if full:
        scope = f"every field, {budget} iterations"
        fields, diff = compare(rec, mine, rtol)
    else:
        spacing = config.checkpoint_every * track.every
        scope = (f"curve to iteration {n}, losses of stability to iteration "
                 f"{n - (TYPE_WINDOW - 1) * spacing}")
        fields, diff = compare(prefix(rec, n, spacing), prefix(mine, n, spacing), rtol)
        return SeedReplay(name, rec["run"], fields, scope, diff)
    return SeedReplay(name, rec["run"], fields, scope, diff)
