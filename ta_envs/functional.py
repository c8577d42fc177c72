"""Every task as pure functions over arrays, written once for NumPy and JAX.

The kernel reads the compiled configuration table of a task (`Params`, a tuple of arrays)
and carries a `State` ``(config, symbol, t)``: the configuration before step ``t`` and the
symbol on view at step ``t``. One step, with the semantics of the reference stepper:

- the observation is the symbol's input vector (all zeros once ``t`` reaches the episode length);
- the target is ``output[config, symbol]``; the reward is 1 when the action is that class (for a
  multi-channel task, when every channel of the action matches);
- the next state is ``(next_config[config, symbol], next symbol, t + 1)``; a symbol is drawn from a
  uniform ``u`` in [0, 1) as the number of cumulative-probability entries ``<= u``, exactly as the
  native envs draw theirs
  ([`ta_envs.tasks.Task.symbols_from_uniform()`][ta_envs.tasks.Task.symbols_from_uniform]).

Each function works on NumPy arrays or JAX arrays (whichever `Params` holds) and on any batch
shape. Three faces are built on it:

- `TaskFuncEnv`: Gymnasium's ``FuncEnv`` (``initial``, ``transition``, ``observation``,
  ``reward``, ``terminal``) with a NumPy generator or a JAX key as ``rng``;
- `GymnaxEnv` (JAX): the gymnax interface: ``reset(key, params) -> (obs, state)``,
  ``step(key, state, action, params) -> (obs, state, reward, done, info)`` with auto-reset,
  ``default_params``, ``observation_space(params)``, ``action_space(params)``;
- `rollout()` (JAX): ``n_envs`` envs for ``steps`` steps under ``lax.scan`` with auto-reset,
  returning the dataset's fields batch first.

Task parameters vmap: `stack_params()` pads the tables of several settings (periods, tau,
event probabilities) to one shape, so ``jax.vmap`` runs them side by side. JAX is optional (the
``jax`` extra); the NumPy backend needs nothing beyond the core.

Example (NumPy; the JAX backend is ``make_params(..., backend="jax")``)::

    >>> import numpy as np
    >>> from ta_envs import functional as F
    >>> p = F.make_params("TemporalFlipFlop-v0", period=4)
    >>> s = F.initial(np.float64(0.7), p)          # u = 0.7 draws symbol 1 ('b')
    >>> int(s.symbol), F.observation(s, p).tolist()
    (1, [0.0, 1.0])
    >>> float(F.reward(s, np.int64(0), p))         # 'b' sends the flipflop to state 0
    1.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .catalog import make_task
from .envs import task_spaces
from .tasks import Task
from .validation import InvalidValue, check_int

Array = Any  #: a NumPy or JAX array


class Params(NamedTuple):
    """A task's tables (``C`` configurations, ``S`` symbols, ``X`` clocks, ``K`` classes, ``D``
    input features, ``N`` target channels; ``N = 0`` for one-channel tasks)."""

    next_config: Array  #: [C, S] int32
    output: Array  #: [C, S] int32 output class of each step
    time_dependent: Array  #: [C, S] bool
    theta: Array  #: [C] int32 (-1 where the task defines no Θ)
    clocks: Array  #: [C, X] int32 clock values of each configuration
    clock_scale: Array  #: [X] float32, 1 / max(clock maximum, 1) (the clock observation)
    cdf: Array  #: [S] cumulative symbol distribution (last entry exactly 1)
    obs_table: Array  #: [S, D] float32 input vector of each symbol
    targets: Array  #: [K, N] int32 target channels of each class (N = 0: the class itself)
    episode_length: Array  #: [] int32


class State(NamedTuple):
    """One env's state (or a batch of them, any leading shape)."""

    config: Array  #: int32, configuration before step ``t``
    symbol: Array  #: int32, symbol on view at step ``t``
    t: Array  #: int32, steps done in this episode


def _xp(x: Any) -> Any:
    """``numpy`` or ``jax.numpy``, whichever array type ``x`` is."""
    if isinstance(x, np.ndarray | np.generic):
        return np
    import jax.numpy as jnp

    return jnp


