"""Gymnasium envs for timed-automaton tasks: the single env and its native NumPy vector env, side by
side (the layout of gymnasium's ``cartpole.py``), plus one documented subclass pair per registered id.

Both draw each episode's symbols at reset (one uniform double per step from the env's generator; the
stream does not depend on actions) and precompute the episode with the compiled tables, so a step is a
few array reads. Vector env ``i`` reset with seed ``s`` reproduces the single env reset with ``s + i``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .catalog import make_task
from .render import frame, timeline
from .simulate import rollout
from .tasks import Task
from .validation import InvalidValue, check_bool, check_bytes, check_int, check_seed

_ACTION_KINDS = "iu"
RENDER_MODES = (None, "ansi", "rgb_array")


def task_spaces(task: Task, observe_clock: bool) -> tuple[spaces.Box, spaces.Space[Any]]:
    """The observation space (inputs, and the clocks scaled to [0, 1] if observed) and the action
    space (``Discrete(K)``, or ``MultiBinary(N)`` for binary target channels) of a task."""
    obs = task.obs_table
    lo, hi = obs.min(axis=0), obs.max(axis=0)
    if observe_clock:
        X = len(task.automaton.clocks)
        lo, hi = np.concatenate([lo, np.zeros(X, np.float32)]), np.concatenate(
            [hi, np.ones(X, np.float32)])
    obs_space = spaces.Box(lo.astype(np.float32), hi.astype(np.float32), dtype=np.float32)
    tc = task.target_channels
    if tc is None:
        act: spaces.Space[Any] = spaces.Discrete(task.automaton.num_classes)
    elif tc.min() >= 0 and tc.max() <= 1:
        act = spaces.MultiBinary(tc.shape[1])
    else:
        act = spaces.MultiDiscrete(tc.max(axis=0) + 1)
    return obs_space, act


class _ActionCode:
    """Multi-channel actions as mixed-radix codes: ``code = sum(a[c] * radix[c])``; ``classes[code]``
    is the output class whose target channels equal the action (-1 if none)."""

    def __init__(self, space: spaces.Space[Any], target_channels: np.ndarray) -> None:
        if isinstance(space, spaces.MultiBinary):
            nvec = np.full(space.shape, 2, np.int64)
        elif isinstance(space, spaces.MultiDiscrete):
            nvec = np.asarray(space.nvec, np.int64)
        else:
            raise TypeError(f"multi-channel actions need MultiBinary or MultiDiscrete, got {space}")
        self.nvec = nvec
        self.radix = np.concatenate([np.cumprod(nvec[::-1])[::-1][1:], [1]]).astype(np.int64)
        self.classes = np.full(int(np.prod(nvec)), -1, dtype=np.int64)
        self.classes[target_channels @ self.radix] = np.arange(len(target_channels))
        self.radix_list = self.radix.tolist()
        self.nvec_list = nvec.tolist()

    def one(self, action: Any) -> int:
        """Class of one action (``-1``: valid but no class); ``ValueError`` if invalid."""
        a = np.asarray(action)
        if a.dtype.kind == "f" and a.shape == self.nvec.shape and np.all(a == np.round(a)):
            a = a.astype(np.int64)  # SB3 hands MultiBinary actions over as floats 0.0/1.0
        if a.shape != self.nvec.shape or a.dtype.kind not in "iub":
            raise InvalidValue(f"action must be an int array of shape {self.nvec.shape} with "
                               f"entries in [0, nvec) = {self.nvec_list}, got {action!r}")
        code = 0
        for v, n, r in zip(a.tolist(), self.nvec_list, self.radix_list):
            if not 0 <= v < n:
                raise InvalidValue(f"action entries must be in [0, {n - 1}], got {action!r}")
            code += int(v) * r
        return int(self.classes[code])

    def many(self, a: np.ndarray) -> np.ndarray:
        """Classes of ``[num_envs, N]`` integer actions (validated)."""
        if a.min(initial=0) < 0 or (a >= self.nvec).any():
            raise InvalidValue(f"action entries must be in [0, nvec) = {self.nvec_list}")
        code = a[:, 0] * np.int64(self.radix_list[0])  # one column at a time (N is small)
        for c in range(1, len(self.radix_list)):
            code += a[:, c] * np.int64(self.radix_list[c])
        return self.classes.take(code)


def _episodes(task: Task, symbols: np.ndarray, observe_clock: bool, compact: np.ndarray
              ) -> dict[str, np.ndarray]:
    """Precompute episodes for time-major ``symbols [L, n]`` (``compact``: the same symbols in
    the bank's small dtype): observations ``[L+1, n, D]`` (the last row is the all-zero terminal
    observation), targets, TD flags, Θ, clocks and symbols ``[L, n, ...]``. Under a schedule Θ and
    the clocks depend on t only: they are read-only broadcast views, not copies."""
    r = rollout(task, symbols, time_major=True, check=False, fresh=False)
    L, n = symbols.shape
    D = task.obs_table.shape[1]
    X = len(task.automaton.clocks) if observe_clock else 0
    obs = np.empty((L + 1, n, D + X), dtype=np.float32)
    obs[L] = 0.0
    if X:
        obs[:L, :, :D] = r.inputs
        cmax = np.maximum(np.asarray(task.automaton.compiled.clock_max, np.float32), 1.0)
        obs[:L, :, D:] = r.clocks / cmax
    else:
        obs[:L] = r.inputs
    return {"obs": obs, "targets": r.targets, "classes": r.classes, "td": r.mask_td,
            "theta": r.theta, "clocks": r.clocks, "symbols": compact.copy()}


def _step_bytes(task: Task, observe_clock: bool) -> int:
    """Bytes one env-step of a precomputed episode takes (observation, target, class, TD flag,
    Θ, clocks, symbol)."""
    D, X = int(task.obs_table.shape[1]), len(task.automaton.clocks)
    N = 0 if task.target_channels is None else int(task.target_channels.shape[1])
    return 4 * (D + (X if observe_clock else 0)) + 8 * max(N, 1) + 8 + 1 + 8 + 8 * X + 1


def _env_task(task: Any, default_id: str | None, render_mode: str | None, observe_clock: bool,
              task_kwargs: dict[str, Any]) -> Task:
    """Validate the constructor arguments shared by both env classes; build the task."""
    if render_mode not in RENDER_MODES:
        raise InvalidValue(f"render_mode must be one of {list(RENDER_MODES)}, got {render_mode!r}")
    check_bool("observe_clock", observe_clock)
    chosen = task if task is not None else default_id
    if chosen is None:
        raise InvalidValue("task is required: a registered id, a Task or an automaton")
    return make_task(chosen, **task_kwargs)


INFO_KEYS = ("t", "target", "time_dependent", "theta", "clocks")


def _check_info_keys(keys: Sequence[str] | None) -> tuple[str, ...] | None:
    """``info_keys``: None (every key) or a subset of `INFO_KEYS` (a lighter ``info``, e.g.
    for ``SyncVectorEnv``, which merges every key of every env at every step)."""
    if keys is None:
        return None
    if isinstance(keys, str) or not all(k in INFO_KEYS for k in keys):
        raise InvalidValue(f"info_keys must be None or a list of keys among {list(INFO_KEYS)}, "
                           f"got {keys!r}")
    return tuple(keys)


def _check_options(options: Mapping[str, Any] | None, allowed: Sequence[str]) -> None:
    if options and set(options) - set(allowed):
        raise InvalidValue(f"unknown reset options {sorted(set(options) - set(allowed))}; "
                           f"allowed: {list(allowed)}")


class TaskEnv(gym.Env[np.ndarray, Any]):
    """A timed-automaton task as a single Gymnasium env (see the registered subclasses' cards).

    ``TaskEnv(task, render_mode=None, observe_clock=False, **task_kwargs)``: ``task`` is a registered
    id, a [`Task`][ta_envs.tasks.Task] or an automaton (object, dict or JSON path). What every
    open-loop id shares:

    ## Observation space
    ``Box(0, 1, (|Σ|,), float32)``: one-hot of the current symbol. With ``observe_clock=True`` each
    clock is appended, divided by its largest value (the fully observable control). The observation
    returned with ``terminated=True`` is all zeros (there is no next symbol).

    ## Rewards
    1.0 when the action equals the automaton's output for this step, else 0.0.

    ## Starting state
    Location 0, every clock 0; the episode's symbols are drawn i.i.d. at ``reset(seed=...)``.

    ## Episode end
    ``terminated=True`` after ``episode_length`` steps; never truncated.

    ## Info
    From ``step``: ``target`` (the correct action), ``time_dependent`` (the step is TD), ``theta``
    (Θ(t), -1 if undefined), ``clocks`` (name -> value read by this step's guards; an unbounded clock
    saturates at 1 + its largest guard constant), ``t``. From ``reset``: ``t``, ``theta``, ``clocks``
    of the first step.

    ## Arguments
    ``render_mode`` (None, ``"ansi"``: the recent timeline with TD/TI marks, or ``"rgb_array"``: the
    same as a ``uint8`` frame), ``observe_clock``, ``info_keys`` (None: every key; a subset of
    ``("t", "target", "time_dependent", "theta", "clocks")`` for a lighter ``info``, e.g. under
    ``SyncVectorEnv``, which merges every key at every step), ``info_arrays`` (True: ``info`` values
    as NumPy arrays, ``clocks`` as ``[X]``, which TorchRL's ``default_info_dict_reader`` needs to
    carry ``time_dependent`` and ``target``), and the task kwargs of the factory named above (an
    unknown kwarg raises ``TypeError``).

    ## Version History
    * v0: initial version.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012
    task_id: ClassVar[str | None] = None
    #: Whether an action can change a later observation. False for every task here: the symbol
    #: stream is drawn independently of the agent, and an action only decides its own reward, so
    #: a learner may read a whole episode's observations before choosing its actions
    #: ([`TaskVectorEnv.episode_observations()`][ta_envs.envs.TaskVectorEnv.episode_observations]).
    observations_depend_on_actions: ClassVar[bool] = False

    def __init__(self, task: Any = None, *, render_mode: str | None = None,
                 observe_clock: bool = False, info_keys: Sequence[str] | None = None,
                 info_arrays: bool = False, **task_kwargs: Any) -> None:
        self.task = _env_task(task, self.task_id, render_mode, observe_clock, task_kwargs)
        self._info_keys = _check_info_keys(info_keys)
        #: ``info`` values as NumPy arrays (``clocks`` as ``[X]``), e.g. for TorchRL's info reader
        self._info_arrays = check_bool("info_arrays", info_arrays)
        self.render_mode = render_mode
        self.observe_clock = observe_clock
        self.observation_space, self.action_space = task_spaces(self.task, observe_clock)
        check_bytes(f"episode_length={self.task.episode_length}",
                    self.task.episode_length * _step_bytes(self.task, observe_clock),
                    "an episode is precomputed at reset; lower episode_length")
        self._names = [c.name for c in self.task.automaton.clocks]
        self._L = int(self.task.episode_length)
        self._multi = self.task.target_channels is not None
        self._K = self.task.automaton.num_classes
        if self.task.target_channels is not None:
            self._code = _ActionCode(self.action_space, self.task.target_channels)
        self._t = -1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``options={'symbols': [...]}`` fixes the input sequence."""
        super().reset(seed=seed)
        _check_options(options, ())
        sym = self.task.sample_symbols(self.np_random, (self._L, 1))
        ep = _episodes(self.task, sym, self.observe_clock, sym)
        self._obs = ep["obs"][:, 0]
        self._targets = ep["targets"][:, 0] if self._multi else ep["targets"][:, 0].tolist()
        self._classes = ep["classes"][:, 0].tolist()
        self._td = ep["td"][:, 0].tolist()
        self._theta = ep["theta"][:, 0].tolist()
        self._clocks = ep["clocks"][:, 0].tolist()
        self._symbols = ep["symbols"][:, 0]
        self._actions: list[Any] = [None] * self._L
        self._action_classes: list[int | None] = [None] * self._L
        self._t = 0
        info = {"t": 0, "theta": self._theta[0], "clocks": dict(zip(self._names, self._clocks[0]))}
        if self._info_keys is not None:
            info = {k: v for k, v in info.items() if k in self._info_keys}
        return self._obs[0].copy(), self._format(info)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Read the next symbol; reward 1.0 if ``action`` equals the target."""
        t = self._t
        if t < 0:
            raise RuntimeError("call reset() before step()")
        if t >= self._L:
            raise RuntimeError("the episode has terminated; call reset()")
        if self._multi:
            a_class = self._code.one(action)
            reward = 1.0 if a_class == self._classes[t] else 0.0
            a = np.asarray(action)
            target = self._targets[t].copy()
        else:
            if type(action) is not int:
                a_arr = np.asarray(action)
                if a_arr.shape != () or a_arr.dtype.kind not in _ACTION_KINDS:
                    raise InvalidValue(f"action must be an int in [0, {self._K - 1}], got {action!r}")
                action = int(a_arr)
            if not 0 <= action < self._K:
                raise InvalidValue(f"action must be an int in [0, {self._K - 1}], got {action!r}")
            a = a_class = action
            target = self._targets[t]
            reward = 1.0 if a == target else 0.0
        self._actions[t] = a
        self._action_classes[t] = a_class
        self._t = t + 1
        keys = self._info_keys
        if keys is None:
            info = {"t": t, "target": target, "time_dependent": self._td[t],
                    "theta": self._theta[t], "clocks": dict(zip(self._names, self._clocks[t]))}
        else:
            info = {k: self._info_value(k, t, target) for k in keys}
        return self._obs[t + 1].copy(), reward, self._t == self._L, False, self._format(info)

    def _format(self, info: dict[str, Any]) -> dict[str, Any]:
        if not self._info_arrays:
            return info
        return {k: np.asarray(list(v.values()) if isinstance(v, dict) else v)
                for k, v in info.items()}

    def _info_value(self, key: str, t: int, target: Any) -> Any:
        if key == "clocks":
            return dict(zip(self._names, self._clocks[t]))
        return {"t": t, "target": target, "time_dependent": self._td[t],
                "theta": self._theta[t]}[key]

    def render(self) -> str | np.ndarray | None:
        """The current step as text (``ansi``) or an image (``rgb_array``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; use render_mode='ansi' or "
                            "'rgb_array'")
            return None
        if self.render_mode == "rgb_array":
            hi = max(self._t, 0)
            if hi == 0:
                return frame([], [], [])
            return frame(self._symbols[:hi], self._classes[:hi], self._td[:hi],
                         actions=self._action_classes[:hi], theta=self._theta[:hi])
        if self._t <= 0:
            return "(no step taken yet)\n"
        lo, hi = max(0, self._t - 48), self._t
        alphabet = self.task.automaton.alphabet
        return timeline([alphabet[s] for s in self._symbols[lo:hi]], self._targets[lo:hi],
                        self._td[lo:hi], actions=self._actions[lo:hi], theta=self._theta[lo:hi],
                        start=lo)


class TaskVectorEnv(VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """Native NumPy vector env of a timed-automaton task (``autoreset_mode`` NEXT_STEP).

    ``TaskVectorEnv(num_envs, task, render_mode=None, observe_clock=False, **task_kwargs)``. Env ``i``
    has its own generator: ``reset(seed=s)`` seeds it with ``s + i`` (a list seeds each env), matching
    a single env reset with that seed, episode after episode. ``reset(options={"reset_mask": m})``
    resets only the envs where ``m`` is True. ``info`` holds read-only ``[num_envs]`` arrays
    (``clocks``: ``[num_envs, X]``) for the step just scored, each with its ``_key`` mask (False for
    envs that were auto-reset this step and so scored nothing).

    Each env's generator draws many episodes of symbols per call (a compact symbol bank), and the
    next ``E`` episodes of every env are simulated together (time-major buffers
    ``[L, E, num_envs, ...]``); while all envs are at the same episode and step (always, unless a
    masked reset desynchronised them) a step reads one row of each buffer.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4,  # noqa: RUF012
                                "autoreset_mode": AutoresetMode.NEXT_STEP}
    task_id: ClassVar[str | None] = None
    #: Whether an action can change a later observation (see `TaskEnv`); False here, which
    #: is what makes `episode_observations()` meaningful.
    observations_depend_on_actions: ClassVar[bool] = False
    #: Episodes are precomputed ahead for at most this many env-steps at once.
    lookahead_steps: ClassVar[int] = 1 << 17
    #: Bytes of the symbol bank (episodes drawn ahead per env, one small integer per step).
    bank_bytes: ClassVar[int] = 1 << 25
    #: Uniform doubles drawn at once when refilling the bank (8 bytes each, briefly).
    draw_doubles: ClassVar[int] = 1 << 21

    def __init__(self, num_envs: int = 1, task: Any = None, *, render_mode: str | None = None,
                 observe_clock: bool = False, info_keys: Sequence[str] | None = None,
                 **task_kwargs: Any) -> None:
        check_int("num_envs", num_envs, 1)
        self.task = _env_task(task, self.task_id, render_mode, observe_clock, task_kwargs)
        self._info_keys = _check_info_keys(info_keys)
        self.num_envs = n = int(num_envs)
        self.render_mode = render_mode
        self.observe_clock = observe_clock
        self.single_observation_space, self.single_action_space = task_spaces(self.task,
                                                                              observe_clock)
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._L = L = int(self.task.episode_length)
        check_bytes(f"num_envs={n} x episode_length={L}",
                    n * L * (_step_bytes(self.task, observe_clock) + 8),
                    "every env's episode is precomputed at reset; lower num_envs or episode_length")
        self._E = max(1, min(16, self.lookahead_steps // (n * L)))
        # the symbol bank holds Eb = E * r episodes per env, consumed E at a time, in order
        self._Eb = self._E * max(1, min(64, self.bank_bytes // (n * L * self._E)))
        S = len(self.task.automaton.alphabet)
        # time-major, env last: E episodes of every env are one contiguous [E, L, n] slice
        self._bank = np.zeros((self._Eb, L, n), dtype=np.min_scalar_type(S - 1))
        self._bank_next = np.full(n, self._Eb, dtype=np.intp)  # Eb: exhausted
        self._multi = self.task.target_channels is not None
        self._K = self.task.automaton.num_classes
        if self.task.target_channels is not None:
            self._code = _ActionCode(self.single_action_space, self.task.target_channels)
        self._ashape = self.action_space.shape
        self._rows = np.arange(n)
        self._all = np.ones(n, dtype=bool)
        self._all.setflags(write=False)
        self._t_rows = np.repeat(np.arange(L + 1, dtype=np.int64)[:, None], n, axis=1)
        self._t_rows.setflags(write=False)
        self._gens: list[np.random.Generator] | None = None
        self._buf: dict[str, np.ndarray] = {}
        self._e = np.zeros(n, dtype=np.intp)  # episode slot in the lookahead block
        self._t = np.zeros(n, dtype=np.intp)  # step within the episode
        self._done = np.zeros(n, dtype=bool)
        self._any_done = False
        self._sync: tuple[int, int] | None = None  # common (slot, step) while in lockstep

    # -- episode bank ---------------------------------------------------------------------------
    def _fill(self, envs: np.ndarray) -> None:
        """Draw and simulate the next ``E`` episodes of ``envs``. Buffers are replaced, never
        written in place, so views handed out in ``info`` stay valid."""
        assert self._gens is not None
        E, L, m = self._E, self._L, len(envs)
        redraw = envs[self._bank_next[envs] >= self._Eb]
        rows = max(1, self.draw_doubles // (self._Eb * L))
        for c in range(0, len(redraw), rows):  # one generator call per env for Eb episodes
            chunk = redraw[c : c + rows]
            u = np.empty((len(chunk), self._Eb * L))
            for j, i in enumerate(chunk.tolist()):
                self._gens[i].random(out=u[j])  # env i's stream, in order
            sym = self.task.symbols_from_uniform(u).astype(self._bank.dtype, copy=False)
            self._bank[:, :, chunk] = sym.reshape(len(chunk), self._Eb, L).transpose(1, 2, 0)
        self._bank_next[redraw] = 0
        first = self._bank_next[envs]
        if m == self.num_envs and (first == first[0]).all():  # every env at the same bank slot
            sym = self._bank[first[0] : first[0] + E]  # [E, L, m], a view
            compact = sym.transpose(1, 0, 2).reshape(L, E * m)  # a view when E == 1
        else:
            sym = self._bank[first[None, :] + np.arange(E)[:, None], :, envs[None, :]]  # [E, m, L]
            compact = sym.transpose(2, 0, 1).reshape(L, E * m)
        self._bank_next[envs] = first + E
        ep = _episodes(self.task, compact.astype(np.int64), self.observe_clock, compact)
        for k, v in ep.items():
            v = v.reshape((v.shape[0], E, m) + v.shape[2:])  # [L(+1), E, m, ...]
            if m == self.num_envs:
                buf = v
            else:
                buf = self._buf[k].copy()
                buf[:, :, envs] = v
            buf.setflags(write=False)
            self._buf[k] = buf
        self._e[envs] = 0

    def _start_episodes(self, envs: np.ndarray, refill: np.ndarray) -> None:
        """Move ``envs`` to their next episode (``refill``: draw a new block first)."""
        nxt = self._e[envs] + 1
        need = envs[nxt >= self._E]
        if len(refill):
            need = np.union1d(need, refill)
        self._e[envs] = np.minimum(nxt, self._E - 1)
        if need.size:
            self._fill(need)
        self._t[envs] = 0
        self._done[envs] = False
        self._any_done = bool(self._done.any())
        e0, t0 = int(self._e[0]), int(self._t[0])
        uniform = (self._e == e0).all() and (self._t == t0).all()
        self._sync = (e0, t0) if uniform and not self._any_done else None

    def reset(self, *, seed: int | Sequence[int] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every env (or those in ``options['reset_mask']``)."""
        _check_options(options, ("reset_mask",))
        mask = np.ones(self.num_envs, dtype=bool)
        if options and "reset_mask" in options:
            mask = np.asarray(options["reset_mask"])
            if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
                raise InvalidValue(f"options['reset_mask'] must be a bool array of shape "
                                   f"({self.num_envs},), got {options['reset_mask']!r}")
        seeds = self._seeds(seed)
        envs = np.flatnonzero(mask)
        if self._gens is None:  # the first reset starts every env, whatever the mask
            envs, mask = self._rows, np.ones(self.num_envs, dtype=bool)
            self._gens = [seeding.np_random(s)[0] for s in seeds]
            self._bank_next[:] = self._Eb
            self._fill(self._rows)
            self._e[:] = -1
            refill = np.zeros(0, dtype=np.intp)
        else:
            for i in envs:
                if seeds[i] is not None:
                    self._gens[i] = seeding.np_random(seeds[i])[0]
                    self._bank_next[i] = self._Eb  # a new stream: the banked symbols go
            refill = np.asarray([i for i in envs if seeds[i] is not None], dtype=np.intp)
            self._e[refill] = -1
        self._start_episodes(envs, refill)
        # envs outside the mask keep their place (one may be waiting for its autoreset, past its
        # last step): their info entries are masked out
        idx = (np.where(mask, self._t, 0), self._e, self._rows)
        info = {"t": self._t.astype(np.int64), "theta": np.where(mask, self._buf["theta"][idx], -1),
                "clocks": np.where(mask[:, None], self._buf["clocks"][idx], 0),
                "_t": mask.copy(), "_theta": mask.copy(), "_clocks": mask.copy()}
        return self._buf["obs"][self._t, self._e, self._rows], self._filter(info)

    def episode_observations(self) -> np.ndarray:
        """The observations of the episode every env has just started, ``[L, num_envs, obs_dim]``
        float32 (row ``t`` is what `step()` shows after ``t`` steps; row 0 is ``reset``'s).

        Valid only because an action changes no later observation
        (`observations_depend_on_actions`), and only right after `reset()` of every env
        (all envs at step 0 of an episode); otherwise ``RuntimeError``. The episode still has to be
        stepped to be scored: rewards come from `step()`."""
        if self.observations_depend_on_actions:
            raise RuntimeError(f"{type(self).__name__}: observations depend on actions here, so an "
                               "episode's observations are not known in advance")
        sync = self._sync
        if self._gens is None or sync is None or sync[1] != 0:
            raise RuntimeError("episode_observations() needs every env at the first step of an "
                               "episode: call reset() (all envs) first")
        return np.array(self._buf["obs"][: self._L, sync[0]], dtype=np.float32)

    def _seeds(self, seed: Any) -> list[int | None]:
        """Per-env seeds from ``reset(seed=...)``: None, an int >= 0 (env i gets seed + i) or a
        list of ``num_envs`` ints >= 0 / None."""
        n = self.num_envs
        if seed is None:
            return [None] * n
        if isinstance(seed, (list, tuple, np.ndarray)):
            if len(seed) != n:
                raise InvalidValue(f"seed must be None, an int >= 0 or a list of num_envs={n} "
                                   f"seeds, got a list of {len(seed)}")
            return [None if s is None else check_seed(f"seed[{i}]", s) for i, s in enumerate(seed)]
        s0 = check_int("seed", seed, 0)
        super().reset(seed=s0)
        return [s0 + i for i in range(n)]

    def _filter(self, info: dict[str, Any]) -> dict[str, Any]:
        keys = self._info_keys
        if keys is None:
            return info
        return {k: v for k, v in info.items() if k in keys or k[1:] in keys}

    # -- stepping -------------------------------------------------------------------------------
    def _reward(self, actions: Any, target: np.ndarray) -> np.ndarray:
        """Reward per env for ``actions`` against target classes ``target``; validates actions."""
        a = actions if type(actions) is np.ndarray else np.asarray(actions)
        if a.shape != self._ashape or a.dtype.kind not in "iub":
            raise InvalidValue(f"actions must be an integer array of shape {self._ashape}, "
                               f"got {a.dtype} {a.shape}")
        reward: np.ndarray
        if self._multi:
            reward = (self._code.many(a) == target).astype(np.float32)
            return reward
        if a.dtype != np.int64:
            a = a.astype(np.int64)
        if a.view(np.uint64).max() >= self._K:  # negatives become huge unsigned values
            raise InvalidValue(f"actions must be in [0, {self._K - 1}], got {a}")
        reward = (a == target).astype(np.float32)
        return reward

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        """Step all envs at once; finished envs reset on the next call (next-step autoreset)."""
        if self._gens is None:
            raise RuntimeError("call reset() before step()")
        if self._any_done:  # NEXT_STEP autoreset of the envs that terminated last step
            scored = ~self._done
            self._start_episodes(np.flatnonzero(self._done), np.zeros(0, dtype=np.intp))
            return self._step_general(actions, scored)
        sync = self._sync
        if sync is None:
            return self._step_general(actions, self._all)
        # lockstep fast path: every env at episode slot e, step s, none terminated
        n, buf = self.num_envs, self._buf
        e, s = sync
        target = buf["targets"][s, e]
        reward = self._reward(actions, buf["classes"][s, e])
        scored = self._all
        info = {"t": self._t_rows[s], "target": target, "time_dependent": buf["td"][s, e],
                "theta": buf["theta"][s, e], "clocks": buf["clocks"][s, e], "_t": scored,
                "_target": scored, "_time_dependent": scored, "_theta": scored, "_clocks": scored}
        s += 1
        obs = buf["obs"][s, e].copy()
        self._t.fill(s)
        if s == self._L:
            terminated = np.ones(n, dtype=bool)
            self._sync, self._done, self._any_done = None, terminated.copy(), True
        else:
            terminated = np.zeros(n, dtype=bool)
            self._sync = (e, s)
        return obs, reward, terminated, np.zeros(n, dtype=bool), self._filter(info)

    def _step_general(self, actions: Any, scored: np.ndarray) -> tuple[
            np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step with per-env indices; envs not ``scored`` were just reset and only show their
        first observation (reward 0, their action ignored)."""
        n, buf = self.num_envs, self._buf
        idx = (self._t, self._e, self._rows)
        target = buf["targets"][idx]
        reward = self._reward(actions, buf["classes"][idx])
        td = buf["td"][idx]
        if not scored.all():  # an env reset this step scored nothing: never count it as TD
            td = td & scored
        info = {"t": self._t.astype(np.int64), "target": target, "time_dependent": td,
                "theta": buf["theta"][idx], "clocks": buf["clocks"][idx], "_t": scored,
                "_target": scored, "_time_dependent": scored, "_theta": scored, "_clocks": scored}
        reward[~scored] = 0.0
        self._t += scored
        terminated = scored & (self._t == self._L)
        obs = buf["obs"][self._t, self._e, self._rows]
        self._done = terminated.copy()
        self._any_done = bool(terminated.any())
        e0, t0 = int(self._e[0]), int(self._t[0])
        uniform = (self._t == t0).all() and (self._e == e0).all()
        self._sync = (e0, t0) if uniform and not self._any_done else None
        return obs, reward, terminated, np.zeros(n, dtype=bool), self._filter(info)

    def render(self) -> str | tuple[np.ndarray, ...] | None:  # type: ignore[override]
        """Each env's current step as text (``ansi``: one string for every env, where Gymnasium's
        signature has a tuple of frames) or images (``rgb_array``: one frame per env)."""
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; use render_mode='ansi' or "
                            "'rgb_array'")
            return None
        b = self._buf
        if self.render_mode == "rgb_array":  # one frame per env: the episode so far
            if self._gens is None:
                return tuple(frame([], [], []) for _ in range(self.num_envs))
            frames = []
            for i in range(self.num_envs):
                e, hi = int(self._e[i]), int(self._t[i])
                frames.append(frame(b["symbols"][:hi, e, i], b["classes"][:hi, e, i],
                                    b["td"][:hi, e, i], theta=b["theta"][:hi, e, i]))
            return tuple(frames)
        if self._gens is None:
            return "(not reset)\n"
        alphabet = self.task.automaton.alphabet
        out = []
        for i in range(min(self.num_envs, 4)):
            e, hi = int(self._e[i]), int(self._t[i])
            lo = max(0, hi - 32)
            out.append(f"env {i}\n" + timeline(
                [alphabet[s] for s in b["symbols"][lo:hi, e, i]], b["targets"][lo:hi, e, i],
                b["td"][lo:hi, e, i], theta=b["theta"][lo:hi, e, i], start=lo))
        return "\n".join(out)


# -- registered ids: one card each ---------------------------------------------------------------


class TemporalFlipFlopEnv(TaskEnv):
    """Periodic temporal flipflop (``TemporalFlipFlop-v0``).

    ## Description
    A 2-state automaton read one symbol per step; ``b`` always sends it to state 0 (time-independent,
    TI); ``a`` sends it to state Θ(t), where Θ(t) = 1 iff ``(t + phase) mod P >= P - on_steps``
    (time-dependent, TD). The agent must infer the time of day ``t mod P`` from the stream alone.
    Factory: [`ta_envs.tasks.temporal_flipflop()`][ta_envs.tasks.temporal_flipflop] (``period=24,
    on_steps=P//2, phase=0,
    num_phases=2, state_dependent=False, episode_length=4P, p_a=0.5``).

    ## Action space
    ``Discrete(K)`` (K = ``num_phases``, default 2): the predicted state after this step's symbol.

    ## Example
    ```pycon
    >>> import gymnasium as gym, ta_envs
    >>> env = gym.make("TemporalFlipFlop-v0", period=6)
    >>> obs, info = env.reset(seed=0)
    >>> obs.tolist(), info["t"], info["clocks"]
    ([0.0, 1.0], 0, {'x': 0})
    >>> obs, reward, terminated, truncated, info = env.step(0)
    >>> reward, info["target"], info["time_dependent"]
    (1.0, 0, False)
    >>> venv = gym.make_vec("TemporalFlipFlop-v0", 8, vectorization_mode="vector_entry_point")
    >>> venv.reset(seed=0)[0].shape
    (8, 2)

    ```

    Observation space, rewards, starting state, episode end, ``info`` and the common
    arguments: see [`TaskEnv`][ta_envs.envs.TaskEnv].
    """

    task_id = "TemporalFlipFlop-v0"


class RelativeTimingFlipFlopEnv(TaskEnv):
    """Relative-timing flipflop (``RelativeTimingFlipFlop-v0``).

    ## Description
    Alphabet ``(a, b, null)`` with ``P(a) = P(b) = p_event/2``. ``b`` -> state 0; ``a`` -> state 1 iff
    at least τ steps passed since the last non-null symbol (or since t = 0), else 0; ``null`` holds the
    state. Factory:
    [`ta_envs.tasks.relative_timing_flipflop()`][ta_envs.tasks.relative_timing_flipflop] (``tau=5,
    p_event=0.2,
    period=None, on_steps=None, phase=0, state_dependent=False, episode_length=100``); ``period=P``
    composes it with a time of day.

    ## Action space
    ``Discrete(2)``.

    ## Example
    ```pycon
    >>> import gymnasium as gym, ta_envs
    >>> env = gym.make("RelativeTimingFlipFlop-v0", tau=3, p_event=1.0)
    >>> _ = env.reset(seed=1)
    >>> [env.step(0)[4]["target"] for _ in range(4)]  # only a and b: never 3 quiet steps
    [0, 0, 0, 0]

    ```

    Observation space, rewards, starting state, episode end, ``info`` and the common
    arguments: see [`TaskEnv`][ta_envs.envs.TaskEnv].
    """

    task_id = "RelativeTimingFlipFlop-v0"


class FlipFlopEnv(TaskEnv):
    """Classic N-bit flip-flop of Sussillo & Barak (``FlipFlop-v0``).

    ## Description
    N input channels carry +1/-1 pulses (probability ``p_pulse`` each per step); the target of channel
    i is 1 if its last pulse was +1 and 0 if it was -1 (0 before any pulse). No clocks: every step is
    TI. Factory: [`ta_envs.tasks.flipflop()`][ta_envs.tasks.flipflop] (``n_bits=3, p_pulse=0.05,
    episode_length=100``).
    Here the observation is ``Box(-1, 1, (N,), float32)``, the pulse on each channel.

    ## Action space
    ``MultiBinary(N)``: the N target bits; the reward is 1.0 only when all N match.

    ## Example
    ```pycon
    >>> import gymnasium as gym, numpy as np, ta_envs
    >>> env = gym.make("FlipFlop-v0", n_bits=2, p_pulse=1.0)
    >>> obs, _ = env.reset(seed=0)
    >>> _, reward, *_ , info = env.step(np.array([0, 0]))
    >>> target = info["target"]
    >>> target.tolist() == [int(v > 0) for v in obs], reward == float((target == 0).all())
    (True, True)

    ```

    Observation space, rewards, starting state, episode end, ``info`` and the common
    arguments: see [`TaskEnv`][ta_envs.envs.TaskEnv].
    """

    task_id = "FlipFlop-v0"


class TimedAutomatonEnv(TaskEnv):
    """Any timed automaton (``TimedAutomaton-v0``).

    ## Description
    ``gym.make("TimedAutomaton-v0", automaton=spec)`` with ``spec`` a
    [`TimedAutomaton`][ta_envs.automaton.TimedAutomaton], its dict form, or a JSON path; symbols i.i.d.
    with
    ``symbol_probs`` (uniform by default), ``episode_length=100``. Θ is not defined (-1).

    ## Action space
    ``Discrete(K)``, K = the automaton's ``num_outputs``.

    ## Example
    ```pycon
    >>> import gymnasium as gym, ta_envs
    >>> spec = {"locations": ["off", "on"], "initial": "off", "alphabet": ["tick"],
    ...         "output": {"off": 0, "on": 1},
    ...         "edges": [{"source": "off", "symbol": "tick", "target": "on"},
    ...                   {"source": "on", "symbol": "tick", "target": "off"}]}
    >>> env = gym.make("TimedAutomaton-v0", automaton=spec, episode_length=4)
    >>> _ = env.reset(seed=0)
    >>> [env.step(0)[4]["target"] for _ in range(4)]
    [1, 0, 1, 0]

    ```

    Observation space, rewards, starting state, episode end, ``info`` and the common
    arguments: see [`TaskEnv`][ta_envs.envs.TaskEnv].
    """

    task_id = "TimedAutomaton-v0"


class WordProblemEnv(TaskEnv):
    """Running product in a finite group (``WordProblem-v0``).

    ## Description
    State tracking as in the group word problems of "The Illusion of State in State-Space Models":
    each step reads ``e`` (the identity) or a generator of the group, i.i.d. uniform, and the target
    is the running product so far (an element index, ``g0`` = identity). Groups: ``parity`` (Z2),
    ``Z3``, ``S3``, ``A4``, ``A5``, ``S5`` (non-solvable from A5 on). With ``period=P`` the generator
    a symbol applies depends on the hidden half of the day (a temporal word problem). Factory:
    [`ta_envs.families.word_problem()`][ta_envs.families.word_problem] (``group="S3", period=None,
    episode_length=64``).

    ## Action space
    ``Discrete(|G|)``: the predicted group element after this step's symbol.

    ## Example
    ```pycon
    >>> import gymnasium as gym, ta_envs
    >>> env = gym.make("WordProblem-v0", group="S3")
    >>> obs, info = env.reset(seed=0)
    >>> env.unwrapped.task.automaton.alphabet, env.action_space
    (('e', 's', 'r'), Discrete(6))
    >>> obs.tolist()  # one-hot: this step reads s, so the product is s = g1
    [0.0, 1.0, 0.0]
    >>> obs, reward, terminated, truncated, info = env.step(1)
    >>> reward, info["target"]
    (1.0, 1)

    ```

    Observation space, rewards, starting state, episode end, ``info`` and the common
    arguments: see [`TaskEnv`][ta_envs.envs.TaskEnv].
    """

    task_id = "WordProblem-v0"


class RandomAutomatonEnv(TaskEnv):
    """A random timed automaton of a given complexity (``RandomAutomaton-v0``).

    ## Description
    A discrete-time timed automaton drawn from ``seed`` with exactly ``configurations`` minimal
    configurations (2 to 256, confirmed by the minimiser): the task's complexity is a number.
    Further knobs: ``clocks`` (0-2), ``symbols``, ``outputs``, ``guarded`` (the share of steps that
    read a clock). Factory: [`ta_envs.families.random_automaton()`][ta_envs.families.random_automaton]
    (``configurations=16,
    seed=0, clocks=1, symbols=2, outputs=2, guarded=0.5, episode_length=100``).

    ## Action space
    ``Discrete(outputs)``: the predicted output after this step's symbol.

    ## Example
    ```pycon
    >>> import gymnasium as gym, ta_envs
    >>> env = gym.make("RandomAutomaton-v0", configurations=32, seed=3)
    >>> env.unwrapped.task.automaton.compiled.num_minimal
    32
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space
    ((2,), Discrete(2))

    ```

    Observation space, rewards, starting state, episode end, ``info`` and the common
    arguments: see [`TaskEnv`][ta_envs.envs.TaskEnv].
    """

    task_id = "RandomAutomaton-v0"


class TemporalFlipFlopVectorEnv(TaskVectorEnv):
    """Native vector env of ``TemporalFlipFlop-v0``; see `TemporalFlipFlopEnv`."""

    task_id = "TemporalFlipFlop-v0"


class RelativeTimingFlipFlopVectorEnv(TaskVectorEnv):
    """Native vector env of ``RelativeTimingFlipFlop-v0``; see `RelativeTimingFlipFlopEnv`."""

    task_id = "RelativeTimingFlipFlop-v0"


class FlipFlopVectorEnv(TaskVectorEnv):
    """Native vector env of ``FlipFlop-v0``; see `FlipFlopEnv`."""

    task_id = "FlipFlop-v0"


class TimedAutomatonVectorEnv(TaskVectorEnv):
    """Native vector env of ``TimedAutomaton-v0``; see `TimedAutomatonEnv`."""

    task_id = "TimedAutomaton-v0"


class WordProblemVectorEnv(TaskVectorEnv):
    """Native vector env of ``WordProblem-v0``; see `WordProblemEnv`."""

    task_id = "WordProblem-v0"


class RandomAutomatonVectorEnv(TaskVectorEnv):
    """Native vector env of ``RandomAutomaton-v0``; see `RandomAutomatonEnv`."""

    task_id = "RandomAutomaton-v0"
