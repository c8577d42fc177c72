"""``ta-envs theory``: the four properties of linear-RNN learning and the integration proof of
concept, each as a figure (``<name>.png``) and numbers (``<name>.json``) under ``--out``; a summary
of all of them in ``theory.json``. An experiment whose JSON exists is not run again (``--force``
reruns it), so an interrupted call resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from baselines.jsonable import to_jsonable

EXPERIMENTS = ("order", "extrapolation", "tradeoff", "ntk", "integration")


def add_theory_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiments", nargs="*", default=[], metavar="EXPERIMENT",
                   help=f"any of {', '.join(EXPERIMENTS)} (default: all)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--quick", action="store_true", help="fewer steps and settings (smoke run)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="rerun experiments whose JSON exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _order(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    from .plots import order_figure
    from .properties import learning_order, order_task

    s, labels = order_task(3)
    res = learning_order(s, labels, steps=3000 if quick else 4000, seed=seed)
    order_figure(res, out / "order.png")
    return {"labels": list(res.labels), "s": res.s, "predicted_half": res.predicted_half,
            "simulated_half": res.simulated_half, "same_order": res.agrees,
            "final_fraction_predicted": res.predicted[-1],
            "final_fraction_simulated": res.simulated[-1]}


def _extrapolation(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    from .plots import extrapolation_figure
    from .properties import extrapolation

    res = extrapolation([0.5, 0.8, 0.9, 1.0, 1.05, 1.1], steps=4000 if quick else 20000,
                        draws=5 if quick else 20, seed=seed)
    extrapolation_figure(res, out / "extrapolation.png")
    summary = asdict(res)
    summary["error_growth_to_longest"] = res.error[:, -1] / res.error[:, 0]
    return summary


def _tradeoff(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    from .plots import tradeoff_figure
    from .properties import tradeoff

    res = tradeoff(np.linspace(0.0, 2.0, 11 if quick else 41), steps=5000 if quick else 20000,
                   w0=(0.05, 0.5, 0.9))
    tradeoff_figure(res, out / "tradeoff.png")
    d = asdict(res)
    d.pop("landscape")
    return d


def _ntk(out: Path, quick: bool, seed: int, progress: bool) -> dict[str, Any]:
    from .linear_rnn import teacher_correlations
    from .ntk import kernel_movement
    from .plots import ntk_figure
    from .properties import orthonormal

    rng = np.random.default_rng(seed)
    r, T = 3, 6
    U, V = orthonormal(rng, r + 1, r), orthonormal(rng, r + 1, r)
    s = np.array([2.0, 1.0, 0.5])[:, None] * 0.8 ** np.arange(T - 1, -1, -1)
    sigma = teacher_correlations(U, V, s)
    scales = (0.1, 1.0) if quick else (0.1, 0.3, 0.6, 1.0)
    runs = [kernel_movement(m, sigma, sc, steps=800 if quick else 3000, seed=seed)
            for sc in tqdm(scales, desc="ntk", disable=not progress, leave=False)
            for m in ("rnn", "feedforward")]
    ntk_figure(runs, out / "ntk.png")
    return {"runs": [asdict(k) for k in runs],
            "final_distance": {f"{k.model}@{k.scale:g}": float(k.distance[-1]) for k in runs},
            "final_loss": {f"{k.model}@{k.scale:g}": float(k.loss[-1]) for k in runs}}


def _integration(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    from .integration import integration_experiment
    from .plots import integration_figure

    res = integration_experiment(n=1024 if quick else 4096, steps=1500 if quick else 4000,
                                 seed=seed)
    integration_figure(res, out / "integration.png")
    d = asdict(res)
    for k in ("predicted", "simulated"):
        d[k] = d[k][:: max(1, len(d[k]) // 200)]
    d["train_loss"] = d["train_loss"][:: max(1, len(d["train_loss"]) // 200)]
    return d


def run_theory(args: argparse.Namespace) -> int:
    names = list(args.experiments) or list(EXPERIMENTS)
    bad = [n for n in names if n not in EXPERIMENTS]
    if bad:
        raise ValueError(f"experiments must be among {EXPERIMENTS}, got {bad}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    progress = not args.quiet
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "order": lambda: _order(out, args.quick, args.seed),
        "extrapolation": lambda: _extrapolation(out, args.quick, args.seed),
        "tradeoff": lambda: _tradeoff(out, args.quick, args.seed),
        "ntk": lambda: _ntk(out, args.quick, args.seed, progress),
        "integration": lambda: _integration(out, args.quick, args.seed),
    }
    summary: dict[str, Any] = {}
    for name in tqdm(names, desc="theory", disable=not progress):
        path = out / f"{name}.json"
        if path.exists() and not args.force:
            summary[name] = json.loads(path.read_text())
            continue
        result = to_jsonable(runners[name]())
        result["quick"] = bool(args.quick)
        path.write_text(json.dumps(result))
        summary[name] = result
    (out / "theory.json").write_text(json.dumps(_headline(summary), indent=1))
    for line in _report(summary):
        print(line)
    return 0


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers worth reading, per experiment."""
    keep = {"order": ("labels", "predicted_half", "simulated_half", "same_order"),
            "extrapolation": ("gammas", "w", "lengths", "error_growth_to_longest"),
            "tradeoff": ("c_critical",),
            "ntk": ("final_distance", "final_loss"),
            "integration": ("gamma", "predicted_half", "simulated_half", "w_predicted",
                            "w_simulated", "eig_abs", "lengths", "test_error")}
    return {n: {k: r[k] for k in keep[n] if k in r} for n, r in summary.items()}


def _report(summary: dict[str, Any]) -> list[str]:
    lines = []
    if "order" in summary:
        o = summary["order"]
        lines.append("order: half-learned step (theory / GD): " + ", ".join(
            f"{lab} {p}/{s}" for lab, p, s in zip(o["labels"], o["predicted_half"],
                                                  o["simulated_half"]))
            + f"; same order: {o['same_order']}")
    if "extrapolation" in summary:
        e = summary["extrapolation"]
        lines.append("extrapolation: error growth to the longest length per γ: " + ", ".join(
            f"{g:g}: {x:.3g}x" for g, x in zip(e["gammas"], e["error_growth_to_longest"])))
    if "tradeoff" in summary:
        lines.append(f"tradeoff: the optimum turns recurrent at c = "
                     f"{summary['tradeoff']['c_critical']:.4f}")
    if "ntk" in summary:
        lines.append("ntk: final kernel distance " + ", ".join(
            f"{k} {v:.3f}" if v is not None else f"{k} diverged"
            for k, v in summary["ntk"]["final_distance"].items()))
    if "integration" in summary:
        i = summary["integration"]
        lines.append(f"integration: half-learned (theory / GD) {i['predicted_half']} / "
                     f"{i['simulated_half']}; |eig W| {np.round(i['eig_abs'], 3).tolist()}; "
                     f"test error at {i['lengths']}: "
                     + ", ".join(f"{x:.2g}" for x in i["test_error"]))
    return lines
