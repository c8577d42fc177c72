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
from baselines.provenance import with_provenance
from baselines.runs import atomic_write_json
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_out_dir, check_seed

from .integration import integration_experiment
from .linear_rnn import teacher_correlations
from .ntk import MODELS, analytic_ntk, init_params, kernel_movement, ntk
from .properties import (
    extrapolation,
    full_extrapolation,
    learning_order,
    order_task,
    orthonormal,
    tradeoff,
)
from .theory_figures import (
    extrapolation_figure,
    integration_figure,
    ntk_figure,
    order_figure,
    tradeoff_figure,
    weights_figure,
)
from .weights import echo_weights, rank_of_w

EXPERIMENTS = ("order", "extrapolation", "tradeoff", "weights", "ntk", "integration")


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

    s, labels = order_task(3)
    res = learning_order(s, labels, steps=3000 if quick else 4000, seed=seed)
    order_figure(res, out / "order.png")
    return {"labels": list(res.labels), "s": res.s, "predicted_half": res.predicted_half,
            "simulated_half": res.simulated_half, "same_order": res.agrees,
            "final_fraction_predicted": res.predicted[-1],
            "final_fraction_simulated": res.simulated[-1]}


def _extrapolation(out: Path, quick: bool, seed: int, progress: bool) -> dict[str, Any]:

    gammas = [0.5, 0.8, 0.9, 1.0, 1.05, 1.1]
    res = extrapolation(gammas, steps=4000 if quick else 20000, draws=5 if quick else 20,
                        seed=seed)
    seeds = [seed] if quick else list(range(seed, seed + 5))
    full = [full_extrapolation([g], seeds, steps=4000 if quick else 20000)
            for g in iterate(gammas, "extrapolation (full GD)", progress)]
    eig = np.concatenate([f.eig for f in full])
    err = np.concatenate([f.error for f in full])
    gain = np.concatenate([f.gain for f in full])
    loss = np.concatenate([f.final_loss for f in full])
    merged = type(full[0])(np.asarray(gammas), full[0].T, full[0].hidden, np.asarray(seeds),
                           full[0].lengths, eig, err, gain, loss)
    extrapolation_figure(res, out / "extrapolation.png", merged)
    summary = asdict(res)
    summary["error_growth_to_longest"] = res.error[:, -1] / res.error[:, 0]
    growth = err[:, :, -1] / err[:, :, 0]
    summary["full_gd"] = {**asdict(merged),
                          "eig_median": np.median(eig, 1), "eig_min": eig.min(1),
                          "eig_max": eig.max(1),
                          "error_growth_median": np.median(growth, 1),
                          "error_growth_min": growth.min(1), "error_growth_max": growth.max(1),
                          "error_longest_median": np.median(err[:, :, -1], 1)}
    return summary


def _weights(out: Path, quick: bool, seed: int) -> dict[str, Any]:

    seeds = [seed, seed + 1] if quick else list(range(seed, seed + 5))
    steps = 1500 if quick else 6000
    echo = echo_weights([0.3, 0.6, 1.0, 2.0], seeds, steps=steps)
    rank = rank_of_w({"fast": (0.3, 0.3, 0.3), "medium": (0.7, 0.7, 0.7),
                      "slow": (0.9, 0.9, 0.9), "mixed": (0.95, 0.7, 0.3)}, seeds, steps=steps)
    weights_figure(echo, rank, out / "weights.png")

    def spread(v: np.ndarray) -> dict[str, Any]:
        return {"median": np.median(v, -1), "min": v.min(-1), "max": v.max(-1)}

    return {"seeds": seeds, "echo": {**asdict(echo), "norm_w_stats": spread(echo.norm_w),
                                     "loss_stats": spread(echo.loss)},
            "rank": {**asdict(rank), "rank_delta_stats": spread(rank.rank_delta),
                     "pr_delta_stats": spread(rank.pr_delta), "rank_stats": spread(rank.rank),
                     "rank0_stats": spread(rank.rank0), "loss_stats": spread(rank.loss)}}


def _tradeoff(out: Path, quick: bool, seed: int) -> dict[str, Any]:

    res = tradeoff(np.linspace(0.0, 2.0, 11 if quick else 41), steps=5000 if quick else 20000,
                   w0=(0.05, 0.5, 0.9))
    tradeoff_figure(res, out / "tradeoff.png")
    d = asdict(res)
    d.pop("landscape")
    return d


