"""Fixed points and periodic orbits tracked across the checkpoints of a training run.

`track_run()` visits the checkpoints of a run directory (oldest first). At each one, for each
input symbol held constant, it finds the fixed points (warm-started from the previous checkpoint's
points plus fresh states from the network's own trajectories), follows one *tracked* point per
symbol by continuation (the point nearest the previous tracked point; at the first checkpoint, the
stable point reached from most initial states) and finds the periodic orbits and aperiodic
(rotating: a torus) trajectories. Rows are written as they come (``tracking.jsonl`` plus one
``.npz`` of fixed points per checkpoint), so an interrupted call resumes at the next checkpoint.

The result, `Tracking`, holds per checkpoint and symbol the tracked point's leading
eigenvalues, the counts of fixed points, stable fixed points and stable orbits, the orbit periods
and the rotation number, and a list of typed `Event` records (each with its offset from the
learning-phase transition). ``Tracking.save``/``Tracking.load`` round-trip it through JSON.
[`analysis.bifurcation`][analysis.bifurcation] classifies each loss of stability.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

import baselines.models as models
from baselines.phases import phases_from_metrics
from baselines.runs import (
    atomic_write_json,
    atomic_write_text,
    checkpoints,
    load_model,
    read_jsonl,
    read_metrics,
)
from ta_envs import make_dataset
from ta_envs.progress import iterate
from ta_envs.validation import InvalidValue, check_float, check_int, check_int_fields

from . import fixed_points, orbits
from .fixed_points import FixedPoints, find_fixed_points, sample_states
from .maps import as_step
from .orbits import find_periodic_orbits


@dataclass(frozen=True)
class TrackConfig:
    """Settings of `track_run()` (per checkpoint and symbol)."""

    fixed_point_states: int = 128  #: fresh initial states for the fixed-point search
    orbit_states: int = 16  #: initial states for the orbit search
    max_period: int = 64
    transient: int = 600
    noise: float = 0.01  #: std of the noise added to sampled states
    spread: float = 0.25  #: fraction of the states drawn across the trajectories' box (saddles)
    adam_steps: int = 200
    eigenvalues: int = 4  #: leading eigenvalues kept per tracked point
    seed: int = 0
    every: int = 1  #: track every n-th checkpoint (always the last)

    def __post_init__(self) -> None:
        check_int_fields(self, ("fixed_point_states", "orbit_states", "max_period", "adam_steps",
                                "eigenvalues", "every"), 1)
        check_int("transient", self.transient, 0)
        check_float("spread", self.spread, 0.0, 1.0)
        check_float("noise", self.noise, 0.0)
        check_int("seed", self.seed, 0)


@dataclass(frozen=True)
class Event:
    """A change between two consecutive tracked checkpoints (``iteration`` is the later one)."""

    #: crossing, appear, vanish, stable_orbit_born, stable_orbit_lost, rotation_born or
    #: tracked_lost
    kind: str
    symbol: int
    iteration: int
    from_transition: int | None = None  #: iteration minus the smoothed transition
    direction: int | None = None  #: crossing: +1 outward, -1 inward
    before: float | None = None  #: crossing: |λ_max| before
    after: float | None = None  #: crossing: |λ_max| after
    count: int | None = None  #: appear/vanish: fixed points gained or lost
    periods: tuple[int, ...] = ()  #: stable_orbit_born: the periods
    rotation: float | None = None  #: rotation_born: the rotation number (turns per step)


@dataclass(frozen=True)
class Tracking:
    """Per-checkpoint series (``C`` checkpoints, ``U`` symbols, ``k`` eigenvalues) and events."""

    run_dir: str
    symbols: list[str]
    iterations: np.ndarray  #: [C]
    eigenvalues: np.ndarray  #: [C, U, k] complex, leading eigenvalues of the tracked point (nan)
    n_fixed: np.ndarray  #: [C, U]
    n_stable: np.ndarray  #: [C, U] stable fixed points
    n_stable_orbits: np.ndarray  #: [C, U]
    orbit_periods: list[list[list[int]]]  #: [C][U] periods of the stable orbits
    rotation: np.ndarray  #: [C, U] median rotation number of aperiodic trajectories (nan: none)
    tracked_stable: np.ndarray  #: [C, U] bool, the tracked point is stable
    tracked_jump: np.ndarray  #: [C, U] distance the tracked point moved since the last checkpoint
    spectral_radius: np.ndarray  #: [C] of the recurrent matrix (nan where not defined)
    val_td_acc: np.ndarray  #: [C] held-out TD accuracy logged at that iteration (nan: none)
    events: list[Event]
    phases: dict[str, Any] = field(default_factory=dict)
    period: int | None = None  #: P of the task's periodic clock

    @property
    def lam_abs(self) -> np.ndarray:
        """[C, U] ``|λ_max|`` of the tracked point (nan where none)."""
        return np.abs(self.eigenvalues[..., 0])

    @property
    def lam_arg(self) -> np.ndarray:
        """[C, U] ``|arg λ_max|`` in radians."""
        return np.abs(np.angle(self.eigenvalues[..., 0]))

    def first(self, kind: str, symbol: int | None = None) -> Event | None:
        """The first event of ``kind`` (for ``symbol`` if given)."""
        return next((e for e in self.events if e.kind == kind and
                     (symbol is None or e.symbol == symbol)), None)

    def _held_from(self, ok: np.ndarray) -> int | None:
        """First iteration from which ``ok [C]`` holds to the last checkpoint."""
        if not len(ok) or not ok[-1]:
            return None
        bad = np.flatnonzero(~ok)
        return int(self.iterations[bad[-1] + 1 if len(bad) else 0])

    def stability_lost_at(self, symbol: int) -> int | None:
        """First iteration from which the tracked point of ``symbol`` stays outside the unit
        circle (``|λ_max| > 1``) to the end."""
        return self._held_from(np.nan_to_num(self.lam_abs[:, symbol]) > 1)

    def stable_points_lost_at(self, symbol: int) -> int | None:
        """First iteration from which ``symbol`` has no stable fixed point left to the end: every
        attractor is then a cycle or a torus."""
        return self._held_from(self.n_stable[:, symbol] == 0)

    def bifurcation_at(self) -> int | None:
        """The earliest `stable_points_lost_at()` over the symbols (None if none)."""
        each = [self.stable_points_lost_at(u) for u in range(len(self.symbols))]
        lost = [x for x in each if x is not None]
        return min(lost) if lost else None

    def stable_points_reached_at(self, symbol: int, n: int) -> int | None:
        """First iteration from which ``symbol`` has at least ``n`` stable fixed points."""
        return self._held_from(self.n_stable[:, symbol] >= n)

    def stable_orbit_at(self, symbol: int) -> int | None:
        """First iteration from which ``symbol`` has a stable periodic orbit to the end."""
        return self._held_from(self.n_stable_orbits[:, symbol] > 0)

    def attractor(self, c: int, u: int) -> str:
        """What symbol ``u`` settles to at checkpoint ``c``: ``"orbit"``, ``"torus"``,
        ``"fixed"`` or ``"none"`` (a stable orbit wins over a torus, a torus over fixed points)."""
        if self.n_stable_orbits[c, u] > 0:
            return "orbit"
        if np.isfinite(self.rotation[c, u]):
            return "torus"
        return "fixed" if self.n_stable[c, u] > 0 else "none"

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (complex eigenvalues as ``[re, im]`` pairs, nan as null)."""
        d: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "eigenvalues":
                v = np.stack([v.real, v.imag], -1)
            if f.name == "events":
                v = [asdict(e) for e in v]
            if isinstance(v, np.ndarray):
                v = (np.where(np.isnan(v), None, v).tolist()  # type: ignore[call-overload]
                     if v.dtype.kind == "f" else v.tolist())
            d[f.name] = v
        return d

    def save(self, path: str | Path) -> Path:
        """Write `to_dict()` as JSON (atomically)."""
        atomic_write_json(path, self.to_dict(), indent=None)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Tracking:
        """Read what `save()` wrote."""
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise InvalidValue(f"{path} is not a saved Tracking: {err}") from None

        def arr(x: Any, dtype: Any = float) -> np.ndarray:
            a = np.array(x, dtype=object)
            return np.where(a == None, np.nan, a).astype(dtype)  # noqa: E711

        ev = arr(d["eigenvalues"])
        kw = dict(d)
        kw["eigenvalues"] = ev[..., 0] + 1j * ev[..., 1]
        kw["iterations"] = np.asarray(d["iterations"], np.int64)
        for k in ("n_fixed", "n_stable", "n_stable_orbits"):
            kw[k] = np.asarray(d[k], np.int64)
        kw["tracked_stable"] = np.asarray(d["tracked_stable"], bool)
        for k in ("rotation", "tracked_jump", "spectral_radius", "val_td_acc"):
            kw[k] = arr(d[k])
        kw["events"] = [Event(**{**e, "periods": tuple(e.get("periods", ()))}) for e in d["events"]]
        return cls(**kw)


