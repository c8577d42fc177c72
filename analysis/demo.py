"""The main job in one command (``ta-envs demo``): one seed of the paper's setting trained, its
fixed points tracked across training, the bifurcation found and typed, the rings drawn, and a
``report.md`` that tells the story with the numbers of this run (about a minute on 2 cores)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baselines.config import TrainConfig
from baselines.figures import learning_curves
from baselines.phases import phases_from_metrics
from baselines.runs import atomic_write_text, checkpoints, load_model, read_metrics
from baselines.train import train
from ta_envs.validation import InvalidValue, check_int, check_out_dir

from .analysis_figures import rings_figure, tracking_figure
from .bifurcation import DEFINITIONS, bifurcation_kind, losses_of_stability
from .subspace import subspace_test
from .tracking import TrackConfig, track_run


@dataclass(frozen=True)
class DemoConfig:
    """Where to write, which seed (2: plateau, a Neimark-Sacker bifurcation at iteration 240 and
    solving at 610, at the commit of the timing study), the
    iteration budget."""

    out: Path
    seed: int = 2
    iterations: int = 2500
    track_every: int = 2
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", check_out_dir("out", self.out))
        check_int("seed", self.seed, 0)
        check_int("iterations", self.iterations, 1)
        check_int("track_every", self.track_every, 1)


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))


def run_demo(config: DemoConfig) -> dict[str, Any]:
    """Train, track, analyse and write ``report.md`` with its figures; returns the key numbers.

    Args:
        config: the seed, budget, output folder and tracking stride.

    Returns:
        The report's numbers: phases, bifurcation, its type, readout accuracy, times.

    Raises:
        ValueError: a bad configuration.
        Interrupted: SIGINT or SIGTERM during training (rerun to resume).
    """
    out = config.out
    if (out / "report.md").exists() and not (out / "run").exists():

        raise InvalidValue(f"{out} holds a report.md that is not a demo's; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig(iterations=config.iterations, seed=config.seed, stop_at_td=0.995,
                      continue_after_stop=50, checkpoint_every=10)
    t0 = time.perf_counter()
    result = train(cfg, out / "run", progress=config.progress)
    train_s = time.perf_counter() - t0
    metrics = read_metrics(out / "run")
    ph = phases_from_metrics(metrics)
    learning_curves([metrics], out / "learning_curves.png",
                    title="tanh RNN(64) on TemporalFlipFlop-v0, P = 24", bold=0,
                    bold_label=f"seed {config.seed}")
    tr = track_run(out / "run", out / "tracking", TrackConfig(every=config.track_every),
                   progress=config.progress)
    losses = losses_of_stability(tr)
    tracking_figure(tr, out / "tracking.png", f"seed {config.seed}: fixed points across training",
                    losses)
    bif = tr.bifurcation_at()
    kind = bifurcation_kind(tr, losses)
    jumps = [s for s in losses if s.kind == "jump"]
    losses = [s for s in losses if s.kind != "jump"]
    model, task, _ = load_model(checkpoints(out / "run")[-1])
    sub = subspace_test(model, task)
    rings_figure(sub, out / "rings.png", f"seed {config.seed}, the solved network")
    wall = time.perf_counter() - t0
    rho = [m["spectral_radius"] for m in metrics if m.get("spectral_radius") is not None]
    lines = [
        "# ta-envs demo: learning time-aware behaviour", "",
        f"64-unit tanh RNN on `TemporalFlipFlop-v0` (P = 24), seed {config.seed}, SGD lr {cfg.lr} "
        f"momentum {cfg.momentum}, orthogonal W_hh, gradient clipping {cfg.grad_clip}, batch "
        f"{cfg.batch} x {cfg.seq_len} steps; {result.iterations} iterations in {result.wall_s:.0f} s "
        f"of training (summed over every session of the run; this call's train() took {train_s:.0f} s "
        f"with its setup), the "
        f"whole demo call {wall:.0f} s. One seed: see the results pages for the spread over 30.",
        "", "## 1. The learning phases", "", "![learning curves](learning_curves.png)", "",
        "| phase | value |", "|---|---|",
        f"| TI accuracy >= 99% at iteration | {ph.ti_solved_at} |",
        f"| TD plateau (iterations) | {ph.plateau_start} - {ph.plateau_end} |",
        f"| mean TD accuracy on the plateau | {_fmt(ph.plateau_td)} |",
        f"| transition (TD >= 75%, smoothed / raw) at iteration | {ph.transition_at} / "
        f"{ph.raw_transition_at} |",
        f"| jump TD 60% -> 90% (iterations) | {ph.jump_start} -> {ph.jump_end} "
        f"(width {ph.jump_width}) |",
        f"| TD solved (>= 99%) | {ph.solved} (iteration {ph.solved_at}) |",
        f"| spectral radius of W_hh, start -> end | {_fmt(rho[0])} -> {_fmt(rho[-1])} |", "",
        "## 2. The bifurcation", "", "![tracking](tracking.png)", "",
        f"Fixed points under each constant input were found at every {10 * config.track_every}th "
        "iteration and followed by continuation. The last stable fixed point is lost at "
        + (f"iteration **{bif}** (transition at {ph.transition_at}): a **{kind}** bifurcation "
           f"({DEFINITIONS[kind]})." if bif is not None and kind is not None else
           "no checkpoint: every input keeps a stable fixed point to the end."),
        "", f"Every loss of stability of a tracked point ({len(losses)}; the tracked point of an "
        "input is followed from checkpoint to checkpoint by continuation):", "",
        "| iteration | input | type | λ before -> after | attractor after |", "|---|---|---|---|---|"]
    for s in losses:
        after = "gone" if s.eigenvalue_after is None else f"{abs(s.eigenvalue_after):.3f}"
        lines.append(f"| {s.iteration} | {tr.symbols[s.symbol]} | {s.kind} | "
                     f"{abs(s.eigenvalue_before):.3f} -> {after} | {s.attractor_after} |")
    if jumps:
        lines += ["", f"Apart from these, tracking jumped {len(jumps)} times ({DEFINITIONS['jump']}), "
                      "at iterations " + ", ".join(str(s.iteration) for s in jumps) + "."]
    R, m = sub.phase_locking.get(1), sub.winding.get(1)
    lines += ["", "## 3. The rings", "", "![rings](rings.png)", "",
              f"In the plane of W_hh's leading complex eigenvector the states of output 1 turn "
              f"{m} times per period (phase locking R = {_fmt(R)}); a linear readout from this 3-D "
              f"subspace gets TD accuracy {_fmt(sub.accuracy['projection']['td'])} against "
              f"{_fmt(sub.accuracy['full_state']['td'])} from the full state."]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    return {"iterations": result.iterations, "bifurcation_at": bif, "kind": kind,
            "transition_at": ph.transition_at, "wall_s": wall}
