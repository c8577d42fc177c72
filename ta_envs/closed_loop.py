"""Closed-loop tasks: the agent's action is an input to the automaton (``IntervalReproduction-v0``).

In every open-loop task the symbol stream is drawn independently of the agent. Here the automaton
reads, at each step, a pair ``cue|action``: the environment chooses the cue (from a per-episode
schedule) and the agent the action, so what the automaton does next depends on the agent. The
environment steps the compiled configuration table live; the semantics are the automaton's
(checked against [`ReferenceStepper`][ta_envs.reference.ReferenceStepper] in the tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from .automaton import Clock, Edge, TimedAutomaton
from .dataset import Batch
from .guards import Atom, Guard
from .validation import InvalidValue, check_int

CUES = ("none", "ready", "set")
ACTIONS = ("wait", "go")


def _guard(*atoms: tuple[str, str, int]) -> Guard:
    return Guard(tuple(Atom(c, op, k) for c, op, k in atoms))


@dataclass(frozen=True, eq=False)
class IntervalTask:
    """Ready-Set-Go as a timed automaton with its cue schedule.

    Each episode: ``ready`` at a step drawn uniformly from ``1..max_ready``, ``set`` an interval
    ``I`` later (uniform in ``min_interval..max_interval``), and the agent must ``go`` exactly ``I``
    steps after ``set`` (within ``tolerance``). The episode ends at the response: a hit (reward 1)
    or a miss (reward 0: a go too early or too late, or no go by ``I + tolerance`` steps after set).
    Symbols are ``cue|action`` (index ``2 * cue + action``); locations ``wait``, ``measure``,
    ``set_k`` (an interval of k was measured), ``hit`` and ``miss``; clocks ``x`` (steps since
    ready) and ``y`` (steps since set). Output 1 (go) only in ``hit``.
    """

    automaton: TimedAutomaton
    min_interval: int
    max_interval: int
    max_ready: int
    tolerance: int
    name: str = "IntervalReproduction-v0"
    params: dict[str, int] = field(default_factory=dict)

    @property
    def episode_length(self) -> int:
        """The longest trial: latest ready, longest interval twice, the tolerance, one step more."""
        return self.max_ready + 2 * self.max_interval + self.tolerance + 2

    def draw(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ready_at [n], interval [n])`` int64 for ``n`` episodes."""
        ready = rng.integers(1, self.max_ready + 1, size=n)
        interval = rng.integers(self.min_interval, self.max_interval + 1, size=n)
        return ready.astype(np.int64), interval.astype(np.int64)

    @staticmethod
    def cues(t: np.ndarray | int, ready: np.ndarray | int, interval: np.ndarray | int
             ) -> np.ndarray:
        """Cue index at step ``t`` of each episode: 1 at ``ready``, 2 at ``ready + interval``."""
        ta = np.asarray(t)
        out: np.ndarray = np.where(ta == ready, 1, np.where(ta == np.add(ready, interval), 2, 0))
        return out.astype(np.int64)

    @staticmethod
    def expert(t: np.ndarray | int, ready: np.ndarray | int, interval: np.ndarray | int
               ) -> np.ndarray:
        """The target action at step ``t``: go (1) exactly ``interval`` steps after set."""
        out: np.ndarray = (np.asarray(t) == np.add(ready, np.multiply(2, interval)))
        return out.astype(np.int64)


def interval_reproduction(min_interval: int = 4, max_interval: int = 12, max_ready: int = 8,
                          tolerance: int = 0) -> IntervalTask:
    """The Ready-Set-Go task (``IntervalReproduction-v0``); see `IntervalTask`.

    Args:
        min_interval: the shortest ready-set interval (steps).
        max_interval: the longest one (at most 256).
        max_ready: ``ready`` comes at a step drawn from ``1..max_ready``.
        tolerance: a go within this many steps of the interval still hits (below min_interval).

    Returns:
        The automaton and its cue schedule.

    Raises:
        ValueError: an argument out of range.
    """
    lo = check_int("min_interval", min_interval, 1)
    hi = check_int("max_interval", max_interval, lo, 256)
    r = check_int("max_ready", max_ready, 1, 256)
    tol = check_int("tolerance", tolerance, 0, lo - 1)
    sym = {(c, a): f"{c}|{a}" for c in CUES for a in ACTIONS}
    ks = range(lo, hi + 1)
    locs = ("wait", "measure", *(f"set_{k}" for k in ks), "hit", "miss")
    edges = [e for c in CUES for e in _cue_edges(c, sym[(c, "wait")], sym[(c, "go")], lo, hi, tol)]
    a = TimedAutomaton(locations=locs, initial="wait", alphabet=tuple(sym.values()),
                       clocks=(Clock("x"), Clock("y")), edges=tuple(edges),
                       outputs=tuple(int(loc == "hit") for loc in locs), num_outputs=2,
                       name="interval_reproduction")
    return IntervalTask(a, lo, hi, r, tol, params=dict(min_interval=lo, max_interval=hi,
                                                        max_ready=r, tolerance=tol))


