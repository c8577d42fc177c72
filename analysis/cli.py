"""``ta-envs analyze``: the paper's dynamical analysis of trained runs, as figures and JSON.

Per run directory (``OUT/<run>/``): ``tracking.json`` + ``tracking.png`` (TD accuracy, ``|λ_max|``
per symbol and the crossings, stable points and orbits, against iteration), the last checkpoint's
``fixed_points.npz`` and orbits, ``rings.png`` + the subspace test (periodic tasks), the counting
probe (tasks with an unbounded clock), and with ``--retrain-period P`` a retraining run from the last
checkpoint on period P with its own tracking (``retrain_P<P>/``). Over all runs: ``analysis.json``
and, for several runs, ``crossings.png`` (bifurcation iteration against transition iteration).
``--oscillator`` adds the two-parameter oscillator's phase portrait (``oscillator.png``/``.json``).
Work already done (tracking rows, retraining checkpoints) is reused when the command is repeated.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.figures import subplots
from baselines.train import checkpoints, load_checkpoint, load_model, train
from ta_envs import make_dataset

from .counting import counting_probe, counting_test
from .fixed_points import find_fixed_points, sample_states
from .orbits import find_periodic_orbits
from .oscillator import Oscillator, gradient_flow
from .plots import oscillator_figure, rings_figure, tracking_figure
from .subspace import subspace_test
from .tracking import TrackConfig, Tracking, track_run


def add_analyze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="*", help="run directories (from ta-envs train/demo)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--every", type=int, default=1, help="track every N-th checkpoint")
    p.add_argument("--states", type=int, default=256, help="initial states per checkpoint")
    p.add_argument("--retrain-period", type=int, default=None,
                   help="retrain each run's last network on this period and track it")
    p.add_argument("--retrain-iterations", type=int, default=1000)
    p.add_argument("--oscillator", action="store_true",
                   help="the two-parameter oscillator under gradient flow")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: run several at once)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _per_symbol(tr: Tracking) -> dict[str, Any]:
    out = {}
    for u, sym in enumerate(tr.symbols):
        last = tr.lam_abs[-1, u]
        arg = tr.lam_arg[-1, u]
        out[sym] = {"stability_lost_at": tr.stability_lost_at(u),
                    "stable_points_lost_at": tr.stable_points_lost_at(u),
                    "stable_orbit_from": tr.stable_orbit_at(u),
                    "two_stable_points_from": tr.stable_points_reached_at(u, 2),
                    "final_lam_abs": None if np.isnan(last) else float(last),
                    "final_lam_arg": None if np.isnan(arg) else float(arg),
                    "final_rotation_period": (None if np.isnan(arg) or arg < 1e-9
                                              else float(2 * np.pi / arg)),
                    "final_stable_points": int(tr.n_stable[-1, u]),
                    "final_stable_orbit_periods": tr.orbit_periods[-1][u]}
    return out


def analyze_run(run: Path, out: Path, a: argparse.Namespace) -> dict[str, Any]:
    """Everything for one run directory; returns its summary."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = TrackConfig(fixed_point_states=a.states)
    tr = track_run(run, out / "tracking_cache", cfg, every=a.every, progress=not a.quiet)
    tr.save(out / "tracking.json")
    model, task, tcfg = load_model(checkpoints(run)[-1])
    title = f"{tcfg.arch}({tcfg.hidden}) on {tcfg.task} {tcfg.task_kwargs or ''}, {run.name}"
    tracking_figure(tr, out / "tracking.png", title)
    summary: dict[str, Any] = {"run": str(run), "task": tcfg.task, "task_kwargs": tcfg.task_kwargs,
                               "arch": tcfg.arch, "phases": tr.phases,
                               "bifurcation_at": tr.bifurcation_at(), "symbols": _per_symbol(tr)}
    tra = tr.phases.get("transition_at")
    summary["bifurcation_minus_transition"] = (None if tra is None or summary["bifurcation_at"]
                                               is None else summary["bifurcation_at"] - tra)
    # the trained network: fixed points and orbits at the last checkpoint
    inputs = np.asarray(task.obs_table, dtype=np.float64)
    batch = next(make_dataset(task, batch_size=64, seq_len=tcfg.seq_len, seed=1))
    h0 = sample_states(model, batch.inputs, 1024, noise=0.01,
                       generator=torch.Generator().manual_seed(0))
    fp = find_fixed_points(model, inputs, h0)
    fp.save(out / "fixed_points.npz")
    orb = find_periodic_orbits(model, inputs, h0[:64], max_period=2 * max(
        int(tcfg.task_kwargs.get("period", 24) or 24), 32))
    (out / "final_network.txt").write_text(fp.summary() + "\n\n" + orb.summary() + "\n")
    summary["final_orbits"] = [{"input": task.automaton.alphabet[o.input_index], "period": o.period,
                                "stability": o.stability,
                                "mu_abs": float(abs(o.multipliers[0]))} for o in orb.orbits]
    periodic = any(c.period is not None for c in task.automaton.clocks)
    if periodic and task.target_channels is None:
        try:
            res = subspace_test(model, task)
            rings_figure(res, out / "rings.png", title)
            summary["subspace"] = res.to_dict()
        except ValueError as err:
            summary["subspace"] = {"skipped": str(err)}
    if any(c.period is None for c in task.automaton.clocks) and "null" in task.automaton.alphabet:
        summary["counting_probe"] = counting_probe(model, task)
        summary["counting_decode"] = counting_test(model, task)
    if a.retrain_period:
        summary["retrain"] = retrain(run, out, a)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def retrain(run: Path, out: Path, a: argparse.Namespace) -> dict[str, Any]:
    """Continue the last network of ``run`` on ``period = a.retrain_period`` and track it."""
    last = checkpoints(run)[-1]
    base = load_checkpoint(last)["config"]
    if "period" not in base.make_task().params:
        raise ValueError(f"--retrain-period needs a task with a period, not {base.task}")
    kw = {**base.task_kwargs, "period": a.retrain_period}
    if "on_steps" in kw:
        kw.pop("on_steps")
    rdir = out / f"retrain_P{a.retrain_period}"
    cfg = replace(base, task_kwargs=kw, init_from=str(last), iterations=a.retrain_iterations,
                  stop_at_td=None, checkpoint_every=10)
    train(cfg, rdir / "run", progress=not a.quiet)
    tr = track_run(rdir / "run", rdir / "tracking_cache", TrackConfig(fixed_point_states=a.states),
                   every=a.every, progress=not a.quiet)
    tr.save(rdir / "tracking.json")
    tracking_figure(tr, rdir / "tracking.png",
                    f"retraining {run.name}: P {base.task_kwargs.get('period', 24)} -> "
                    f"{a.retrain_period}")
    lost = [e for e in tr.events if e["kind"] == "stable_orbit_lost"]
    born = [e for e in tr.events if e["kind"] == "stable_orbit_born"]
    return {"period": a.retrain_period, "phases": tr.phases,
            "stable_orbits_at_start": tr.orbit_periods[0],
            "stable_orbit_lost": lost[:2], "stable_orbit_born": born[:2],
            "bifurcation_at": tr.bifurcation_at(), "symbols": _per_symbol(tr)}


