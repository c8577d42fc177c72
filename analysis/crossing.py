"""Resolving the crossing: where, to the iteration, a run's last stable fixed point is lost,
and how that moment sits against the rise of TD accuracy (``ta-envs study crossing``).

The timing study tracks every 10th iteration, and the tracked point's leading ``|λ|`` often
jumps from 0.7-0.9 to 1.1-1.5 between two checkpoints, so the crossing itself is not resolved
there. Here each bifurcated seed of a timing record is re-trained from its recorded
configuration (the same trajectory: training is deterministic and ``study replay`` checks it)
with a checkpoint at *every* iteration from ``b - 9`` to ``b + 10`` around its recorded
bifurcation ``b``, and those checkpoints are tracked (with the checkpoints ``b - 30``, ``b - 20``
and ``b - 10`` as a lead-in, so the tracked point is the one the record followed).

Per seed: the iteration at which the last stable fixed point of the bifurcating input is lost
(``lost_at``), the tracked point's ``|λ|max`` one iteration before and at that iteration, whether
the tracked point crossed ``|λ| = 1`` continuously (from below 1 to 1 or above, moving less than
`JUMP`: a resolved crossing), vanished or jumped (the branch ended: no ``|λ|`` crosses 1 on it),
or was not the point lost (*untracked*: it was already unstable), the loss's type, and
``lost_at`` minus each phase time of the record (the smoothed TD >= 0.75 transition, the raw one,
the plateau end). TD accuracy is evaluated every 10 iterations, so the phase times keep that resolution.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from baselines.config import TrainConfig
from baselines.provenance import provenance, run_commits
from baselines.runs import atomic_write_json, read_jsonl
from baselines.train import train
from baselines.workers import run_jobs
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_out_dir

from .bifurcation import JUMP, UNTRACKED, losses_of_stability
from .study import stats
from .tracking import TrackConfig, Tracking, track_run

#: Checkpoints at every iteration from ``b - BEFORE + 1`` to ``b + AFTER``.
BEFORE, AFTER = 10, 10
#: Regular checkpoints tracked before the window (iterations ``b - 30, b - 20, b - 10``).
LEAD_IN = 30
#: The phase times of the record that ``lost_at`` is compared with.
OFFSETS = ("smoothed TD >= 0.75", "raw TD >= 0.75", "plateau end (jump start)")


@dataclass(frozen=True)
class Crossing:
    """One seed's resolved loss of its last stable fixed point (see the module)."""

    run: str
    recorded_at: int  #: the record's bifurcation iteration (10-iteration resolution)
    lost_at: int | None  #: the iteration the last stable fixed point is gone (None: not seen)
    agrees: bool  #: ``recorded_at - 10 < lost_at <= recorded_at``
    symbol: int | None  #: the input whose last stable point is lost
    lam_before: float | None  #: tracked point's |λ|max one iteration before ``lost_at``
    lam_after: float | None  #: at ``lost_at`` (None: the tracked point is gone)
    moved: float | None  #: max-norm distance the tracked point moved in that iteration
    continuous: bool  #: the tracked point went from ρ < 1 to ρ >= 1 moving less than `JUMP`
    kind: str | None  #: the loss's type (see `analysis.bifurcation`); `UNTRACKED` when the
    #: last stable point to vanish was not the tracked one (its ρ was already above 1)
    offsets: dict[str, int | None]  #: ``lost_at`` minus each phase time of the record
    td_at_loss: float | None  #: held-out TD accuracy at the last evaluation <= ``lost_at``
    lam_series: list[list[float | None]]  #: ``[iteration - lost_at, |λ|max or None]`` per
    #: tracked checkpoint of the input (None: no tracked point there)


def _job(job: tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]) -> dict[str, Any]:
    """Re-train one recorded seed with dense checkpoints around its bifurcation and track them."""
    config, track, record, run_dir = job
    b = int(record["bifurcation_at"])
    cfg = replace(TrainConfig.from_dict(config), seed=int(record["run"].split("_")[1]),
                  iterations=b + AFTER, stop_at_td=None, continue_after_stop=0,
                  checkpoint_at=tuple(range(max(1, b - BEFORE + 1), b + AFTER + 1)))
    train(cfg, run_dir, progress=False)
    tr = track_run(run_dir, Path(run_dir) / "tracking", TrackConfig(**track), progress=False,
                   window=(max(0, b - LEAD_IN), b + AFTER))
    return asdict(crossing_of(tr, record))


