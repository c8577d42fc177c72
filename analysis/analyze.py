"""The paper's dynamical analysis of trained runs, as one pipeline (``ta-envs analyze``).

Per run directory (``out/<run>/``): ``tracking.json`` + ``tracking.png`` (TD accuracy, ``|λ_max|``
per symbol with each loss of stability and its type, and what each input settles to, against
iteration), ``bifurcations.json``, the last checkpoint's ``fixed_points.npz`` and orbits
(``final_network.txt``), for periodic tasks ``rings.png`` + the subspace test with its controls
(random 3-D projections, top-3 principal components) and the phase carried across input switches,
for tasks with an unbounded clock the counting probe, and with ``retrain_period`` a retraining run
from the last checkpoint with its own tracking (``retrain_P<P>/``). Over all runs:
``analysis.json`` and, for several runs, ``crossings.png``. ``oscillator`` adds the two-parameter
oscillator's phase portrait. Work already done is reused when the call is repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.figures import save_figure, subplots
from baselines.models import has_recurrent_interface
from baselines.provenance import with_provenance
from baselines.runs import atomic_write_json, atomic_write_text, checkpoints, load_checkpoint, load_model
from baselines.train import train
from ta_envs import make_dataset
from ta_envs.validation import InvalidValue, check_int, check_out_dir

from .analysis_figures import oscillator_figure, rings_figure, tracking_figure
from .bifurcation import counts, losses_of_stability
from .counting import counting_probe, counting_test
from .fixed_points import find_fixed_points, sample_states
from .orbits import find_periodic_orbits
from .oscillator import Oscillator, gradient_flow
from .phase import phase_carry
from .subspace import projection_controls, subspace_test
from .tracking import TrackConfig, Tracking, track_run


@dataclass(frozen=True)
class AnalyzeConfig:
    """What to analyse and how."""

    out: Path
    runs: tuple[Path, ...] = ()
    track: TrackConfig = field(default_factory=TrackConfig)
    final_states: int = 1024  #: initial states for the last network's fixed points
    retrain_period: int | None = None
    retrain_iterations: int = 1000
    oscillator: bool = False
    arch: str | None = None  #: a user architecture's name (needed to load its checkpoints)
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", check_out_dir("out", self.out))
        object.__setattr__(self, "runs", tuple(Path(r) for r in self.runs))
        if not self.runs and not self.oscillator:
            raise InvalidValue("give run directories and/or oscillator=True")
        for r in self.runs:
            if not checkpoints(r):
                raise InvalidValue(f"{str(r)!r} is not a run directory with checkpoints")
        names: dict[str, Path] = {}
        for r in self.runs:  # outputs go to out/<run name>: two runs must not share one
            other = names.setdefault(r.name, r)
            if other.resolve() != r.resolve():
                raise InvalidValue(f"runs {str(other)!r} and {str(r)!r} share the name {r.name!r}, "
                                   f"so their outputs would both go to {self.out / r.name}; "
                                   "analyse them into separate --out directories")
        check_int("final_states", self.final_states, 1)
        check_int("retrain_iterations", self.retrain_iterations, 1)
        if self.retrain_period is not None:
            check_int("retrain_period", self.retrain_period, 2)


def _per_symbol(tr: Tracking) -> dict[str, Any]:
    out = {}
    for u, sym in enumerate(tr.symbols):
        last, arg = tr.lam_abs[-1, u], tr.lam_arg[-1, u]
        out[sym] = {"stability_lost_at": tr.stability_lost_at(u),
                    "stable_points_lost_at": tr.stable_points_lost_at(u),
                    "stable_orbit_from": tr.stable_orbit_at(u),
                    "two_stable_points_from": tr.stable_points_reached_at(u, 2),
                    "final_lam_abs": None if np.isnan(last) else float(last),
                    "final_lam_arg": None if np.isnan(arg) else float(arg),
                    "final_rotation_period": (None if np.isnan(arg) or arg < 1e-9
                                              else float(2 * np.pi / arg)),
                    "final_stable_points": int(tr.n_stable[-1, u]),
                    "final_stable_orbit_periods": tr.orbit_periods[-1][u],
                    "final_attractor": tr.attractor(len(tr.iterations) - 1, u)}
    return out


def _final_network(model: torch.nn.Module, task: Any, seq_len: int, out: Path, states: int
                   ) -> list[dict[str, Any]]:
    inputs = np.asarray(task.obs_table, dtype=np.float64)
    batch = next(make_dataset(task, batch_size=64, seq_len=seq_len, seed=1))
    h0 = sample_states(model, batch.inputs, states, noise=0.01,
                       generator=torch.Generator().manual_seed(0))
    fp = find_fixed_points(model, inputs, h0)
    fp.save(out / "fixed_points.npz")
    period = int(task.params.get("period") or 24)
    orb = find_periodic_orbits(model, inputs, h0[:64], max_period=2 * max(period, 32))
    atomic_write_text(out / "final_network.txt", fp.summary() + "\n\n" + orb.summary() + "\n")
    return [{"input": task.automaton.alphabet[o.input_index], "period": o.period,
             "stability": o.stability, "mu_abs": float(abs(o.multipliers[0]))}
            for o in orb.orbits]


def _periodic_probes(model: torch.nn.Module, task: Any, out: Path, title: str) -> dict[str, Any]:
    res = subspace_test(model, task)
    rings_figure(res, out / "rings.png", title)
    return {"subspace": res.to_dict(), "controls": projection_controls(model, task),
            "phase_carry": phase_carry(model, task).to_dict()}


def analyze_run(run: Path, config: AnalyzeConfig) -> dict[str, Any]:
    """Everything for one run directory; returns its summary (also ``summary.json``)."""
    out = config.out / run.name
    out.mkdir(parents=True, exist_ok=True)
    tr = track_run(run, out / "tracking_cache", config.track, progress=config.progress,
                   arch=config.arch)
    tr.save(out / "tracking.json")
    losses = losses_of_stability(tr)
    atomic_write_json(out / "bifurcations.json", [s.to_dict() for s in losses])
    model, task, tcfg = load_model(checkpoints(run)[-1], arch=config.arch)
    title = f"{tcfg.arch}({tcfg.hidden}) on {tcfg.task} {tcfg.task_kwargs or ''}, {run.name}"
    tracking_figure(tr, out / "tracking.png", title, losses)
    bif = tr.bifurcation_at()
    tra = tr.phases.get("transition_at")
    summary: dict[str, Any] = {
        "run": str(run), "task": tcfg.task, "task_kwargs": tcfg.task_kwargs, "arch": tcfg.arch,
        "phases": tr.phases, "bifurcation_at": bif,
        "bifurcation_minus_transition": None if tra is None or bif is None else bif - tra,
        "losses_of_stability": counts(losses), "symbols": _per_symbol(tr)}
    summary["final_orbits"] = _final_network(model, task, tcfg.seq_len, out, config.final_states)
    periodic = any(c.period is not None for c in task.automaton.clocks)
    if periodic and task.target_channels is None and has_recurrent_interface(model):
        try:
            summary.update(_periodic_probes(model, task, out, title))
        except InvalidValue as err:
            summary["subspace"] = {"skipped": str(err)}
    if any(c.period is None for c in task.automaton.clocks) and "null" in task.automaton.alphabet:
        summary["counting_probe"] = counting_probe(model, task)
        summary["counting_decode"] = counting_test(model, task)
    if config.retrain_period:
        summary["retrain"] = retrain_on_period(run, out, config)
    atomic_write_json(out / "summary.json", with_provenance(summary))
    return summary


def retrain_on_period(run: Path, out: Path, config: AnalyzeConfig) -> dict[str, Any]:
    """Continue the last network of ``run`` on ``config.retrain_period`` and track it."""
    last = checkpoints(run)[-1]
    base = load_checkpoint(last).config
    if "period" not in base.make_task().params:
        raise InvalidValue(f"retrain_period needs a task with a period, not {base.task}")
    P = config.retrain_period
    kw = {k: v for k, v in base.task_kwargs.items() if k != "on_steps"}
    kw["period"] = P
    rdir = out / f"retrain_P{P}"
    cfg = replace(base, task_kwargs=kw, init_from=str(last), iterations=config.retrain_iterations,
                  stop_at_td=None, continue_after_stop=0, checkpoint_every=10)
    train(cfg, rdir / "run", progress=config.progress)
    tr = track_run(rdir / "run", rdir / "tracking_cache", config.track, progress=config.progress,
                   arch=config.arch)
    tr.save(rdir / "tracking.json")
    losses = losses_of_stability(tr)
    tracking_figure(tr, rdir / "tracking.png",
                    f"retraining {run.name}: P {base.task_kwargs.get('period', 24)} -> {P}", losses)
    lost = [e.iteration for e in tr.events if e.kind == "stable_orbit_lost"]
    born = [(e.iteration, e.periods) for e in tr.events if e.kind == "stable_orbit_born"]
    return {"period": P, "phases": tr.phases, "stable_orbits_at_start": tr.orbit_periods[0],
            "stable_orbit_lost": lost[:2], "stable_orbit_born": born[:2],
            "bifurcation_at": tr.bifurcation_at(), "losses_of_stability": counts(losses),
            "symbols": _per_symbol(tr)}


def oscillator(out: Path) -> dict[str, Any]:
    """The two-parameter oscillator under gradient flow from four starts (figure and JSON)."""
    osc = Oscillator(period=24, length=96)
    starts = [(0.5, 1.0), (0.5, 0.1), (0.3, 0.6), (0.8, 0.9)]
    flows = [gradient_flow(osc, m, w, duration=60.0) for m, w in starts]
    oscillator_figure(osc, flows, out / "oscillator.png")
    res = {"period": osc.period, "length": osc.length, "omega_target": 2 * np.pi / osc.period,
           "flows": [f.to_dict() for f in flows]}
    atomic_write_json(out / "oscillator.json", res)
    return res


def crossings_figure(rows: list[dict[str, Any]], path: Path) -> Path:
    """Bifurcation iteration against transition iteration, one point per run."""
    pts = [(r["phases"]["transition_at"], r["bifurcation_at"]) for r in rows
           if r["phases"].get("transition_at") is not None and r["bifurcation_at"] is not None]
    fig, ax = subplots(figsize=(4.5, 4.2))
    if pts:
        x, y = map(np.asarray, zip(*pts))
        ax.plot(x, y, "o")
        lim = [0, max(x.max(), y.max()) * 1.05]
        ax.plot(lim, lim, "k--", lw=0.8)
    ax.set_xlabel("transition iteration (TD >= 75%)")
    ax.set_ylabel("bifurcation: last stable fixed point lost")
    ax.set_title(f"{len(pts)} runs", fontsize=9)
    return save_figure(fig, path)


def analyze(config: AnalyzeConfig) -> dict[str, Any]:
    """Run the analysis over every run; returns (and writes) ``analysis.json``."""
    config.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"runs": [analyze_run(r, config) for r in config.runs]}
    if len(config.runs) > 1:
        crossings_figure(result["runs"], config.out / "crossings.png")
        d = [s["bifurcation_minus_transition"] for s in result["runs"]
             if s["bifurcation_minus_transition"] is not None]
        result["bifurcation_minus_transition"] = {
            "n": len(d), "median": float(np.median(d)) if d else None,
            "min": min(d) if d else None, "max": max(d) if d else None}
    if config.oscillator:
        result["oscillator"] = oscillator(config.out)
    atomic_write_json(config.out / "analysis.json", with_provenance(result))
    return result