def oscillator(out: Path) -> dict[str, Any]:
    osc = Oscillator(period=24, length=96)
    starts = [(0.5, 1.0), (0.5, 0.1), (0.3, 0.6), (0.8, 0.9)]
    flows = [gradient_flow(osc, m, w, duration=60.0) for m, w in starts]
    oscillator_figure(osc, flows, out / "oscillator.png")
    res = {"period": osc.period, "length": osc.length, "omega_target": 2 * np.pi / osc.period,
           "flows": [f.to_dict() for f in flows]}
    (out / "oscillator.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


def crossings_figure(rows: list[dict[str, Any]], path: Path) -> None:

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
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def run_analyze(a: argparse.Namespace) -> int:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(a.threads)
    if not a.runs and not a.oscillator:
        raise ValueError("give run directories and/or --oscillator")
    for r in a.runs:
        if not checkpoints(r):
            raise ValueError(f"{r!r} is not a run directory with checkpoints")
    result: dict[str, Any] = {"runs": []}
    for r in a.runs:
        s = analyze_run(Path(r), out / Path(r).name, a)
        result["runs"].append(s)
        print(f"{Path(r).name}: transition {s['phases'].get('transition_at')}, bifurcation "
              f"{s['bifurcation_at']}, " + ", ".join(
                  f"{k}: |λ| {v['final_lam_abs'] or float('nan'):.3f}" for k, v in s["symbols"].items()))
    if len(a.runs) > 1:
        crossings_figure(result["runs"], out / "crossings.png")
        d = [s["bifurcation_minus_transition"] for s in result["runs"]
             if s["bifurcation_minus_transition"] is not None]
        result["bifurcation_minus_transition"] = {
            "n": len(d), "median": float(np.median(d)) if d else None,
            "min": min(d) if d else None, "max": max(d) if d else None}
    if a.oscillator:
        result["oscillator"] = oscillator(out)
    (out / "analysis.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out / 'analysis.json'}")
    return 0