def make_params(task: str | Task, backend: str = "numpy", **task_kwargs: Any) -> Params:
    """The `Params` of a registered id (with its kwargs) or a [`Task`][ta_envs.Task],
    as NumPy arrays (``backend="numpy"``) or JAX arrays (``"jax"``, the ``jax`` extra)."""
    if backend not in ("numpy", "jax"):
        raise InvalidValue(f"backend must be 'numpy' or 'jax', got {backend!r}")
    t = make_task(task, **task_kwargs) if not isinstance(task, Task) else task
    comp = t.automaton.compiled
    X = comp.clocks.shape[1]
    K = t.automaton.num_classes
    targets = (np.zeros((K, 0), np.int32) if t.target_channels is None
               else np.asarray(t.target_channels, np.int32))
    p = Params(next_config=comp.next_config.astype(np.int32),
               output=comp.output.astype(np.int32),
               time_dependent=comp.time_dependent.astype(bool),
               theta=t.theta_table.astype(np.int32),
               clocks=comp.clocks.astype(np.int32).reshape(comp.num_configs, X),
               clock_scale=(1.0 / np.maximum(np.asarray(comp.clock_max, np.float32), 1.0)
                            ).reshape(X),
               cdf=np.asarray(t.cdf, np.float64), obs_table=np.asarray(t.obs_table, np.float32),
               targets=targets, episode_length=np.int32(t.episode_length))
    return p if backend == "numpy" else to_jax(p)


def to_jax(p: Params) -> Params:
    """The same tables as JAX arrays (the cdf in JAX's default float type)."""
    import jax.numpy as jnp

    return Params(*(jnp.asarray(x) for x in p))


def stack_params(params: Sequence[Params]) -> Params:
    """Several settings of one task family as one `Params` with a leading axis, the tables
    padded to the largest (padding rows are unreachable), so ``jax.vmap`` over it runs the settings
    side by side. All must share the alphabet, inputs and target channels."""
    if not params:
        raise InvalidValue("stack_params needs at least one Params")
    first = params[0]
    xp = _xp(first.cdf)
    for i, q in enumerate(params):
        if q.obs_table.shape != first.obs_table.shape or q.targets.shape != first.targets.shape \
                or q.clocks.shape[1] != first.clocks.shape[1]:
            raise InvalidValue(f"stack_params: params[{i}] has another alphabet, input size, "
                               "target channels or clock count than params[0]")
    C = max(int(q.next_config.shape[0]) for q in params)

    def pad(a: Array, rows: int) -> Array:
        extra = rows - a.shape[0]
        if extra == 0:
            return a
        width = [(0, extra)] + [(0, 0)] * (a.ndim - 1)
        return xp.pad(a, width)

    out = []
    for field, _ in zip(Params._fields, first):
        vals = [getattr(q, field) for q in params]
        if field in ("next_config", "output", "time_dependent", "theta", "clocks"):
            vals = [pad(v, C) for v in vals]
        out.append(xp.stack([xp.asarray(v) for v in vals]))
    return Params(*out)


# -- the kernel -----------------------------------------------------------------------------------
def symbol_of(u: Array, p: Params) -> Array:
    """Symbol indices (int32) of uniforms ``u`` in [0, 1): the count of cdf entries ``<= u``."""
    xp = _xp(p.cdf)
    return (p.cdf[:-1] <= xp.asarray(u)[..., None]).sum(-1).astype(xp.int32)


def start(symbol: Array, p: Params) -> State:
    """The initial state showing ``symbol`` (int32 array of any shape): configuration 0, t = 0."""
    xp = _xp(p.cdf)
    z = xp.zeros_like(xp.asarray(symbol, xp.int32))
    return State(z, xp.asarray(symbol, xp.int32), z)


def advance(s: State, symbol: Array, p: Params) -> State:
    """The state after step ``t``, showing ``symbol`` next (the stepper's transition)."""
    xp = _xp(p.cdf)
    return State(p.next_config[s.config, s.symbol], xp.asarray(symbol, xp.int32), s.t + 1)