def _cue_edges(cue: str, wait: str, go: str, lo: int, hi: int, tol: int) -> list[Edge]:
    """The Ready-Set-Go automaton's edges on the symbols (``cue``, wait) and (``cue``, go)."""
    ks = range(lo, hi + 1)
    ready = cue == "ready"
    edges = [Edge("wait", go, "miss"), Edge("measure", go, "miss")]  # a go before set is early
    edges.append(Edge("wait", wait, "measure" if ready else "wait", resets=("x",) if ready else ()))
    if cue == "set":  # the interval is read off clock x
        edges += [Edge("measure", wait, f"set_{k}", _guard(("x", "==", k)), ("y",)) for k in ks]
        edges.append(Edge("measure", wait, "miss", _guard(("x", "<", lo))))
        edges.append(Edge("measure", wait, "miss", _guard(("x", ">", hi))))
    else:
        edges.append(Edge("measure", wait, "measure", resets=("x",) if ready else ()))
    for k in ks:
        edges += _interval_edges(f"set_{k}", wait, go, k, tol)
    for end in ("hit", "miss"):
        edges += [Edge(end, wait, end), Edge(end, go, end)]
    return edges


def _interval_edges(s: str, wait: str, go: str, k: int, tol: int) -> list[Edge]:
    """Location ``s`` (set came, interval ``k``): wait until ``k + tol``, hit within ``tol``."""
    early = k - tol
    hit = [("y", ">=", early)] if early > 0 else []
    edges = [Edge(s, wait, s, _guard(("y", "<", k + tol))),
             Edge(s, wait, "miss", _guard(("y", ">=", k + tol))),
             Edge(s, go, "hit", _guard(*hit, ("y", "<=", k + tol)))]
    if early > 0:
        edges.append(Edge(s, go, "miss", _guard(("y", "<", early))))
    edges.append(Edge(s, go, "miss", _guard(("y", ">", k + tol))))
    return edges


def _terminal(task: IntervalTask) -> np.ndarray:
    """``[C]`` bool: the configuration is ``hit`` or ``miss``."""
    comp = task.automaton.compiled
    ends = [task.automaton.locations.index(n) for n in ("hit", "miss")]
    return np.isin(comp.location, ends)


def _hit(task: IntervalTask) -> np.ndarray:
    """``[C]`` bool: the configuration is ``hit``."""
    hit: np.ndarray = task.automaton.compiled.location == task.automaton.locations.index("hit")
    return hit