def settle(model: torch.nn.Module, inputs: np.ndarray, states: torch.Tensor, steps: int
           ) -> torch.Tensor:
    """``[U * N, S]``: each of the ``N`` states iterated ``steps`` times under each constant input
    (float64)."""
    step = as_step(model, "tracking")
    out = []
    with torch.no_grad():
        for u in torch.as_tensor(inputs, dtype=torch.float64):
            h = states.clone()
            ux = u.expand(len(h), -1)
            for _ in range(steps):
                h = step(h, ux)
            out.append(h[torch.isfinite(h).all(1)])
    return torch.cat(out)


def _checkpoint_row(model: torch.nn.Module, inputs: np.ndarray, states: torch.Tensor,
                    warm: np.ndarray, cfg: TrackConfig, gen: torch.Generator
                    ) -> tuple[FixedPoints, list[dict[str, Any]]]:
    pick = torch.randint(0, len(states), (cfg.orbit_states,), generator=gen)
    # where trajectories settle under each input: the best starts for its stable points
    ends = settle(model, inputs, states[pick], cfg.transient)
    h0 = torch.cat([torch.as_tensor(warm, dtype=torch.float64).reshape(-1, states.shape[-1]),
                    states, ends])
    fp = find_fixed_points(model, inputs, h0, adam_steps=cfg.adam_steps)
    per_symbol = []
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


