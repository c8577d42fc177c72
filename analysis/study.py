"""Studies over many seeds: the paper's central claim measured with spread (``ta-envs study``).

Each study trains its runs (resumable, [`baselines.train.train_seeds()`][baselines.train.train_seeds]),
tracks their
checkpoints (resumable, [`analysis.tracking.track_run()`][analysis.tracking.track_run]), and writes one
JSON with every
number and its figures into ``out``. Repeating a call reuses all finished work.

- ``timing``: when the bifurcation comes relative to every definition of the learning phases, and
  what kind it is (tanh RNN, P = 24, the reference recipe, trained 300 iterations past solving).
- ``complexity``: plateau, transition and bifurcation against task complexity (P = 6..48, K = 3,
  the state-dependent variant, relative timing with τ = 3, 5, 10), related to the minimised
  configuration count.
- ``gated``: the same tracking for GRU and LSTM.
- ``retrain``: solved P = 24 networks retrained on P = 12, grouped by their learned winding.
- ``controls``: the 3-D subspace readout against random 3-D projections and the top-3 principal
  components, and the phase carried across input switches, on the solved timing networks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.config import TrainConfig
from baselines.phases import phases_from_metrics
from baselines.provenance import provenance, run_commits
from baselines.runs import atomic_write_json, checkpoints, load_model, read_metrics
from baselines.train import train_seeds
from baselines.workers import run_jobs
from ta_envs import make_task
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_int, check_out_dir

from .bifurcation import KINDS, UNTRACKED, bifurcation_loss, counts, losses_of_stability
from .phase import phase_carry
from .study_figures import aligned_figure, complexity_figure
from .subspace import projection_controls, subspace_test
from .tracking import TrackConfig, Tracking, track_run

STUDIES = ("timing", "complexity", "gated", "retrain", "controls")
#: Phase definitions the bifurcation is compared with (field of ``Phases``).
PHASE_DEFS = {"raw TD >= 0.75": "raw_transition_at", "smoothed TD >= 0.75": "transition_at",
              "plateau end (jump start)": "jump_start", "TD >= 0.9": "jump_end",
              "solved (TD >= 0.99)": "solved_at"}


@dataclass(frozen=True)
class StudyConfig:
    """Where the runs live (``runs``), where results go (``out``), how many seeds, workers."""

    runs: Path
    out: Path
    seeds: int = 30
    workers: int = 1
    iterations: int = 3000
    continue_after_stop: int = 300
    track: TrackConfig = field(default_factory=TrackConfig)
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", Path(self.runs))
        object.__setattr__(self, "out", check_out_dir("out", self.out))
        check_int("seeds", self.seeds, 1)
        check_int("workers", self.workers, 1)
        check_int("iterations", self.iterations, 1)
        check_int("continue_after_stop", self.continue_after_stop, 0)


def write_study(study: StudyConfig, name: str, result: dict[str, Any]) -> None:
    """Write ``study.out/name`` (compact JSON) with its provenance and the commits its runs were
    made (and resumed) at (``run_commits``: ``mixed`` says when they differ)."""
    dirs = sorted(p for p in study.runs.glob("*/seed_*") if p.is_dir())
    # no indentation: per-seed curves of ten settings would pass 1 MB indented
    atomic_write_json(study.out / name, {**result, "provenance": provenance(),
                                         "run_commits": run_commits(dirs)}, indent=None)


def stats(values: Sequence[float | None]) -> dict[str, Any] | None:
    """Median, interquartile range, min, max and n (None when empty)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "min": float(v.min()),
            "max": float(v.max()), "n": int(v.size)}


def reference_config(**kw: Any) -> TrainConfig:
    """The reference recipe (TrainConfig defaults) with dense checkpoints and a stop rule."""
    base = dict(checkpoint_every=10, stop_at_td=0.99, eval_every=10)
    return TrainConfig(**{**base, **kw})