def crossing_of(tr: Tracking, record: dict[str, Any], resolution: int = 10) -> Crossing:
    """The resolved loss of ``tr``'s last stable fixed point against the timing ``record`` of its
    seed (its ``bifurcation_at``, ``phases`` and ``curve``), which saw the loss at checkpoints
    ``resolution`` iterations apart (``agrees``: the loss is within the record's last step)."""
    b = int(record["bifurcation_at"])
    lost = tr.bifurcation_at()
    ph = record["phases"]
    phase = dict(zip(OFFSETS, (ph["transition_at"], ph["raw_transition_at"], ph["jump_start"])))
    if lost is None:
        return Crossing(record["run"], b, None, False, None, None, None, None, False, None,
                        dict.fromkeys(phase), None, [])
    u = next(u for u in range(len(tr.symbols)) if tr.stable_points_lost_at(u) == lost)
    lam_b, lam_a, moved, kind = _at_loss(tr, u, lost)
    curve = [td for it, td in record.get("curve", []) if it <= lost]
    return Crossing(
        run=record["run"], recorded_at=b, lost_at=lost, agrees=b - resolution < lost <= b,
        symbol=u,
        lam_before=lam_b, lam_after=lam_a, moved=moved,
        continuous=_crossed(lam_b, lam_a, moved), kind=kind or UNTRACKED,
        offsets={k: None if v is None else lost - int(v) for k, v in phase.items()},
        td_at_loss=curve[-1] if curve else None,
        lam_series=[[float(it - lost), _modulus(e)]
                    for it, e in zip(tr.iterations, tr.eigenvalues[:, u, 0])])


def _crossed(before: float | None, after: float | None, moved: float | None) -> bool:
    """The tracked point itself went from ρ < 1 to ρ >= 1 moving less than `JUMP`: a crossing
    of the unit circle resolved on one branch."""
    return (before is not None and after is not None and moved is not None and before < 1
            and after >= 1 and moved <= JUMP)


def _modulus(e: complex) -> float | None:
    return float(np.abs(e)) if np.isfinite(e) else None


def _at_loss(tr: Tracking, u: int, lost: int
             ) -> tuple[float | None, float | None, float | None, str | None]:
    """Input ``u``'s tracked |λ|max one checkpoint before ``lost`` and at it, the distance the
    point moved, and the loss's type."""
    c = int(np.flatnonzero(tr.iterations == lost)[0])
    moved = float(tr.tracked_jump[c, u]) if np.isfinite(tr.tracked_jump[c, u]) else None
    at = [s for s in losses_of_stability(tr) if s.symbol == u and s.iteration == lost]
    return (_modulus(tr.eigenvalues[c - 1, u, 0]), _modulus(tr.eigenvalues[c, u, 0]), moved,
            at[-1].kind if at else None)


def bifurcation_window(tr: Tracking) -> tuple[int, int] | None:
    """``(the tracked checkpoint before tr's bifurcation, the bifurcation)`` (None: no bifurcation,
    or it is at the first tracked checkpoint)."""
    b = tr.bifurcation_at()
    its = [int(i) for i in tr.iterations]
    if b is None or its.index(b) == 0:
        return None
    return its[its.index(b) - 1], b


def track_window(run: str | Path, window: tuple[int, int], config: TrackConfig,
                 progress: bool = False) -> Tracking:
    """Track every checkpoint of ``run`` in ``window`` (from `bifurcation_window` of a tracking at
    a stride, with the same settings but ``every``), in ``run/tracking_window``: its two end
    points are the stride's rows from ``run/tracking`` (copied: the same checkpoints, settings and
    code), the checkpoints between are tracked warm-started from the one before them. For a run
    that already has a checkpoint at every iteration (``native-ppo``); `crossing` re-trains
    instead."""
    run = Path(run)
    src, dst = run / "tracking", run / "tracking_window"
    dst.mkdir(exist_ok=True)
    log = dst / "tracking.jsonl"
    have = {r["iteration"] for r in read_jsonl(log)} if log.exists() else set()
    rows = [r for r in read_jsonl(src / "tracking.jsonl") if r["iteration"] in set(window) - have]
    for r in rows:
        name = f"fixed_points_{r['iteration']:07d}.npz"
        shutil.copyfile(src / name, dst / name)
    with log.open("a") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return track_run(run, dst, replace(config, every=1), progress=progress, window=window)


def crossing(timing_json: str | Path, runs: str | Path, seeds: int | None = None,
             workers: int = 1, progress: bool = True) -> dict[str, Any]:
    """Resolve the crossing for the bifurcated seeds of a timing record (see the module).

    Args:
        timing_json: a ``timing.json`` written by ``ta-envs study timing``.
        runs: where the re-trained runs go (reused: a repeated call resumes).
        seeds: only the first this many bifurcated seeds (default: all).
        workers: runs trained and tracked at a time.
        progress: show a progress bar.

    Returns:
        ``{"seeds": [Crossing as dict, ...], "summary": ...}`` (see `summarise`).

    Raises:
        ValueError: a record without per-seed runs, configuration and tracking settings.
    """
    record = json.loads(Path(timing_json).read_text())
    if not {"config", "track", "runs"} <= set(record):
        raise InvalidValue(f"{timing_json} is not a timing study record (config, track, runs)")
    bifurcated = [r for r in record["runs"] if r.get("bifurcation_at") is not None]
    bifurcated = bifurcated[:seeds] if seeds is not None else bifurcated
    jobs = [(record["config"], record["track"], r, str(Path(runs) / r["run"]))
            for r in bifurcated]
    if workers > 1:
        rows = run_jobs(_job, jobs, workers=workers, desc="crossing", show_progress=progress)
    else:
        rows = [_job(j) for j in iterate(jobs, "crossing", progress)]
    return {"seeds": rows, "summary": summarise([Crossing(**r) for r in rows])}