def checkpoint_generator(seed: int, iteration: int) -> torch.Generator:
    """The generator of one checkpoint's random draws (states, orbit starts), from ``(seed,
    iteration)`` alone: a resumed tracking draws exactly what a straight one does."""
    state = np.random.SeedSequence([seed, iteration]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def _code_digest() -> str:
    """SHA-256 of the analysis code that decides a tracking row (this module, the fixed-point and
    orbit finders, the models)."""
    h = hashlib.sha256()
    for mod in (fixed_points, orbits, models):
        h.update(Path(str(mod.__file__)).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()


def row_key(checkpoint: Path, config: TrackConfig, code: str) -> str:
    """What decides one checkpoint's tracking row: the checkpoint's bytes, the settings and the
    code; a cached row is reused only under the same key."""
    h = hashlib.sha256(Path(checkpoint).read_bytes())
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "every"}  # no effect
    h.update(json.dumps(settings, sort_keys=True).encode())
    h.update(code.encode())
    return h.hexdigest()


def track_run(run_dir: str | Path, out_dir: str | Path | None = None,
              config: TrackConfig = TrackConfig(), progress: bool = True,
              arch: str | None = None, window: tuple[int, int] | None = None) -> Tracking:
    """Track fixed points and orbits over the checkpoints of ``run_dir`` (every
    ``config.every``-th checkpoint, always including the last); partial results go to ``out_dir``
    (default ``run_dir/tracking``) and are reused when the call is repeated: a cached row only
    under the same `row_key()` (the checkpoint's bytes, ``config`` and the analysis code), so
    another run's or another config's rows in ``out_dir`` are recomputed, never returned. ``arch``
    names a user architecture (see [`baselines.runs.load_model()`][baselines.runs.load_model]).

    Args:
        run_dir: a run directory with checkpoints (``train`` or ``native-ppo``).
        out_dir: where rows and fixed points go (default ``run_dir/tracking``).
        config: how many states, the orbit search, the checkpoint stride (``every``), the seed.
        progress: show a progress bar.
        arch: a user architecture ``module:Class`` the checkpoints were made with.
        window: only the checkpoints with ``window[0] <= iteration <= window[1]`` (before the
            ``every`` stride).

    Returns:
        Per checkpoint and input: fixed points, the tracked point's eigenvalues, stable orbits and
        tori; with ``bifurcation_at()`` and the events between checkpoints.

    Raises:
        ValueError: a directory without checkpoints, or bad settings.
    """
    run_dir = Path(run_dir)
    ckpts = checkpoints(run_dir)
    if not ckpts:
        raise InvalidValue(f"{str(run_dir)!r} has no checkpoints (checkpoints/it_*.pt)")
    if window is not None:
        lo, hi = (check_int("window[0]", window[0], 0), check_int("window[1]", window[1], 0))
        ckpts = [c for c in ckpts if lo <= int(c.stem.split("_")[1]) <= hi]
        if not ckpts:
            raise InvalidValue(f"{str(run_dir)!r} has no checkpoint in the window {window}")
    every = config.every
    ckpts = ckpts[::every] + ([ckpts[-1]] if (len(ckpts) - 1) % every else [])
    out = Path(out_dir) if out_dir is not None else run_dir / "tracking"
    out.mkdir(parents=True, exist_ok=True)
    log = out / "tracking.jsonl"
    code = _code_digest()
    keys = {int(ck.stem.split("_")[1]): row_key(ck, config, code) for ck in ckpts}
    done = _cached_rows(log, keys)
    rows: list[dict[str, Any]] = []
    prev_points: np.ndarray | None = None
    for ck in iterate(ckpts, f"tracking {run_dir.name}", progress):
        it = int(ck.stem.split("_")[1])
        npz = out / f"fixed_points_{it:07d}.npz"
        if it in done and npz.exists():
            rows.append(done[it])
            prev_points = FixedPoints.load(npz).points
            continue
        fp, row = _track_checkpoint(ck, it, keys[it], prev_points, config, arch)
        fp.save(npz)
        with log.open("a") as f:
            f.write(json.dumps(row) + "\n")
        rows.append(row)
        prev_points = fp.points
    return assemble(run_dir, out, rows, config.eigenvalues)


def _cached_rows(log: Path, keys: dict[int, str]) -> dict[int, dict[str, Any]]:
    """The rows of ``log`` whose key matches their checkpoint's (by iteration); the log is
    rewritten without a torn last row and without rows of another run, config or code."""
    done_rows = read_jsonl(log) if log.exists() else []
    if done_rows and not log.read_text(encoding="utf-8").endswith("\n"):
        # a torn last row (killed mid-write): keep the complete ones before appending again
        atomic_write_text(log, "".join(json.dumps(r) + "\n" for r in done_rows))
    done = {r["iteration"]: r for r in done_rows if r.get("key") == keys.get(r["iteration"])}
    if len(done) != len(done_rows):  # rows of another run, config or code: dropped, recomputed
        atomic_write_text(log, "".join(json.dumps(r) + "\n" for r in done.values()))
    return done


def _track_checkpoint(ck: Path, it: int, key: str, prev_points: np.ndarray | None,
                      config: TrackConfig, arch: str | None) -> tuple[FixedPoints, dict[str, Any]]:
    """One checkpoint's fixed points (warm-started from the previous checkpoint's) and row."""
    model, task, tcfg = load_model(ck, arch=arch)
    gen = checkpoint_generator(config.seed, it)
    inputs = np.asarray(task.obs_table, dtype=np.float64)
    batch = next(make_dataset(task, batch_size=32, seq_len=tcfg.seq_len, seed=config.seed))
    states = sample_states(model, batch.inputs, config.fixed_point_states, noise=config.noise,
                           generator=gen, spread=config.spread)
    warm = prev_points if prev_points is not None else np.zeros((0, states.shape[1]))
    fp, per_symbol = _checkpoint_row(model, inputs, states, warm, config, gen)
    return fp, {"iteration": it, "key": key,
                "symbols": [str(s) for s in task.automaton.alphabet], "per_symbol": per_symbol}


def _follow(fp: FixedPoints, u: int, prev: np.ndarray | None) -> tuple[int | None, float]:
    """The tracked point of symbol ``u``: nearest ``prev`` (or, to start, the stable point with
    most hits, else the most visited). Returns ``(index or None, distance moved)``."""
    sub = np.flatnonzero(fp.input_index == u)
    if len(sub) == 0:
        return None, np.nan
    if prev is None:
        stable = sub[fp.stability[sub] == "stable"]
        pool = stable if len(stable) else sub
        return int(pool[np.argmax(fp.n_found[pool])]), np.nan
    d = np.abs(fp.points[sub] - prev).max(-1)
    k = int(np.argmin(d))
    return int(sub[k]), float(d[k])


def assemble(run_dir: Path, out: Path, rows: Sequence[dict[str, Any]], k: int = 4) -> Tracking:
    """Build a `Tracking` from the saved rows and fixed points of ``out``."""
    its = np.array([r["iteration"] for r in rows])
    U, C = len(rows[0]["per_symbol"]), len(rows)
    eig = np.full((C, U, k), np.nan + 0j)
    n_fixed, n_stable, n_orb = (np.zeros((C, U), np.int64) for _ in range(3))
    rot, jump = np.full((C, U), np.nan), np.full((C, U), np.nan)
    t_stable = np.zeros((C, U), bool)
    periods: list[list[list[int]]] = []
    tracked: list[np.ndarray | None] = [None] * U
    for c, r in enumerate(rows):
        fp = FixedPoints.load(out / f"fixed_points_{r['iteration']:07d}.npz")
        periods.append([s["stable_orbit_periods"] for s in r["per_symbol"]])
        for u in range(U):
            sub = fp.input_index == u
            n_fixed[c, u] = int(sub.sum())
            n_stable[c, u] = int((fp.stability[sub] == "stable").sum())
            n_orb[c, u] = len(r["per_symbol"][u]["stable_orbit_periods"])
            if r["per_symbol"][u]["rotation"] is not None:
                rot[c, u] = r["per_symbol"][u]["rotation"]
            t, moved = _follow(fp, u, tracked[u])
            if t is None:
                tracked[u] = None
                continue
            tracked[u], jump[c, u] = fp.points[t], moved
            m = min(k, fp.eigenvalues.shape[1])
            eig[c, u, :m] = fp.eigenvalues[t, :m]
            t_stable[c, u] = fp.stability[t] == "stable"
    events = _events(its, eig, n_fixed, n_orb, periods, rot, t_stable)
    metrics = read_metrics(run_dir)
    by_it = {m["it"]: m for m in metrics}

    def series(key: str) -> np.ndarray:
        vals = [by_it.get(int(i), {}).get(key) for i in its]
        return np.array([np.nan if v is None else v for v in vals], float)

    ph = phases_from_metrics(metrics).to_dict()
    tr = ph.get("transition_at")
    events = [Event(**{**asdict(e), "from_transition": None if tr is None else e.iteration - tr})
              for e in events]
    cfg = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").exists() \
        else {}
    period = (cfg.get("task_kwargs") or {}).get("period") or (
        24 if cfg.get("task", "TemporalFlipFlop-v0") == "TemporalFlipFlop-v0" else None)
    return Tracking(str(run_dir), list(rows[0]["symbols"]), its, eig, n_fixed, n_stable, n_orb,
                    periods, rot, t_stable, jump, series("spectral_radius"), series("val_td_acc"),
                    events, ph, period)


def _step_events(u: int, c: int, it: int, lam: np.ndarray, n_fixed: np.ndarray,
                 n_orb: np.ndarray, periods: list[list[list[int]]], rot: np.ndarray
                 ) -> list[Event]:
    """The events of symbol ``u`` between checkpoints ``c - 1`` and ``c`` (iteration ``it``)."""
    events = [Event(kind, u, it, count=int(n)) for kind, n in
              (("appear", n_fixed[c, u] - n_fixed[c - 1, u]),
               ("vanish", n_fixed[c - 1, u] - n_fixed[c, u])) if n > 0]
    a, b = lam[c - 1, u], lam[c, u]
    if np.isfinite(a) and np.isfinite(b) and (a - 1) * (b - 1) < 0:
        events.append(Event("crossing", u, it, direction=1 if b > 1 else -1,
                            before=float(a), after=float(b)))
    if np.isfinite(a) and not np.isfinite(b):
        events.append(Event("tracked_lost", u, it))
    if n_orb[c - 1, u] == 0 and n_orb[c, u] > 0:
        events.append(Event("stable_orbit_born", u, it, periods=tuple(periods[c][u])))
    if n_orb[c - 1, u] > 0 and n_orb[c, u] == 0:
        events.append(Event("stable_orbit_lost", u, it))
    if np.isnan(rot[c - 1, u]) and np.isfinite(rot[c, u]):
        events.append(Event("rotation_born", u, it, rotation=float(rot[c, u])))
    return events


def _events(its: np.ndarray, eig: np.ndarray, n_fixed: np.ndarray, n_orb: np.ndarray,
            periods: list[list[list[int]]], rot: np.ndarray, t_stable: np.ndarray) -> list[Event]:
    lam = np.abs(eig[..., 0])
    C, U = n_fixed.shape
    events = [e for u in range(U) for c in range(1, C)
              for e in _step_events(u, c, int(its[c]), lam, n_fixed, n_orb, periods, rot)]
    events.sort(key=lambda e: (e.iteration, e.kind, e.symbol))
    return events