def _track_job(job: tuple[Path, TrackConfig]) -> int:
    """Track one run into its ``tracking`` folder (a worker job; the rows are read back later),
    with the run's own thread count, as when tracking follows training in one process."""
    run, track = job
    torch.set_num_threads(TrainConfig.from_dict(load_json(run / "config.json")).threads)
    track_run(run, run / "tracking", track, progress=False)
    return 0


def _train_and_track(config: TrainConfig, seeds: Sequence[int], runs: Path, study: StudyConfig,
                     track: TrackConfig) -> list[tuple[Path, Tracking]]:
    """Train the seeds, then track every run, ``study.workers`` runs at a time (each run's
    checkpoints in order: tracking warm-starts from the previous checkpoint's points)."""
    dirs = train_seeds(config, seeds, runs, workers=study.workers, progress=study.progress)
    if study.workers > 1:
        run_jobs(_track_job, [(d, track) for d in dirs], workers=study.workers,
                 desc=f"tracking {runs.name}", show_progress=study.progress)
    out = []
    for d in iterate(dirs, f"tracking {runs.name}", study.progress and study.workers == 1):
        out.append((d, track_run(d, d / "tracking", track, progress=False)))
    return out


def eval_curve(run: Path) -> list[list[float]]:
    """``[[iteration, held-out TD accuracy], ...]`` at every evaluation of ``run``; accuracies
    rounded to float32's shortest repr (they are float32 values), so a replay compares exactly."""
    return [[r["it"], float(str(np.float32(r["val_td_acc"])))] for r in read_metrics(run)
            if r.get("val_td_acc") is not None]


def run_record(run: Path, tr: Tracking) -> dict[str, Any]:
    """Phases, bifurcation and losses of stability of one tracked run."""
    ph = phases_from_metrics(run)
    losses = losses_of_stability(tr)
    bif = tr.bifurcation_at()
    rec: dict[str, Any] = {"run": run.name, "phases": ph.to_dict(), "bifurcation_at": bif,
                           "losses": [s.to_dict() for s in losses],
                           "offsets": {}, "curve": eval_curve(run)}
    for name, key in PHASE_DEFS.items():
        t = getattr(ph, key)
        rec["offsets"][name] = None if t is None or bif is None else bif - t
    paper = bifurcation_loss(tr, losses)
    rec["bifurcation_kind"] = (None if bif is None else UNTRACKED if paper is None
                               else paper.kind)
    rec["bifurcation_rotation"] = None if paper is None else paper.rotation_at_birth
    rec["bifurcation_winding"] = None if paper is None else paper.winding_estimate
    return rec


def tracked_summary(runs: Sequence[tuple[Path, Tracking]]) -> dict[str, Any]:
    """Seeds, solved, bifurcated, the offsets of the bifurcation from each phase, the kinds of the
    bifurcation and every loss of stability, and the per-run records, over tracked runs (of
    ``train`` or of ``native-ppo``: iterations are then updates)."""
    recs = [run_record(d, tr) for d, tr in runs]
    return {"seeds": len(recs), "solved": sum(r["phases"]["solved"] for r in recs),
            "bifurcated": sum(r["bifurcation_at"] is not None for r in recs),
            "offsets": offset_table(recs),
            "bifurcation_kinds": kind_counts(recs),
            "losses_of_stability": counts([s for _, tr in runs for s in losses_of_stability(tr)]),
            "runs": recs}