def initial(u: Array, p: Params) -> State:
    """`start()` with the symbol drawn from ``u``."""
    return start(symbol_of(u, p), p)


def transition(s: State, u: Array, p: Params) -> State:
    """`advance()` with the next symbol drawn from ``u``."""
    return advance(s, symbol_of(u, p), p)


def terminal(s: State, p: Params) -> Array:
    """Whether the episode has ended (``t >= episode_length``)."""
    return s.t >= p.episode_length


def observation(s: State, p: Params, observe_clock: bool = False) -> Array:
    """The observation ``[..., D]`` (``[..., D + X]`` with the clocks, scaled to [0, 1]); all
    zeros at the terminal state."""
    xp = _xp(p.cdf)
    obs = p.obs_table[s.symbol]
    if observe_clock:
        obs = xp.concatenate([obs, p.clocks[s.config] * p.clock_scale], -1)
    return xp.where(terminal(s, p)[..., None], xp.zeros_like(obs), obs)


def target_class(s: State, p: Params) -> Array:
    """The output class of step ``t`` (int32)."""
    return p.output[s.config, s.symbol]


def reward(s: State, action: Array, p: Params) -> Array:
    """1.0 where ``action`` is step ``t``'s target (every channel, for a multi-channel task);
    float32."""
    xp = _xp(p.cdf)
    cls = target_class(s, p)
    if p.targets.shape[-1]:
        ok = (xp.asarray(action) == p.targets[cls]).all(-1)
    else:
        ok = xp.asarray(action) == cls
    return ok.astype(xp.float32)


def info(s: State, p: Params) -> dict[str, Array]:
    """Step ``t``'s ``target`` (class, or channels), ``time_dependent``, ``theta`` and ``clocks``."""
    cls = target_class(s, p)
    return {"target": p.targets[cls] if p.targets.shape[-1] else cls,
            "time_dependent": p.time_dependent[s.config, s.symbol],
            "theta": p.theta[s.config], "clocks": p.clocks[s.config]}


# -- Gymnasium's FuncEnv --------------------------------------------------------------------------
def _func_env_base() -> type:
    try:
        from gymnasium.experimental.functional import FuncEnv
    except ImportError:  # pragma: no cover - gymnasium builds that moved it
        from gymnasium.functional import FuncEnv  # type: ignore[no-redef]
    return FuncEnv


class TaskFuncEnv(_func_env_base()):  # type: ignore[misc]
    """A task as Gymnasium's ``FuncEnv``: ``TaskFuncEnv(task, backend="numpy"|"jax",
    observe_clock=False, **task_kwargs)``. ``rng`` is a ``numpy.random.Generator`` (NumPy) or a JAX
    key (JAX); ``params`` default to the task's own. The spaces are those of the native env."""

    task_id: str | None = None

    def __init__(self, task: str | Task | None = None, backend: str = "numpy",
                 observe_clock: bool = False, **task_kwargs: Any) -> None:
        task = task if task is not None else self.task_id
        if task is None:
            raise InvalidValue("TaskFuncEnv needs a task (a registered id or a Task)")
        self.task = make_task(task, **task_kwargs) if not isinstance(task, Task) else task
        self.backend = backend
        self.observe_clock = bool(observe_clock)
        self.params = make_params(self.task, backend)
        self.observation_space, self.action_space = task_spaces(self.task, self.observe_clock)
        super().__init__()

    def get_default_params(self, **kwargs: Any) -> Params:
        """The task's own tables."""
        return self.params

    def _u(self, rng: Any) -> Array:
        if self.backend == "numpy":
            return np.float64(rng.random())
        import jax

        return jax.random.uniform(rng, dtype=self.params.cdf.dtype)

    def initial(self, rng: Any, params: Params | None = None) -> State:
        """Configuration 0 with the first symbol drawn."""
        return initial(self._u(rng), params or self.params)

    def transition(self, state: State, action: Any, rng: Any, params: Params | None = None
                   ) -> State:
        """The next state (the action does not change it: observations do not depend on
        actions here)."""
        return transition(state, self._u(rng), params or self.params)

    def observation(self, state: State, rng: Any, params: Params | None = None) -> Array:
        """The symbol's input vector (and the clocks if observed)."""
        return observation(state, params or self.params, self.observe_clock)

    def reward(self, state: State, action: Any, next_state: State, rng: Any,
               params: Params | None = None) -> Array:
        """1.0 for the right output."""
        return reward(state, action, params or self.params)

    def terminal(self, state: State, rng: Any, params: Params | None = None) -> Array:
        """The episode's end."""
        return terminal(state, params or self.params)

    def transition_info(self, state: State, action: Any, next_state: State,
                        params: Params | None = None) -> dict[str, Array]:
        """Target, TD flag, Θ and clocks of the step just scored."""
        return info(state, params or self.params)


