"""An intervention on the bifurcation: does keeping every input's fixed point stable block,
slow or leave TD learning alone? (``ta-envs study intervention``).

For each seed of a timing record that lost its last stable fixed point and solved, the run is
re-trained from its recorded configuration to the checkpoint ``b - 10`` before its recorded
bifurcation ``b`` (the last checkpoint with a stable point). From there two arms continue for
the same number of iterations on the *same* batches (the data stream is restored with the
checkpoint):

- ``control``: training unchanged;
- ``stable``: the task loss plus ``weight · Σ_u relu(ρ_u − (1 − margin))²``, where ``ρ_u`` is the
  leading ``|λ|`` of the step Jacobian at input ``u``'s tracked fixed point (found at the start
  from the checkpoint's most visited stable point, then followed by Newton's method every
  iteration, held fixed in the gradient). The penalty keeps each tracked point stable; it does not
  forbid other attractors.

Per arm and seed: TD accuracy every 10 iterations, the first evaluation with TD >= 0.99 (the
iterations it took from the start, censored when never), and the largest ``ρ`` over the arm with
the iterations spent above 1 (did the arm keep its points stable?).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from baselines.config import TrainConfig
from baselines.provenance import provenance
from baselines.runs import atomic_write_json, checkpoint_path
from baselines.train import Session, train
from baselines.workers import run_jobs
from ta_envs.progress import iterate
from ta_envs.validation import InvalidType, InvalidValue, check_float, check_int, check_out_dir

from .fixed_points import find_fixed_points, sample_states
from .study import stats


@dataclass(frozen=True)
class Arm:
    """One arm of one seed: its TD curve and how stable its tracked points stayed."""

    run: str
    arm: str  #: ``control`` or ``stable``
    start: int  #: the checkpoint the arm continued from (``b - 10``)
    solved_after: int | None  #: iterations from ``start`` to the first TD >= 0.99 (None: never)
    final_td: float
    rho_max: float  #: the largest tracked ρ over the arm (over inputs and iterations)
    above_one: int  #: iterations in which some tracked ρ was above 1
    newton_failures: int  #: iterations in which a tracked point was not found again
    curve: list[list[float]]  #: ``[iterations from start, held-out TD accuracy]``


class StabilityPenalty:
    """``weight · Σ_u relu(ρ_u − (1 − margin))²`` at each input's tracked fixed point (see the
    module); ``rho`` holds the last values, ``failures`` counts lost points."""

    def __init__(self, model: nn.Module, inputs: Tensor, points: Tensor, weight: float,
                 margin: float) -> None:
        if not hasattr(model, "step_jacobian"):
            raise InvalidType(f"{type(model).__name__} has no closed-form step_jacobian; the "
                              "stability penalty needs one (the built-in rnn, gru and lstm)")
        self.inputs, self.points = inputs, points.clone()
        self.weight, self.margin = weight, margin
        self.rho = torch.zeros(len(inputs))
        self.failures = 0

    def _follow(self, module: nn.Module) -> None:
        """Newton's method from the last points (5 steps, no gradient)."""
        model: Any = module
        eye = torch.eye(self.points.shape[1], dtype=self.points.dtype)
        with torch.no_grad():
            h = self.points
            for _ in range(5):
                r = model.step(h, self.inputs) - h
                J = model.step_jacobian(h, self.inputs)
                h = h - torch.linalg.solve(J - eye, r[..., None])[..., 0]
            ok = ((model.step(h, self.inputs) - h).abs().amax(1) < 1e-5) & \
                torch.isfinite(h).all(1)
        self.failures += int((~ok).any())
        self.points = torch.where(ok[:, None], h, self.points)

    def __call__(self, module: nn.Module) -> Tensor:
        """The penalty at the points followed to ``module``'s current weights (and ``rho``)."""
        self._follow(module)
        model: Any = module
        J = model.step_jacobian(self.points, self.inputs)
        rho = torch.linalg.eigvals(J).abs().amax(-1)
        self.rho = rho.detach()
        if self.weight == 0:
            return torch.zeros((), dtype=J.dtype)
        return self.weight * torch.relu(rho - (1 - self.margin)).pow(2).sum()


