"""Fixed points and periodic orbits tracked across the checkpoints of a training run.

:func:`track_run` visits every checkpoint of a run directory (oldest first). At each one, for each
input symbol held constant, it finds the fixed points (warm-started from the previous checkpoint's
points plus fresh states from the network's own trajectories), follows one *tracked* point per
symbol by continuation (the point nearest the previous tracked point; at the first checkpoint, the
point reached from most initial states), and finds the periodic orbits
and aperiodic (rotating) trajectories. Per checkpoint it records ``|λ_max|`` and ``arg λ_max`` of
the tracked point's Jacobian, the number of fixed and stable fixed points, and the stable orbits.

Events, each with its iteration (the later checkpoint of the pair) and its offset from the
learning-phase transition of :func:`baselines.phases.phases_from_metrics`:

- ``crossing``: the tracked point's ``|λ_max|`` crosses the unit circle (``direction`` +1 outward);
- ``appear`` / ``vanish``: the number of fixed points of a symbol grows / shrinks (``count``);
- ``stable_orbit_born`` / ``stable_orbit_lost``: the number of stable periodic orbits goes from 0
  to more / back to 0;
- ``rotation_born``: aperiodic trajectories (a torus, reported by their rotation number) appear.

Summaries: :meth:`Tracking.stability_lost_at` (the tracked point leaves the unit circle for good),
:meth:`Tracking.stable_points_lost_at` (no stable fixed point is left for good: every attractor is
a cycle or a torus) and :meth:`Tracking.bifurcation_at` (the earliest of the latter over symbols).

Results are written as they come (``tracking.jsonl`` plus one ``.npz`` of fixed points per
checkpoint), so an interrupted run resumes at the next checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.phases import phases_from_metrics
from baselines.runs import checkpoints, load_model, read_metrics
from ta_envs import make_dataset
from ta_envs.progress import iterate
from ta_envs.validation import check_int_fields

from .fixed_points import FixedPoints, find_fixed_points, sample_states
from .orbits import find_periodic_orbits


@dataclass(frozen=True)
class TrackConfig:
    """Settings of :func:`track_run` (per checkpoint and symbol)."""

    fixed_point_states: int = 256  #: fresh initial states for the fixed-point search
    orbit_states: int = 32  #: initial states for the orbit search
    max_period: int = 64
    transient: int = 600
    noise: float = 0.01  #: std of the noise added to sampled states
    adam_steps: int = 300
    seed: int = 0

    def __post_init__(self) -> None:
        check_int_fields(self, ("fixed_point_states", "orbit_states", "max_period", "adam_steps"), 1)


@dataclass(frozen=True)
class Tracking:
    """Per-checkpoint series (``C`` checkpoints, ``U`` symbols) and the events between them."""

    run_dir: str
    symbols: list[str]
    iterations: np.ndarray  #: [C]
    lam_abs: np.ndarray  #: [C, U] |λ_max| of the tracked fixed point (nan where none)
    lam_arg: np.ndarray  #: [C, U] arg λ_max in radians
    n_fixed: np.ndarray  #: [C, U]
    n_stable: np.ndarray  #: [C, U] stable fixed points
    n_stable_orbits: np.ndarray  #: [C, U]
    orbit_periods: list[list[list[int]]]  #: [C][U] periods of the stable orbits
    rotation: np.ndarray  #: [C, U] median rotation number of aperiodic trajectories (nan: none)
    spectral_radius: np.ndarray  #: [C] of the recurrent matrix (nan where not defined)
    val_td_acc: np.ndarray  #: [C] held-out TD accuracy logged at that iteration (nan: none)
    events: list[dict[str, Any]]
    phases: dict[str, Any] = field(default_factory=dict)

    def first(self, kind: str, symbol: int | None = None) -> dict[str, Any] | None:
        """The first event of ``kind`` (for ``symbol`` if given)."""
        for e in self.events:
            if e["kind"] == kind and (symbol is None or e["symbol"] == symbol):
                return e
        return None

    def _held_from(self, ok: np.ndarray) -> int | None:
        """First iteration from which ``ok [C]`` holds to the last checkpoint."""
        if not len(ok) or not ok[-1]:
            return None
        bad = np.flatnonzero(~ok)
        return int(self.iterations[bad[-1] + 1 if len(bad) else 0])

    def stability_lost_at(self, symbol: int) -> int | None:
        """First iteration from which the tracked point of ``symbol`` stays outside the unit
        circle (``|λ_max| > 1``) to the end: the bifurcation, if there is one."""
        return self._held_from(np.nan_to_num(self.lam_abs[:, symbol]) > 1)

    def stable_points_lost_at(self, symbol: int) -> int | None:
        """First iteration from which ``symbol`` has no stable fixed point left to the end: every
        attractor is then a cycle or a torus (the bifurcation that ends the plateau)."""
        return self._held_from(self.n_stable[:, symbol] == 0)

    def bifurcation_at(self) -> int | None:
        """The earliest :meth:`stable_points_lost_at` over the symbols (None if none)."""
        lost = [self.stable_points_lost_at(u) for u in range(len(self.symbols))]
        lost = [x for x in lost if x is not None]
        return min(lost) if lost else None

    def stable_points_reached_at(self, symbol: int, n: int) -> int | None:
        """First iteration from which ``symbol`` has at least ``n`` stable fixed points to the end."""
        return self._held_from(self.n_stable[:, symbol] >= n)

    def stable_orbit_at(self, symbol: int) -> int | None:
        """First iteration from which ``symbol`` has a stable periodic orbit to the end."""
        return self._held_from(self.n_stable_orbits[:, symbol] > 0)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, np.ndarray):
                d[k] = np.where(np.isnan(v), None, v).tolist() if v.dtype.kind == "f" else v.tolist()
        return d

    def save(self, path: str | Path) -> Path:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return Path(path)


def _checkpoint_row(model: torch.nn.Module, inputs: np.ndarray, states: torch.Tensor,
                    warm: np.ndarray, cfg: TrackConfig, gen: torch.Generator
                    ) -> tuple[FixedPoints, list[dict[str, Any]]]:
    h0 = torch.cat([torch.as_tensor(warm, dtype=torch.float64).reshape(-1, states.shape[-1]),
                    states])
    fp = find_fixed_points(model, inputs, h0, adam_steps=cfg.adam_steps)
    per_symbol = []
    pick = torch.randint(0, len(states), (cfg.orbit_states,), generator=gen)
    for u in range(len(inputs)):
        orb = find_periodic_orbits(model, inputs[u : u + 1], states[pick],
                                   max_period=cfg.max_period, transient=cfg.transient)
        stable = [o.period for o in orb.orbits if o.stability == "stable"]
        rot = float(np.median(np.abs(orb.rotation_numbers))) if len(orb.rotation_numbers) else None
        per_symbol.append({"stable_orbit_periods": stable,
                           "orbits": [{"period": o.period, "stability": o.stability,
                                       "mu_abs": float(abs(o.multipliers[0]))} for o in orb.orbits],
                           "rotation": rot, "n_aperiodic": int(len(orb.rotation_numbers))})
    return fp, per_symbol


def track_run(run_dir: str | Path, out_dir: str | Path | None = None,
              config: TrackConfig = TrackConfig(), every: int = 1, progress: bool = True
              ) -> Tracking:
    """Track fixed points and orbits over the checkpoints of ``run_dir`` (every ``every``-th
    checkpoint, always including the last); partial results go to ``out_dir`` (default
    ``run_dir/tracking``) and are reused when the call is repeated."""
    run_dir = Path(run_dir)
    ckpts = checkpoints(run_dir)
    if not ckpts:
        raise ValueError(f"{str(run_dir)!r} has no checkpoints (checkpoints/it_*.pt)")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an int >= 1, got {every!r}")
    ckpts = ckpts[::every] + ([ckpts[-1]] if (len(ckpts) - 1) % every else [])
    out = Path(out_dir) if out_dir is not None else run_dir / "tracking"
    out.mkdir(parents=True, exist_ok=True)
    log = out / "tracking.jsonl"
    done = {}
    if log.exists():
        for line in log.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["iteration"]] = row
    gen = torch.Generator().manual_seed(config.seed)
    rows: list[dict[str, Any]] = []
    prev_points: np.ndarray | None = None
    for ck in iterate(ckpts, "tracking", progress):
        it = int(ck.stem.split("_")[1])
        npz = out / f"fixed_points_{it:07d}.npz"
        if it in done and npz.exists():
            rows.append(done[it])
            prev_points = FixedPoints.load(npz).points
            continue
        model, task, tcfg = load_model(ck)
        inputs = np.asarray(task.obs_table, dtype=np.float64)
        batch = next(make_dataset(tcfg.task, batch_size=32, seq_len=tcfg.seq_len,
                                  seed=config.seed, **tcfg.task_kwargs))
        states = sample_states(model, batch.inputs, config.fixed_point_states, noise=config.noise,
                               generator=gen)
        warm = prev_points if prev_points is not None else np.zeros((0, states.shape[1]))
        fp, per_symbol = _checkpoint_row(model, inputs, states, warm, config, gen)
        fp.save(npz)
        row = {"iteration": it, "symbols": [str(s) for s in task.automaton.alphabet],
               "per_symbol": per_symbol}
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
        prev_points = fp.points
    return _assemble(run_dir, out, rows)


def _assemble(run_dir: Path, out: Path, rows: Sequence[dict[str, Any]]) -> Tracking:
    its = np.array([r["iteration"] for r in rows])
    U = len(rows[0]["per_symbol"])
    C = len(rows)
    lam_abs = np.full((C, U), np.nan)
    lam_arg = np.full((C, U), np.nan)
    n_fixed = np.zeros((C, U), np.int64)
    n_stable = np.zeros((C, U), np.int64)
    n_orb = np.zeros((C, U), np.int64)
    rot = np.full((C, U), np.nan)
    periods: list[list[list[int]]] = []
    events: list[dict[str, Any]] = []
    tracked: list[np.ndarray | None] = [None] * U
    for c, r in enumerate(rows):
        fp = FixedPoints.load(out / f"fixed_points_{r['iteration']:07d}.npz")
        periods.append([s["stable_orbit_periods"] for s in r["per_symbol"]])
        for u in range(U):
            sub = np.flatnonzero(fp.input_index == u)
            n_fixed[c, u] = len(sub)
            n_stable[c, u] = int((fp.stability[sub] == "stable").sum())
            n_orb[c, u] = len(r["per_symbol"][u]["stable_orbit_periods"])
            if r["per_symbol"][u]["rotation"] is not None:
                rot[c, u] = r["per_symbol"][u]["rotation"]
            if c:
                for kind, n in (("appear", n_fixed[c, u] - n_fixed[c - 1, u]),
                                ("vanish", n_fixed[c - 1, u] - n_fixed[c, u])):
                    if n > 0:
                        events.append({"kind": kind, "symbol": u, "iteration": int(r["iteration"]),
                                       "count": int(n)})
            if len(sub) == 0:
                tracked[u] = None
                continue
            if tracked[u] is None:  # start (or restart): the most-visited point
                t = int(sub[np.argmax(fp.n_found[sub])])
            else:  # continuation: the point nearest the previous tracked point
                t = int(sub[np.argmin(np.abs(fp.points[sub] - tracked[u]).max(-1))])
            tracked[u] = fp.points[t]
            lam = fp.eigenvalues[t, 0]
            lam_abs[c, u], lam_arg[c, u] = abs(lam), abs(np.angle(lam))
    for u in range(U):
        for c in range(1, C):
            a, b = lam_abs[c - 1, u], lam_abs[c, u]
            if np.isfinite(a) and np.isfinite(b) and (a - 1) * (b - 1) < 0:
                events.append({"kind": "crossing", "symbol": u, "iteration": int(its[c]),
                               "direction": 1 if b > 1 else -1, "from": float(a), "to": float(b)})
            if n_orb[c - 1, u] == 0 and n_orb[c, u] > 0:
                events.append({"kind": "stable_orbit_born", "symbol": u, "iteration": int(its[c]),
                               "periods": periods[c][u]})
            if n_orb[c - 1, u] > 0 and n_orb[c, u] == 0:
                events.append({"kind": "stable_orbit_lost", "symbol": u, "iteration": int(its[c])})
            if np.isnan(rot[c - 1, u]) and np.isfinite(rot[c, u]):
                events.append({"kind": "rotation_born", "symbol": u, "iteration": int(its[c]),
                               "rotation": float(rot[c, u])})
    metrics = read_metrics(run_dir)
    by_it = {m["it"]: m for m in metrics}
    def series(key: str) -> np.ndarray:
        vals = [by_it.get(int(i), {}).get(key) for i in its]
        return np.array([np.nan if v is None else v for v in vals], float)

    rho, td = series("spectral_radius"), series("val_td_acc")
    ph = phases_from_metrics(metrics).to_dict()
    tr = ph.get("transition_at")
    events.sort(key=lambda e: (e["iteration"], e["kind"]))
    for e in events:
        e["from_transition"] = None if tr is None else e["iteration"] - tr
    return Tracking(str(run_dir), list(rows[0]["symbols"]), its, lam_abs, lam_arg, n_fixed,
                    n_stable, n_orb, periods, rot, rho, td, events, ph)