class IntervalReproductionEnv(gym.Env[np.ndarray, Any]):
    """Interval reproduction, Ready-Set-Go (``IntervalReproduction-v0``): closed-loop timing.

    ## Description
    A ``ready`` cue, then a ``set`` cue ``I`` steps later (I uniform in ``min_interval ..
    max_interval``); the agent must act (``go``) exactly ``I`` steps after ``set``. The action is
    an input of the automaton: a go at any other time ends the episode as a miss, so what the
    agent observes next depends on what it did (``observations_depend_on_actions = True``). This
    mirrors the Ready-Set-Go interval-reproduction task of Jazayeri & Shadlen (2010) and the RNN
    studies of its neural dynamics (Remington, Narain, Hosseini & Jazayeri 2018). Factory:
    `interval_reproduction()` (``min_interval=4, max_interval=12, max_ready=8,
    tolerance=0``).

    ## Observation and action spaces
    ``Box(0, 1, (3,))``: the one-hot cue of this step (none, ready, set). ``Discrete(2)``:
    0 = wait, 1 = go.

    ## Rewards and episode end
    1 for a go within ``tolerance`` of the interval after set, else 0; the episode terminates at
    the response (hit or miss). ``info``: ``t``, ``target`` (the expert action at this step),
    ``interval``, ``ready_at``, ``set_at``, ``hit``.

    ## Example
    ```pycon
    >>> import gymnasium as gym, ta_envs
    >>> env = gym.make("IntervalReproduction-v0", min_interval=3, max_interval=3, max_ready=1)
    >>> obs, info = env.reset(seed=0)
    >>> info["ready_at"], info["set_at"]   # the interval is 3: go at step 7
    (1, 4)
    >>> [env.step(a)[1] for a in [0] * 7 + [1]][-1]
    1.0
    >>> venv = gym.make_vec("IntervalReproduction-v0", 4, vectorization_mode="vector_entry_point")
    >>> venv.reset(seed=0)[0].shape
    (4, 3)

    ```
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012
    #: The agent's action is an input of the automaton.
    observations_depend_on_actions: ClassVar[bool] = True

    def __init__(self, min_interval: int = 4, max_interval: int = 12, max_ready: int = 8,
                 tolerance: int = 0) -> None:
        self.task = interval_reproduction(min_interval, max_interval, max_ready, tolerance)
        comp = self.task.automaton.compiled
        self._next, self._terminal, self._hit = comp.next_config, _terminal(self.task), \
            _hit(self.task)
        self.observation_space = spaces.Box(0.0, 1.0, (len(CUES),), np.float32)
        self.action_space = spaces.Discrete(len(ACTIONS))
        self._eye = np.eye(len(CUES), dtype=np.float32)
        self._t = -1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw the cue schedule; the first observation (the cue at step 0)."""
        super().reset(seed=seed)
        ready, interval = self.task.draw(self.np_random, 1)
        self._ready, self._interval = int(ready[0]), int(interval[0])
        self._t, self._c = 0, 0
        return self._obs(), self._info(hit=False)

    def _cue(self, t: int) -> int:
        return int(self.task.cues(t, self._ready, self._interval))

    def _obs(self) -> np.ndarray:
        obs: np.ndarray = self._eye[self._cue(self._t)].copy()
        return obs

    def _info(self, hit: bool) -> dict[str, Any]:
        r, i = self._ready, self._interval
        return {"t": self._t, "interval": i, "ready_at": r, "set_at": r + i, "hit": hit,
                "target": int(self._t == r + 2 * i)}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Read ``cue|action``; reward 1 at a hit; the episode ends at the response."""
        if self._t < 0:
            raise InvalidValue("call reset() before step()")
        if self._terminal[self._c]:
            raise InvalidValue("the episode has ended (terminated); call reset()")
        a = int(np.asarray(action))
        if a not in (0, 1) or np.asarray(action).shape != ():
            raise InvalidValue(f"action must be 0 (wait) or 1 (go), got {action!r}")
        info = self._info(hit=False)
        self._c = int(self._next[self._c, 2 * self._cue(self._t) + a])
        self._t += 1
        hit = bool(self._hit[self._c])
        info["hit"] = hit
        done = bool(self._terminal[self._c])
        truncated = not done and self._t >= self.task.episode_length
        return self._obs(), float(hit), done, truncated, info


class IntervalReproductionVectorEnv(VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """Native vector env of ``IntervalReproduction-v0`` (``autoreset_mode`` NEXT_STEP); see
    `IntervalReproductionEnv`. Each env draws its schedules from its own generator."""

    metadata: dict[str, Any] = {"render_modes": [],  # noqa: RUF012
                                "autoreset_mode": AutoresetMode.NEXT_STEP}
    observations_depend_on_actions: ClassVar[bool] = True

    def __init__(self, num_envs: int = 1, min_interval: int = 4, max_interval: int = 12,
                 max_ready: int = 8, tolerance: int = 0) -> None:
        self.num_envs = check_int("num_envs", num_envs, 1)
        one = IntervalReproductionEnv(min_interval, max_interval, max_ready, tolerance)
        self.task = one.task
        self._next, self._terminal, self._hit = one._next, one._terminal, one._hit
        self.single_observation_space = one.observation_space
        self.single_action_space = one.action_space
        self.observation_space = gym.vector.utils.batch_space(one.observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(one.action_space, num_envs)
        self._eye = one._eye
        self._gens: list[np.random.Generator] | None = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (``seed``: one int, spread as ``seed + i``, or one per env)."""
        if isinstance(seed, int):
            seeds: list[int | None] = [seed + i for i in range(self.num_envs)]
        elif seed is None:
            seeds = [None] * self.num_envs
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise InvalidValue(f"seed must give one seed per env ({self.num_envs}), got "
                                   f"{len(seeds)}")
        self._gens = [np.random.default_rng(s) for s in seeds]
        n = self.num_envs
        self._ready, self._interval = np.zeros(n, np.int64), np.zeros(n, np.int64)
        for i in range(n):
            self._new_episode(i)
        self._t = np.zeros(n, np.int64)
        self._c = np.zeros(n, np.int64)
        self._done = np.zeros(n, bool)
        return self._obs(), self._infos(np.zeros(n, bool))

    def _new_episode(self, i: int) -> None:
        assert self._gens is not None
        r, iv = self.task.draw(self._gens[i], 1)
        self._ready[i], self._interval[i] = r[0], iv[0]

    def _obs(self) -> np.ndarray:
        obs: np.ndarray = self._eye[self.task.cues(self._t, self._ready, self._interval)]
        return obs

    def _infos(self, hit: np.ndarray) -> dict[str, Any]:
        return {"t": self._t.copy(), "interval": self._interval.copy(),
                "target": self.task.expert(self._t, self._ready, self._interval), "hit": hit}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        """Step every env; an env that ended at the previous step is reset instead (NEXT_STEP)."""
        if self._gens is None:
            raise InvalidValue("call reset() before step()")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iub" or ((a != 0) & (a != 1)).any():
            raise InvalidValue(f"actions must be {self.num_envs} values in {{0, 1}}, got {a!r}")
        info = self._infos(np.zeros(self.num_envs, bool))
        sym = 2 * self.task.cues(self._t, self._ready, self._interval) + a.astype(np.int64)
        self._c = np.where(self._done, self._c, self._next[self._c, sym])
        self._t = np.where(self._done, self._t, self._t + 1)
        hit = self._hit[self._c] & ~self._done
        term = self._terminal[self._c] & ~self._done
        trunc = ~term & ~self._done & (self._t >= self.task.episode_length)
        for i in np.flatnonzero(self._done):  # autoreset: a fresh episode, no reward
            self._new_episode(int(i))
            self._t[i], self._c[i] = 0, 0
        self._done = term | trunc
        info["hit"] = hit
        return self._obs(), hit.astype(np.float32), term, trunc, info