def _start_points(session: Session, seed: int) -> tuple[Tensor, Tensor]:
    """Each input's most visited stable fixed point of the checkpoint's model."""
    model = session.model
    inputs = torch.tensor(np.asarray(session.task.obs_table), dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    states = sample_states(model, session.val["inputs"][:32], 128, noise=0.01, generator=gen,
                           spread=0.25)
    fp = find_fixed_points(model, inputs.double(), states)
    pts = []
    for u in range(len(inputs)):
        idx = np.flatnonzero((fp.input_index == u) & (fp.stability == "stable"))
        if not len(idx):
            raise InvalidValue(f"input {u} has no stable fixed point at the start checkpoint")
        pts.append(fp.points[idx[np.argmax(fp.n_found[idx])]])
    return inputs, torch.as_tensor(np.stack(pts), dtype=torch.float32)


def _arm(config: TrainConfig, start_ckpt: Path, run: str, arm: str, iterations: int,
         weight: float, margin: float) -> Arm:
    session = Session.build(config)
    start, _ = session.restore(start_ckpt)
    inputs, points = _start_points(session, config.seed)
    pen = StabilityPenalty(session.model, inputs, points, weight if arm == "stable" else 0.0,
                           margin)
    curve, rho_max, above, solved = [], 0.0, 0, None
    for k in range(1, iterations + 1):
        session.step(start + k, None, penalty=pen)
        rho_max = max(rho_max, float(pen.rho.max()))
        above += int(bool((pen.rho > 1).any()))
        if k % config.eval_every == 0:
            td = float(session.evaluate()["val_td_acc"])
            curve.append([k, td])
            if solved is None and td >= 0.99:
                solved = k
    return Arm(run, arm, start, solved, curve[-1][1] if curve else float("nan"), rho_max, above,
               pen.failures, curve)


def _seed_job(job: tuple[dict[str, Any], dict[str, Any], str, int, float, float]
              ) -> list[dict[str, Any]]:
    config, record, runs, iterations, weight, margin = job
    b = int(record["bifurcation_at"])
    start = max(10, b - 10)
    cfg = replace(TrainConfig.from_dict(config), seed=int(record["run"].split("_")[1]),
                  iterations=start, stop_at_td=None, continue_after_stop=0)
    run_dir = Path(runs) / record["run"]
    train(cfg, run_dir, progress=False)
    return [asdict(_arm(cfg, checkpoint_path(run_dir, start), record["run"], arm, iterations,
                        weight, margin)) for arm in ("control", "stable")]


def intervention(timing_json: str | Path, runs: str | Path, out: str | Path, seeds: int = 10,
                 iterations: int = 600, weight: float = 100.0, margin: float = 0.05,
                 workers: int = 1, progress: bool = True) -> dict[str, Any]:
    """Run both arms on the first ``seeds`` bifurcated, solved seeds of a timing record; write
    ``out/intervention.json`` (with provenance) and return its summary.

    Args:
        timing_json: a ``timing.json`` written by ``ta-envs study timing``.
        runs: where the runs up to each start checkpoint go (reused).
        out: where ``intervention.json`` goes.
        seeds: how many seeds (the first bifurcated seeds that solved in the record).
        iterations: iterations each arm trains from its start checkpoint.
        weight: the penalty's weight.
        margin: the penalty acts once ρ exceeds ``1 - margin``.
        workers: seeds at a time.
        progress: show a progress bar.

    Returns:
        Per arm: seeds solved, iterations to solve (median [IQR] over the solved, n censored),
        final TD accuracy, and how many seeds kept every tracked ρ below 1.

    Raises:
        ValueError: a record without runs, or bad settings.
    """
    out_dir = check_out_dir("out", out)
    check_int("seeds", seeds, 1)
    check_int("iterations", iterations, 10)
    check_float("weight", weight, 0.0)
    check_float("margin", margin, 0.0, 1.0)
    record = json.loads(Path(timing_json).read_text())
    if not {"config", "runs"} <= set(record):
        raise InvalidValue(f"{timing_json} is not a timing study record (config, runs)")
    chosen = [r for r in record["runs"]
              if r.get("bifurcation_at") is not None and r["phases"]["solved"]][:seeds]
    jobs = [(record["config"], r, str(runs), iterations, weight, margin) for r in chosen]
    if workers > 1:
        results = run_jobs(_seed_job, jobs, workers=workers, desc="intervention",
                           show_progress=progress)
    else:
        results = [_seed_job(j) for j in iterate(jobs, "intervention", progress)]
    arms = [Arm(**a) for pair in results for a in pair]
    summary = {name: summarise_arm([a for a in arms if a.arm == name])
               for name in ("control", "stable")}
    atomic_write_json(out_dir / "intervention.json", {
        "record": str(timing_json), "iterations": iterations, "weight": weight,
        "margin": margin, "summary": summary, "arms": [asdict(a) for a in arms],
        "provenance": provenance()})
    return summary


def summarise_arm(arms: Sequence[Arm]) -> dict[str, Any]:
    """Seeds, solved, iterations to solve over the solved (median [IQR], n censored), final TD,
    and seeds whose tracked points all stayed at ρ <= 1."""
    solved = [a.solved_after for a in arms if a.solved_after is not None]
    return {"seeds": len(arms), "solved": len(solved), "censored": len(arms) - len(solved),
            "iterations_to_solve": stats(solved),
            "final_td": stats([a.final_td for a in arms]),
            "kept_stable": sum(a.above_one == 0 for a in arms),
            "rho_max": stats([a.rho_max for a in arms]),
            "newton_failures": sum(a.newton_failures for a in arms)}