def _ntk(out: Path, quick: bool, seed: int, progress: bool) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    r, T = 3, 6
    U, V = orthonormal(rng, r + 1, r), orthonormal(rng, r + 1, r)
    s = np.array([2.0, 1.0, 0.5])[:, None] * 0.8 ** np.arange(T - 1, -1, -1)
    sigma = teacher_correlations(U, V, s)
    scales = (0.3, 1.0) if quick else (0.1, 0.3, 0.6, 1.0)
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    jobs = [(m, sc, sd) for sc in scales for m in MODELS for sd in seeds]
    runs = [kernel_movement(m, sigma, sc, steps=800 if quick else 3000, seed=sd)
            for m, sc, sd in iterate(jobs, "ntk", progress)]
    ntk_figure(runs, out / "ntk.png")
    dev = _closed_form_deviation(rng, r, T)
    table = {f"{m}@{sc:g}": _distance_stats([k for k in runs if k.model == m and k.scale == sc])
             for m in MODELS for sc in scales}
    return {"runs": [asdict(k) for k in runs], "seeds": seeds, "distance": table,
            "analytic_vs_autograd_max_rel": dev}


def _closed_form_deviation(rng: np.random.Generator, r: int, T: int) -> float:
    """The largest relative difference between the closed-form kernel and autograd's, at random
    parameters, over lengths 1, 3 and ``T``."""
    import torch

    dev = 0.0
    for L in (1, 3, T):
        p = init_params("rnn", rng, L, r + 1, 16, r + 1, 1.0)
        x = rng.normal(size=(8, L, r + 1))
        Ka = analytic_ntk(p[0], p[1], p[2], x)
        Ke = ntk("rnn", tuple(torch.as_tensor(q) for q in p), torch.as_tensor(x))
        dev = max(dev, float(np.abs(Ka - Ke).max() / np.abs(Ke).max()))
    return dev


def _distance_stats(rs: list[Any]) -> dict[str, Any]:
    """Final kernel distance over seeds (median, min, max, n) and the median final loss."""
    d = np.array([k.distance[-1] for k in rs])
    return {"median": float(np.median(d)), "min": float(d.min()), "max": float(d.max()),
            "n": len(rs), "final_loss_median": float(np.median([k.loss[-1] for k in rs]))}


INTEGRATION_VARIANTS: dict[str, dict[str, Any]] = {
    "by scale": {"gamma": 0.9, "scales": (1.0, 0.6, 0.3)},
    "by timescale": {"gamma": (0.5, 0.8, 0.95), "scales": (1.0, 1.0, 1.0)},
}