def run_crossing(timing_json: str | Path, runs: str | Path, out: str | Path,
                 seeds: int | None = None, workers: int = 1, progress: bool = True
                 ) -> dict[str, Any]:
    """`crossing` written to ``out/crossing.json`` (with provenance, the commits of the runs
    and the record it read) and ``out/crossing.png``; returns the summary."""
    out_dir = check_out_dir("out", out)
    result = crossing(timing_json, runs, seeds, workers, progress)
    dirs = sorted(p for p in Path(runs).glob("seed_*") if p.is_dir())
    record = {"record": str(timing_json), "before": BEFORE, "after": AFTER, "lead_in": LEAD_IN,
              **result, "provenance": provenance(), "run_commits": run_commits(dirs)}
    atomic_write_json(out_dir / "crossing.json", record)
    crossing_figure([Crossing(**r) for r in result["seeds"]], out_dir / "crossing.png")
    summary: dict[str, Any] = result["summary"]
    return summary


def crossing_figure(rows: list[Crossing], path: str | Path) -> Path:
    """Left: the bifurcating input's tracked |λ|max around the loss (each seed a line, aligned
    at ``lost_at``; a gap where the tracked point is gone). Right: ``lost_at`` minus the smoothed
    TD >= 0.75 transition per seed."""
    from baselines.figures import save_figure, subplots

    fig, (a, b) = subplots(1, 2, figsize=(10, 3.6))
    for r in rows:
        xs = [p[0] for p in r.lam_series]
        ys = [np.nan if p[1] is None else p[1] for p in r.lam_series]
        a.plot(xs, ys, lw=0.8, alpha=0.6, color="tab:blue" if r.continuous else "tab:red")
    a.axhline(1.0, color="k", lw=0.7, ls=":")
    a.axvline(0.0, color="grey", lw=0.7)
    a.set_xlim(-LEAD_IN, AFTER)
    a.set_xlabel("iteration - lost_at (checkpoints every iteration from -9)")
    a.set_ylabel("tracked |λ|max (blue: continuous, red: vanished)")
    off = sorted(o for r in rows if (o := r.offsets.get("smoothed TD >= 0.75")) is not None)
    b.plot(off, np.arange(len(off)), "o", ms=4)
    b.axvline(0.0, color="grey", lw=0.7)
    b.set_xlabel("lost_at - smoothed TD >= 0.75 transition (iterations)")
    b.set_ylabel("seed (sorted)")
    fig.suptitle(f"the loss of the last stable fixed point, resolved per iteration (n={len(rows)})",
                 fontsize=10)
    return save_figure(fig, path)


def summarise(rows: list[Crossing]) -> dict[str, Any]:
    """Counts (seen, agreeing with the record, continuous crossings, types), the |λ| before and
    after, and each phase offset as median [IQR] with n, over the seeds."""
    seen = [r for r in rows if r.lost_at is not None]
    cont = [r for r in seen if r.continuous]
    smoothed = [r.offsets["smoothed TD >= 0.75"] for r in seen]
    return {
        "n": len(rows), "seen": len(seen), "agrees_with_record": sum(r.agrees for r in rows),
        "continuous": len(cont), **_how(seen),
        "kinds": dict(Counter(str(r.kind) for r in seen)),
        **_lams(seen, cont),
        "lam_step_continuous": stats([_step(r) for r in cont]),
        "offsets": {k: stats([r.offsets[k] for r in seen]) for k in OFFSETS},
        "before_smoothed_transition": sum(x < 0 for x in smoothed if x is not None),
        "td_at_loss": stats([r.td_at_loss for r in seen]),
    }


def _how(seen: list[Crossing]) -> dict[str, int]:
    """How many losses were untracked, and how many were neither a resolved crossing nor untracked
    (the tracked point vanished, jumped, or moved more than `JUMP` in the one iteration)."""
    untracked = sum(r.kind == UNTRACKED for r in seen)
    return {"untracked": untracked,
            "vanished_or_jumped": len(seen) - untracked - sum(r.continuous for r in seen)}


def _lams(seen: list[Crossing], cont: list[Crossing]) -> dict[str, Any]:
    return {"lam_before": stats([r.lam_before for r in seen]),
            "lam_after_continuous": stats([r.lam_after for r in cont])}


def _step(r: Crossing) -> float | None:
    return None if r.lam_after is None or r.lam_before is None else r.lam_after - r.lam_before
