"""The theory experiments as one pipeline: the four properties of linear-RNN learning and the
integration proof of concept, each as a figure (``<name>.png``) and numbers (``<name>.json``) in
an output folder, and a summary of all of them in ``theory.json``. An experiment whose JSON exists
is not run again (``force`` reruns it), so an interrupted call resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baselines.jsonable import to_jsonable
from baselines.runs import atomic_write_json
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_out_dir, check_seed

EXPERIMENTS = ("order", "extrapolation", "tradeoff", "ntk", "integration")


@dataclass(frozen=True)
class TheoryConfig:
    """Which experiments to run (default: all), where, and how."""

    out: Path
    experiments: tuple[str, ...] = EXPERIMENTS
    quick: bool = False
    seed: int = 0
    force: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", check_out_dir("out", self.out))
        object.__setattr__(self, "experiments", tuple(self.experiments) or EXPERIMENTS)
        bad = [n for n in self.experiments if n not in EXPERIMENTS]
        if bad:
            raise InvalidValue(f"experiments must be among {EXPERIMENTS}, got {bad}")
        check_seed("seed", self.seed)


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
            for sc in iterate(scales, "ntk", progress) for m in ("rnn", "feedforward")]
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


def run_theory(config: TheoryConfig) -> dict[str, Any]:
    """Run (or reuse) the chosen experiments; returns the headline numbers per experiment."""
    out, quick, seed = config.out, config.quick, config.seed
    out.mkdir(parents=True, exist_ok=True)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "order": lambda: _order(out, quick, seed),
        "extrapolation": lambda: _extrapolation(out, quick, seed),
        "tradeoff": lambda: _tradeoff(out, quick, seed),
        "ntk": lambda: _ntk(out, quick, seed, config.progress),
        "integration": lambda: _integration(out, quick, seed),
    }
    summary: dict[str, Any] = {}
    for name in iterate(config.experiments, "theory", config.progress):
        path = out / f"{name}.json"
        if path.exists() and not config.force:
            summary[name] = json.loads(path.read_text())
            continue
        result = to_jsonable(runners[name]())
        result["quick"] = bool(quick)
        atomic_write_json(path, result, indent=None)
        summary[name] = result
    headline = _headline(summary)
    atomic_write_json(out / "theory.json", headline, indent=1)
    return summary


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers worth reading, per experiment."""
    keep = {"order": ("labels", "predicted_half", "simulated_half", "same_order"),
            "extrapolation": ("gammas", "w", "lengths", "error_growth_to_longest"),
            "tradeoff": ("c_critical",),
            "ntk": ("final_distance", "final_loss"),
            "integration": ("gamma", "predicted_half", "simulated_half", "w_predicted",
                            "w_simulated", "eig_abs", "lengths", "test_error")}
    return {n: {k: r[k] for k in keep[n] if k in r} for n, r in summary.items()}


def report_lines(summary: dict[str, Any]) -> list[str]:
    """Human-readable lines summarising a theory run."""
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