def _integration(out: Path, quick: bool, seed: int) -> dict[str, Any]:

    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    variants: dict[str, Any] = {}
    for name, kw in INTEGRATION_VARIANTS.items():
        runs = []
        for sd in seeds:
            res = integration_experiment(n=1024 if quick else 4096,
                                         steps=1500 if quick else 4000, seed=sd, **kw)
            if sd == seeds[0]:
                integration_figure(res, out / f"integration_{name.replace(' ', '_')}.png",
                                   f"integration {name}: leaks {res.gamma.tolist()}, scales "
                                   f"{res.scales.tolist()} (seed {sd})")
            d = asdict(res)
            for k in ("predicted", "simulated"):
                d[k] = d[k][:: max(1, len(d[k]) // 200)]
            d["train_loss"] = d["train_loss"][:: max(1, len(d["train_loss"]) // 200)]
            d["seed"] = sd
            d["same_order"] = bool((np.argsort(res.predicted_half, kind="stable")
                                    == np.argsort(res.simulated_half, kind="stable")).all())
            runs.append(d)
        variants[name] = {"runs": runs, "same_order": sum(r["same_order"] for r in runs),
                          "n": len(runs)}
    return {"variants": variants, "seeds": seeds}


def run_theory(config: TheoryConfig) -> dict[str, Any]:
    """Run (or reuse) the chosen experiments; returns the headline numbers per experiment."""
    out, quick, seed = config.out, config.quick, config.seed
    out.mkdir(parents=True, exist_ok=True)
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "order": lambda: _order(out, quick, seed),
        "extrapolation": lambda: _extrapolation(out, quick, seed, config.progress),
        "weights": lambda: _weights(out, quick, seed),
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
        result = with_provenance(result)
        atomic_write_json(path, result, indent=None)
        summary[name] = result
    headline = _headline(summary)
    atomic_write_json(out / "theory.json", with_provenance(headline), indent=1)
    return summary


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers worth reading, per experiment."""
    keep = {"order": ("labels", "predicted_half", "simulated_half", "same_order"),
            "extrapolation": ("gammas", "w", "lengths", "error_growth_to_longest"),
            "tradeoff": ("c_critical",),
            "weights": ("seeds",),
            "ntk": ("distance", "analytic_vs_autograd_max_rel"),
            "integration": ("seeds",)}
    return {n: {k: r[k] for k in keep[n] if k in r} for n, r in summary.items()}


def _order_lines(o: dict[str, Any]) -> list[str]:
    return ["order: half-learned step (theory / GD): " + ", ".join(
        f"{lab} {p}/{s}" for lab, p, s in zip(o["labels"], o["predicted_half"],
                                              o["simulated_half"]))
        + f"; same order: {o['same_order']}"]


def _extrapolation_lines(e: dict[str, Any]) -> list[str]:
    lines = ["extrapolation: error growth to the longest length per γ (reduced): " + ", ".join(
        f"{g:g}: {x:.3g}x" for g, x in zip(e["gammas"], e["error_growth_to_longest"]))]
    if "full_gd" in e:
        f = e["full_gd"]
        lines.append("extrapolation, full GD (median [min, max] over seeds): max |eig W| "
                     + ", ".join(f"{g:g}: {m:.3f} [{lo:.3f}, {hi:.3f}]" for g, m, lo, hi in zip(
                         f["gammas"], f["eig_median"], f["eig_min"], f["eig_max"]))
                     + "; error growth " + ", ".join(
                         f"{g:g}: {m:.3g}x" for g, m in zip(f["gammas"],
                                                            f["error_growth_median"])))
    return lines


def _tradeoff_lines(t: dict[str, Any]) -> list[str]:
    return [f"tradeoff: the optimum turns recurrent at c = {t['c_critical']:.4f}"]


def _weights_lines(w: dict[str, Any]) -> list[str]:
    e, r = w["echo"], w["rank"]
    lines = [f"weights, echo task, {route}: ‖W‖₂ median [min, max] per c " + ", ".join(
        f"{c:g}: {m:.2f} [{lo:.2f}, {hi:.2f}]" for c, m, lo, hi in zip(
            e["c"], e["norm_w_stats"]["median"][k], e["norm_w_stats"]["min"][k],
            e["norm_w_stats"]["max"][k])) + f" (n={len(e['seeds'])})"
        for k, route in enumerate(e["routes"])]
    lines.append("weights, rank of W − W0 (teacher modes " + str(r["modes"]) + "): " + ", ".join(
        f"{n}: {m:g} [{lo:g}, {hi:g}]" for n, m, lo, hi in zip(
            r["names"], r["rank_delta_stats"]["median"], r["rank_delta_stats"]["min"],
            r["rank_delta_stats"]["max"])))
    return lines


def _ntk_lines(n: dict[str, Any]) -> list[str]:
    return ["ntk: final kernel distance, median [min, max] over seeds: " + ", ".join(
        f"{k} {v['median']:.3f} [{v['min']:.3f}, {v['max']:.3f}]"
        for k, v in n["distance"].items())
        + f"; closed form vs autograd: {n['analytic_vs_autograd_max_rel']:.1e}"]


def _integration_lines(i: dict[str, Any]) -> list[str]:
    lines = []
    for name, v in i["variants"].items():
        r0 = v["runs"][0]
        halves = "; ".join(f"seed {r['seed']}: theory {r['predicted_half']} / GD "
                           f"{r['simulated_half']}" for r in v["runs"])
        lines.append(f"integration {name} (leaks {r0['gamma']}, scales {r0['scales']}, mode "
                     f"order = channels {r0['order']}): half-learned {halves}; same order "
                     f"in {v['same_order']}/{v['n']} seeds")
    return lines


_REPORTERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "order": _order_lines, "extrapolation": _extrapolation_lines, "tradeoff": _tradeoff_lines,
    "weights": _weights_lines, "ntk": _ntk_lines, "integration": _integration_lines}


def report_lines(summary: dict[str, Any]) -> list[str]:
    """Human-readable lines summarising a theory run (experiments in a fixed order)."""
    return [line for name, lines in _REPORTERS.items() if name in summary
            for line in lines(summary[name])]