def expert_batches(task: IntervalTask, batch_size: int, seed: int | None = None
                   ) -> Iterator[Batch]:
    """Supervised batches of whole trials under the expert policy: ``inputs`` the cue one-hots
    ``[B, L, 3]``, ``targets`` the target action ``[B, L]`` (1 only at the go step),
    ``mask_td`` the steps after set up to the end of the response window (where the target
    depends on elapsed time), ``symbols`` the ``cue|action`` indices the automaton reads, and
    ``clocks`` its clock values ``[B, L, 2]`` before each step (``L`` = ``task.episode_length``;
    steps after the trial read cue none and target wait)."""
    check_int("batch_size", batch_size, 1)
    rng = np.random.default_rng(seed)
    L = task.episode_length
    t = np.arange(L)[None, :]
    comp = task.automaton.compiled
    eye = np.eye(len(CUES), dtype=np.float32)
    while True:
        ready, interval = task.draw(rng, batch_size)
        r, i = ready[:, None], interval[:, None]
        cue = task.cues(t, r, i)
        target = task.expert(t, r, i)
        symbols = 2 * cue + target
        configs = np.zeros((batch_size, L), np.int64)
        for k in range(1, L):
            configs[:, k] = comp.next_config[configs[:, k - 1], symbols[:, k - 1]]
        td = (t > r + i) & (t <= r + 2 * i + task.tolerance)
        yield Batch(inputs=eye[cue], targets=target, mask_td=td, mask_ti=~td,
                    theta=np.full((batch_size, L), -1, np.int64), clocks=comp.clocks[configs],
                    symbols=symbols)