def func_env_class(task_id: str) -> type[TaskFuncEnv]:
    """The ``FuncEnv`` subclass of one registered id (e.g. ``TemporalFlipFlopFuncEnv``)."""
    name = task_id.split("-")[0] + "FuncEnv"
    return type(name, (TaskFuncEnv,), {"task_id": task_id, "__doc__":
                                        f"``{task_id}`` as a Gymnasium FuncEnv (see TaskFuncEnv)."})


TemporalFlipFlopFuncEnv = func_env_class("TemporalFlipFlop-v0")
RelativeTimingFlipFlopFuncEnv = func_env_class("RelativeTimingFlipFlop-v0")
FlipFlopFuncEnv = func_env_class("FlipFlop-v0")
TimedAutomatonFuncEnv = func_env_class("TimedAutomaton-v0")
WordProblemFuncEnv = func_env_class("WordProblem-v0")
RandomAutomatonFuncEnv = func_env_class("RandomAutomaton-v0")


# -- gymnax ---------------------------------------------------------------------------------------
class Discrete:
    """gymnax's ``Discrete(n)``: ``sample(key)``, ``contains(x)``, ``n``, ``shape``, ``dtype``."""

    def __init__(self, n: int) -> None:
        import jax.numpy as jnp

        self.n, self.shape, self.dtype = int(n), (), jnp.int32

    def sample(self, key: Any) -> Array:
        """A uniform action."""
        import jax

        return jax.random.randint(key, (), 0, self.n, dtype=self.dtype)

    def contains(self, x: Array) -> Array:
        """Whether ``x`` is an action."""
        import jax.numpy as jnp

        return jnp.logical_and(x >= 0, x < self.n)


class Box:
    """gymnax's ``Box(low, high, shape, dtype)``."""

    def __init__(self, low: Any, high: Any, shape: tuple[int, ...], dtype: Any) -> None:
        self.low, self.high, self.shape, self.dtype = low, high, tuple(shape), dtype

    def sample(self, key: Any) -> Array:
        """A uniform point (integer dtypes: 0 or 1 per entry)."""
        import jax
        import jax.numpy as jnp

        if jnp.issubdtype(self.dtype, jnp.integer):
            return jax.random.randint(key, self.shape, self.low, self.high + 1, dtype=self.dtype)
        return jax.random.uniform(key, self.shape, self.dtype, self.low, self.high)

    def contains(self, x: Array) -> Array:
        """Whether ``x`` lies in the box."""
        import jax.numpy as jnp

        return jnp.logical_and(jnp.all(x >= self.low), jnp.all(x <= self.high))