def kind_counts(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many records' bifurcation is of each kind (`UNTRACKED` included)."""
    return {k: sum(r["bifurcation_kind"] == k for r in records) for k in (*KINDS, UNTRACKED)}


def offset_table(records: list[dict[str, Any]], within: int = 20) -> dict[str, Any]:
    """Per phase definition: median and IQR of (bifurcation − phase) and the fraction of seeds
    within ``±within`` iterations (over the seeds where both exist)."""
    table = {}
    for name in PHASE_DEFS:
        d = [r["offsets"][name] for r in records if r["offsets"][name] is not None]
        s = stats(d)
        table[name] = {**(s or {"n": 0}),
                       "within": float(np.mean([abs(x) <= within for x in d])) if d else None}
    return table


def timing(study: StudyConfig) -> dict[str, Any]:
    """The ``timing`` study (see the module docstring).

    Args:
        study: runs and output folders, seeds, workers, budget and tracking settings.

    Returns:
        The study's record, as written (with provenance) to its JSON under ``study.out``.

    Raises:
        ValueError: a bad configuration.
    """
    cfg = reference_config(iterations=study.iterations,
                           continue_after_stop=study.continue_after_stop)
    runs = _train_and_track(cfg, range(study.seeds), study.runs / "timing_rnn_p24", study,
                            study.track)
    records = [run_record(d, tr) for d, tr in runs]
    kinds = [s for (_, tr) in runs for s in losses_of_stability(tr)]
    result = {"config": cfg.to_dict(), "track": study.track.__dict__, "seeds": study.seeds,
              "solved": sum(r["phases"]["solved"] for r in records),
              "bifurcated": sum(r["bifurcation_at"] is not None for r in records),
              "offsets": offset_table(records),
              "losses_of_stability": counts(kinds),
              "bifurcation_kinds": kind_counts(records),
              "winding_at_birth": [r["bifurcation_winding"] for r in records],
              "runs": records}
    write_study(study, "timing.json", result)

    aligned_figure(runs, records, study.out / "timing_aligned.png")
    return result


COMPLEXITY: dict[str, tuple[str, dict[str, Any], int]] = {
    "P=6": ("TemporalFlipFlop-v0", {"period": 6}, 24),
    "P=12": ("TemporalFlipFlop-v0", {"period": 12}, 48),
    "P=24": ("TemporalFlipFlop-v0", {"period": 24}, 96),
    "P=48": ("TemporalFlipFlop-v0", {"period": 48}, 192),
    "K=3 (P=24)": ("TemporalFlipFlop-v0", {"period": 24, "num_phases": 3}, 96),
    "state-dependent P=12": ("TemporalFlipFlop-v0", {"period": 12, "state_dependent": True}, 48),
    "relative tau=3": ("RelativeTimingFlipFlop-v0", {"tau": 3}, 100),
    "relative tau=5": ("RelativeTimingFlipFlop-v0", {"tau": 5}, 100),
    "relative tau=10": ("RelativeTimingFlipFlop-v0", {"tau": 10}, 100),
}


def _complexity_setting(study: StudyConfig, name: str) -> dict[str, Any]:
    """One setting of the complexity study: trained, tracked and summarised."""
    task, kw, T = COMPLEXITY[name]
    cfg = reference_config(task=task, task_kwargs=kw, seq_len=T, iterations=study.iterations,
                           checkpoint_every=20, continue_after_stop=min(
                               100, study.continue_after_stop))
    slug = name.replace(" ", "_").replace("=", "").replace("(", "").replace(")", "")
    runs = _train_and_track(cfg, range(study.seeds), study.runs / f"complexity_{slug}",
                            study, study.track)
    recs = [run_record(d, tr) for d, tr in runs]
    comp = make_task(task, **kw).automaton.compiled
    plateau = [_plateau_length(r["phases"]) for r in recs]
    return {
        "config": cfg.to_dict(), "track": study.track.__dict__,
        "configs": comp.num_configs, "minimal": comp.num_minimal, "seeds": len(recs),
        "solved": sum(r["phases"]["solved"] for r in recs),
        "plateau_length": stats(plateau),
        "transition_at": stats([r["phases"]["transition_at"] for r in recs]),
        "solved_at": stats([r["phases"]["solved_at"] for r in recs]),
        "bifurcation_at": stats([r["bifurcation_at"] for r in recs]),
        "bifurcated": sum(r["bifurcation_at"] is not None for r in recs),
        "bifurcation_kinds": kind_counts(recs),
        "two_stable_points": sum(any(tr.stable_points_reached_at(u, 2) is not None
                                     for u in range(len(tr.symbols))) for _, tr in runs),
        "runs": recs}


def _plateau_length(ph: dict[str, Any]) -> int | None:
    """Iterations from the plateau's start to its end (None: no plateau)."""
    if ph["plateau_end"] is None or ph["plateau_start"] is None:
        return None
    return int(ph["plateau_end"] - ph["plateau_start"])


def complexity(study: StudyConfig, names: Sequence[str] = tuple(COMPLEXITY)) -> dict[str, Any]:
    """The ``complexity`` study (see the module docstring).

    Args:
        study: runs and output folders, seeds, workers, budget and tracking settings.
        names: the settings to run (keys of `COMPLEXITY`).

    Returns:
        The study's record, as written (with provenance) to its JSON under ``study.out``.

    Raises:
        ValueError: a setting not in `COMPLEXITY`.
    """
    bad = [n for n in names if n not in COMPLEXITY]
    if bad:
        raise InvalidValue(f"complexity settings must be among {list(COMPLEXITY)}, got {bad}")
    rows = {}
    for name in names:
        rows[name] = _complexity_setting(study, name)
        write_study(study, "complexity.json", {"settings": rows,
                                                          "iterations": study.iterations})

    complexity_figure(rows, study.out / "complexity.png")
    return rows


def gated(study: StudyConfig, archs: Sequence[str] = ("gru", "lstm")) -> dict[str, Any]:
    """The ``gated`` study: GRU and LSTM tracked like the tanh RNN.

    Args:
        study: runs and output folders, seeds, workers, budget and tracking settings.
        archs: the gated architectures.

    Returns:
        The study's record, as written (with provenance) to its JSON under ``study.out``.

    Raises:
        ValueError: a bad configuration.
    """
    out = {}
    for arch in archs:
        cfg = reference_config(arch=arch, iterations=study.iterations, checkpoint_every=10,
                               continue_after_stop=min(100, study.continue_after_stop))
        track = replace(study.track, every=2)
        runs = _train_and_track(cfg, range(study.seeds), study.runs / f"gated_{arch}_p24", study,
                                track)
        out[arch] = {"config": cfg.to_dict(), "track": track.__dict__, **tracked_summary(runs)}
        write_study(study, "gated.json", out)
    return out


def _solved_timing_runs(study: StudyConfig, first: int | None = None) -> list[Path]:
    """Solved timing runs among seeds ``0 .. first - 1`` (all when ``first`` is None)."""
    root = study.runs / "timing_rnn_p24"
    found = sorted(p for p in root.glob("seed_*") if checkpoints(p)
                   and (first is None or int(p.name.split("_")[1]) < first))
    if not found:
        raise InvalidValue(f"no timing runs in {root}: run the timing study first")
    return [p for p in found if phases_from_metrics(p).solved]


def _retrain_one(study: StudyConfig, run: Path, period: int) -> dict[str, Any]:
    """One solved timing network retrained on ``period``, tracked; its record."""
    last = checkpoints(run)[-1]
    model, task, cfg = load_model(last)
    sub = subspace_test(model, task)
    rcfg = replace(cfg, task_kwargs={**cfg.task_kwargs, "period": period}, init_from=str(last),
                   iterations=study.iterations, stop_at_td=None, continue_after_stop=0,
                   checkpoint_every=10, seq_len=4 * period)
    rdir = study.runs / f"retrain_P{period}" / run.name
    train_seeds(rcfg, [cfg.seed], rdir.parent, workers=1, progress=False)
    tr = track_run(rdir, rdir / "tracking", replace(study.track, max_period=64), progress=False)
    lost = [e.iteration for e in tr.events if e.kind == "stable_orbit_lost"]
    born = [e.iteration for e in tr.events if e.kind == "stable_orbit_born"
            and any(p % period == 0 for p in e.periods)]
    return {"run": run.name, "winding_p24": sub.winding.get(1),
            "locking_p24": sub.phase_locking.get(1),
            "phases": phases_from_metrics(rdir).to_dict(),
            "orbit_lost_at": lost[0] if lost else None,
            "period_orbit_born_at": born[0] if born else None,
            "bifurcation_at": tr.bifurcation_at(),
            "losses": [s.to_dict() for s in losses_of_stability(tr)]}


def _retrain_group(g: list[dict[str, Any]]) -> dict[str, Any]:
    """The retrained networks of one winding: counts and median [IQR] of each time."""
    return {"n": len(g), "solved": sum(r["phases"]["solved"] for r in g),
            "plateau_td": stats([r["phases"]["plateau_td"] for r in g]),
            "transition_at": stats([r["phases"]["transition_at"] for r in g]),
            "solved_at": stats([r["phases"]["solved_at"] for r in g]),
            "orbit_lost_at": stats([r["orbit_lost_at"] for r in g]),
            "period_orbit_born_at": stats([r["period_orbit_born_at"] for r in g])}


def retrain(study: StudyConfig, period: int = 12) -> dict[str, Any]:
    """The ``retrain`` study: the first ``study.seeds`` solved timing networks retrained on
    ``period`` for ``study.iterations`` iterations, tracked, grouped by the winding m their P = 24
    rings had.

    Args:
        study: runs and output folders, seeds, workers, budget and tracking settings.
        period: the new period.

    Returns:
        The study's record, as written (with provenance) to its JSON under ``study.out``.

    Raises:
        ValueError: no timing runs to start from.
    """
    iterations = study.iterations
    rows = [_retrain_one(study, run, period) for run in
            iterate(_solved_timing_runs(study)[:study.seeds], "retraining", study.progress)]
    groups: dict[str, Any] = {}
    for r in rows:
        groups.setdefault(str(r["winding_p24"]), []).append(r)
    summary = {m: _retrain_group(g) for m, g in sorted(groups.items())}
    result = {"period": period, "iterations": iterations, "by_winding": summary, "runs": rows}
    write_study(study, "retrain.json", result)
    return result


def controls(study: StudyConfig, projections: int = 50) -> dict[str, Any]:
    """The ``controls`` study: subspace readout vs random 3-D projections and the top-3 PCs, and
    the phase carried across switches, on every solved timing network among seeds
    ``0 .. study.seeds - 1``.

    Args:
        study: runs and output folders, seeds, workers, budget and tracking settings.
        projections: random 3-D projections per network.

    Returns:
        The study's record, as written (with provenance) to its JSON under ``study.out``.

    Raises:
        ValueError: no timing runs to start from.
    """
    rows = []
    for run in iterate(_solved_timing_runs(study, study.seeds), "controls", study.progress):
        model, task, _ = load_model(checkpoints(run)[-1])
        sub = subspace_test(model, task)
        ctl = projection_controls(model, task, projections=projections)
        rows.append({"run": run.name, "subspace_td": sub.accuracy["projection"]["td"],
                     "full_td": sub.accuracy["full_state"]["td"],
                     "model_td": sub.accuracy["model"]["td"], **ctl,
                     "winding": sub.winding.get(1), "locking": sub.phase_locking.get(1),
                     "phase": phase_carry(model, task).to_dict()})
    result = {"n": len(rows), "runs": rows,
              "subspace_td": stats([r["subspace_td"] for r in rows]),
              "random_td_median": stats([r["random_td_median"] for r in rows]),
              "top3_pc_td": stats([r["pca_td"] for r in rows]),
              "full_td": stats([r["full_td"] for r in rows]),
              "phase_error": {k: stats([r["phase"][k] for r in rows]) for k in
                              ("error_median", "before_switch", "after_switch", "after_switch_3")},
              "phase_decoded_accuracy": stats([r["phase"]["decoded_accuracy"] for r in rows])}
    write_study(study, "controls.json", result)
    return result


def load_json(path: Path) -> dict[str, Any]:
    """A study's JSON (for tables)."""
    return json.loads(Path(path).read_text())


RUNNERS = {"timing": timing, "complexity": complexity, "gated": gated, "retrain": retrain,
           "controls": controls}