class GymnaxEnv:
    """A task with gymnax's interface (JAX): ``GymnaxEnv(task, observe_clock=False,
    **task_kwargs)``; ``reset(key, params=None) -> (obs, state)``, ``step(key, state, action,
    params=None) -> (obs, state, reward, done, info)`` (gymnax's auto-reset: at an episode's end
    ``obs``/``state`` start the next episode; ``info`` holds the scored step's ``target``,
    ``time_dependent``, ``theta``, ``clocks`` and the ``discount``), ``default_params``,
    ``observation_space(params)``, ``action_space(params)``, ``num_actions``, ``name``. Both
    methods are jitted; ``params`` may be vmapped (see `stack_params()`).
    """

    def __init__(self, task: str | Task = "TemporalFlipFlop-v0", observe_clock: bool = False,
                 **task_kwargs: Any) -> None:
        import jax

        self.task = make_task(task, **task_kwargs) if not isinstance(task, Task) else task
        self.observe_clock = bool(observe_clock)
        self._params = make_params(self.task, "jax")
        self.reset = jax.jit(self._reset)
        self.step = jax.jit(self._step)

    @property
    def name(self) -> str:
        """The task's name."""
        return self.task.name or "TimedAutomaton"

    @property
    def default_params(self) -> Params:
        """The task's own tables."""
        return self._params

    @property
    def num_actions(self) -> int:
        """Classes (one-channel tasks) or channels (multi-channel tasks)."""
        p = self._params
        return int(p.targets.shape[-1]) or self.task.automaton.num_classes

    def observation_space(self, params: Params | None = None) -> Box:
        """``Box(0, 1, (D,), float32)`` (``D + X`` with the clocks)."""
        import jax.numpy as jnp

        D = int(self._params.obs_table.shape[1]) + (int(self._params.clocks.shape[1])
                                                    if self.observe_clock else 0)
        return Box(0.0, 1.0, (D,), jnp.float32)

    def action_space(self, params: Params | None = None) -> Discrete | Box:
        """``Discrete(K)``, or ``Box(0, 1, (N,), int32)`` for multi-channel tasks (one bit per
        channel)."""
        import jax.numpy as jnp

        N = int(self._params.targets.shape[-1])
        return Box(0, 1, (N,), jnp.int32) if N else Discrete(self.task.automaton.num_classes)

    def _reset(self, key: Any, params: Params | None = None) -> tuple[Array, State]:
        import jax

        p = self._params if params is None else params
        s = initial(jax.random.uniform(key, dtype=p.cdf.dtype), p)
        return observation(s, p, self.observe_clock), s

    def _step(self, key: Any, state: State, action: Array, params: Params | None = None
              ) -> tuple[Array, State, Array, Array, dict[str, Array]]:
        import jax
        import jax.numpy as jnp

        p = self._params if params is None else params
        k_step, k_reset = jax.random.split(key)
        r = reward(state, action, p)
        inf = info(state, p)
        nxt = transition(state, jax.random.uniform(k_step, dtype=p.cdf.dtype), p)
        done = terminal(nxt, p)
        fresh = initial(jax.random.uniform(k_reset, dtype=p.cdf.dtype), p)
        nxt = jax.tree.map(lambda a, b: jnp.where(done, a, b), fresh, nxt)
        inf["discount"] = jnp.where(done, 0.0, 1.0)
        return observation(nxt, p, self.observe_clock), nxt, r, done, inf


# -- rollout --------------------------------------------------------------------------------------
Policy = Callable[[Any, Array], Array]


def rollout(key: Any, params: Params, policy: Policy | None, n_envs: int, steps: int,
            observe_clock: bool = False, time_major: bool = False) -> dict[str, Array]:
    """``n_envs`` envs stepped ``steps`` times (JAX), all starting an episode together and
    auto-resetting at its end (the next episode's first step follows at once). ``policy(key,
    obs [n_envs, D]) -> actions [n_envs]`` (or ``[n_envs, N]``); None: action 0 (observations do
    not depend on actions). Jit the caller (``jax.jit(rollout, static_argnums=(2, 3, 4, 5))``)
    to fuse it.

    Returns batch-first arrays, the dataset's fields: ``inputs [n, T, D]``, ``targets [n, T]``
    (``[n, T, N]``), ``mask_td``, ``mask_ti`` ``[n, T]``, ``theta [n, T]``, ``clocks [n, T, X]``,
    plus ``actions``, ``rewards`` and ``episode_start`` (True at each episode's first step).
    ``time_major=True``: ``[T, n, ...]`` instead (no transposes: faster, and what a scanned
    learner reads).

    Only the configuration recurrence (and the policy) runs under ``lax.scan``; the symbols are
    drawn for all steps at once, and every other field is gathered from the tables afterwards
    (the same values as stepping `transition()`, tested)."""
    import jax
    import jax.numpy as jnp

    check_int("n_envs", n_envs, 1)
    check_int("steps", steps, 1)
    k_sym, k_pol = jax.random.split(key)
    sym = symbol_of(jax.random.uniform(k_sym, (steps, n_envs), dtype=params.cdf.dtype), params)
    first = jnp.arange(steps, dtype=jnp.int32) % params.episode_length == 0  # [T]
    N = int(params.targets.shape[-1])
    S = int(params.next_config.shape[1])

    def obs_of(c: Array, u: Array) -> Array:
        o = params.obs_table[u]
        if observe_clock:
            o = jnp.concatenate([o, params.clocks[c] * params.clock_scale], -1)
        return o

    def body(c: Array, xs: tuple[Array, Array, Array]) -> tuple[Array, tuple[Array, Array]]:
        u_t, first_t, k_t = xs
        c = jnp.where(first_t, 0, c)
        if policy is None:
            a = jnp.zeros((n_envs, N) if N else (n_envs,), jnp.int32)
        else:
            a = jnp.asarray(policy(k_t, obs_of(c, u_t)), jnp.int32)
        return params.next_config[c, u_t], (c, a)

    keys = jax.random.split(k_pol, steps)
    _, (conf, act) = jax.lax.scan(body, jnp.zeros(n_envs, jnp.int32), (sym, first, keys))
    c, u, a = conf, sym, act  # [T, n]
    if not time_major:  # batch first from here: [n, T]
        c, u, a = c.T, u.T, jnp.swapaxes(a, 0, 1)
    flat = c * S + u
    cls = params.output.reshape(-1)[flat]
    td = params.time_dependent.reshape(-1)[flat]
    ok = (a == params.targets[cls]).all(-1) if N else a == cls
    return {"inputs": obs_of(c, u), "targets": params.targets[cls] if N else cls,
            "mask_td": td, "mask_ti": ~td, "theta": params.theta[c], "clocks": params.clocks[c],
            "actions": a, "rewards": ok.astype(jnp.float32),
            "episode_start": (jnp.broadcast_to(first[:, None], (steps, n_envs)) if time_major
                              else jnp.broadcast_to(first, (n_envs, steps)))}


def stream(task: str | Task, symbols: np.ndarray, backend: str = "numpy",
           **task_kwargs: Any) -> Mapping[str, np.ndarray]:
    """Run the kernel over a given symbol stream ``symbols [B, T]`` (one episode per row, ``T <=``
    the episode length): ``targets``, ``classes``, ``mask_td``, ``theta``, ``clocks``, ``inputs``
    ``[B, T, ...]`` as NumPy arrays; the semantics tests compare it with the reference stepper."""
    p = make_params(task, backend, **task_kwargs)
    sym = np.asarray(symbols)
    xp = _xp(p.cdf)
    s = start(xp.asarray(sym[:, 0]), p)
    rows: dict[str, list[Any]] = {k: [] for k in ("targets", "classes", "mask_td", "theta",
                                                  "clocks", "inputs")}
    for t in range(sym.shape[1]):
        inf = info(s, p)
        rows["targets"].append(inf["target"])
        rows["classes"].append(target_class(s, p))
        rows["mask_td"].append(inf["time_dependent"])
        rows["theta"].append(inf["theta"])
        rows["clocks"].append(inf["clocks"])
        rows["inputs"].append(observation(s, p))
        if t + 1 < sym.shape[1]:
            s = advance(s, xp.asarray(sym[:, t + 1]), p)
    return {k: np.stack([np.asarray(x) for x in v], 1) for k, v in rows.items()}


__all__ = ["Box", "Discrete", "FlipFlopFuncEnv", "GymnaxEnv", "Params",
           "RelativeTimingFlipFlopFuncEnv", "State", "TaskFuncEnv", "TemporalFlipFlopFuncEnv",
           "TimedAutomatonFuncEnv", "advance", "func_env_class", "info", "initial", "make_params",
           "observation", "reward", "rollout", "stack_params", "start", "stream", "symbol_of",
           "target_class", "terminal", "to_jax", "transition"]
