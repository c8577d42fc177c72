"""Native recurrent PPO: whole episodes, lock-step rollouts on the native vector env, BPTT.

One run = one config and seed in a run directory with the contract of
[`baselines.train.train()`][baselines.train.train]
(``config.json``, ``metrics.jsonl``, ``checkpoints/it_*.pt``, ``.lock``, optional ``tensorboard/``;
exact resume after SIGINT, SIGTERM or SIGKILL). The recipe, per update:

1. **Rollout.** ``n_envs`` envs start an episode together and play it to its end (every task here
   has a fixed episode length ``L``). Where the env declares that actions change no later
   observation (``observations_depend_on_actions = False``, every task here), the memory core
   reads the whole episode's observations in one call (``episode_observations``) and the episode
   is then stepped with the sampled actions to be scored; otherwise the core is stepped one
   observation at a time (``step``/``readout``). Both draw the same uniforms, so they choose the
   same actions (tested).
2. **Advantages.** GAE(γ, λ) over each episode, which ends at ``L`` (no bootstrap). The default
   ``gamma = 0`` is exact for these tasks: an action changes neither later observations nor later
   rewards, so a step's return is its own reward. Raise it for closed-loop tasks.
3. **Update.** ``epochs`` passes over minibatches of whole episodes (``n_envs / minibatches``
   each); the core is re-run over each episode from its initial state (BPTT through the whole
   episode); clipped surrogate, value loss, entropy bonus, Adam, gradient-norm clipping;
   advantages normalised per minibatch.

The agent is any model with the recurrent interface ([`baselines.models`][baselines.models]): a
built-in name
(``rnn``, ``gru``, ``lstm``, ``linear``, ``lru``, ``mingru``, ``mamba``) or ``module:Class``. Its
readout gives the policy's logits with the supervised head of the task (one logit per binary
channel, else one per class), so a checkpoint's core loads with
[`baselines.runs.load_model()`][baselines.runs.load_model] and the whole analysis (fixed points,
orbits, tracking) runs on
it; a linear value head reads the state. The Transformer has no state to carry and is refused.

``metrics.jsonl`` rows: ``it`` (update), ``frames``, ``reward``, ``td_acc``/``ti_acc`` of the
rollout (sampled actions), ``pg_loss``, ``v_loss``, ``entropy``, ``approx_kl``, ``clip_frac``,
``grad_norm``, ``wall_s``; every ``eval_every`` updates (and the last) also ``val_td_acc``,
``val_ti_acc``, ``val_acc`` of the deterministic policy on ``eval_episodes`` fixed episodes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor, nn

import ta_envs
from ta_envs.envs import TaskVectorEnv
from ta_envs.progress import progress as progress_reporter
from ta_envs.validation import (
    Interrupted,
    InvalidType,
    InvalidValue,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_int_fields,
    check_str,
)

from .config import TrainConfig
from .figures import rl_curves
from .models import (
    BUILTIN,
    build_model,
    has_recurrent_interface,
    head_spec,
    readout_of,
    require_recurrent,
)
from .native_ppo_jax import JAX_CORES
from .provenance import record_run, with_provenance
from .runs import (
    Checkpoint,
    MetricsLog,
    RunLock,
    atomic_write_json,
    check_same_run,
    checkpoint_path,
    checkpoints,
    load_checkpoint,
    load_weights,
    read_metrics,
    remove_checkpoints,
    save_rl_checkpoint,
)
from .train import DeferredInterrupt
from .workers import run_jobs

ALGO = "native-ppo"
#: Training env ``i`` of seed ``s`` is seeded ``TRAIN_SEED_BASE + s * n_envs + i`` (the evaluation
#: envs ``eval_seed + i`` stay below it); actions are sampled from a torch generator seeded
#: ``SAMPLE_SEED_BASE + s``, the core is initialised from one seeded ``s`` (as its supervised twin).
TRAIN_SEED_BASE = 1_000_000
SAMPLE_SEED_BASE = 1 << 32
#: Control cores by short name (not suite built-ins): ``mlp`` has no memory at all.
CONTROL_CORES = {"mlp": "baselines.models.memoryless:Memoryless"}


@dataclass(frozen=True)
class NativePPOConfig:
    """Everything that defines one native-PPO run (defaults: the recipe of ``docs/results/rl.md``).

    ``frames``: environment steps to train for (rounded up to whole updates of
    ``n_envs * episode_length`` frames); ``eval_every``: updates between evaluations, each of which
    also writes a checkpoint (what the analysis tracks).
    """

    env_id: str = "TemporalFlipFlop-v0"
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    observe_clock: bool = False
    core: str = "gru"
    hidden: int = 64
    model_kw: Mapping[str, Any] = field(default_factory=dict)
    frames: int = 2_000_000
    n_envs: int = 256
    epochs: int = 8
    minibatches: int = 8
    lr: float = 3e-3
    anneal_lr: bool = True  #: decay the learning rate linearly to 0 over the frame budget
    gamma: float = 0.0
    gae_lambda: float = 0.95
    clip: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 1.0
    seed: int = 0
    eval_every: int = 5
    eval_episodes: int = 256
    eval_seed: int = 10_000
    stop_at: float | None = None  #: stop once the evaluated accuracy reaches this
    step_by_step: bool = False  #: force the step-by-step rollout (a check, and closed-loop tasks)
    framework: str = "torch"  #: "torch", or "jax" (``baselines.native_ppo_jax``: fused updates)
    threads: int = 1
    tensorboard: bool = False

    def __post_init__(self) -> None:
        for name in ("env_kwargs", "model_kw"):
            v = getattr(self, name)
            if not isinstance(v, Mapping):
                raise InvalidType(f"{name} must be a mapping, got {type(v).__name__}")
            object.__setattr__(self, name, dict(v))
        check_str("env_id", self.env_id)
        check_str("core", self.core)
        check_int_fields(self, ("hidden", "frames", "n_envs", "epochs", "minibatches",
                                "eval_every", "eval_episodes", "threads"), 1)
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_int("eval_seed", self.eval_seed, 0, 2**31 - 1)
        check_float("lr", self.lr, above=0.0)
        check_float("gamma", self.gamma, 0.0, 1.0)
        check_float("gae_lambda", self.gae_lambda, 0.0, 1.0)
        check_float("clip", self.clip, above=0.0)
        check_float("ent_coef", self.ent_coef, 0.0)
        check_float("vf_coef", self.vf_coef, 0.0)
        check_float("max_grad_norm", self.max_grad_norm, above=0.0)
        if self.stop_at is not None:
            check_float("stop_at", self.stop_at, maximum=1.0, above=0.0)
        check_bool("observe_clock", self.observe_clock)
        check_bool("step_by_step", self.step_by_step)
        check_bool("anneal_lr", self.anneal_lr)
        check_bool("tensorboard", self.tensorboard)
        if self.n_envs % self.minibatches:
            raise InvalidValue(f"n_envs ({self.n_envs}) must be a multiple of minibatches "
                               f"({self.minibatches}): a minibatch holds whole episodes")
        if self.env_id not in gym.registry or not self.env_id.endswith("-v0") or \
                self.env_id not in ta_envs.FACTORIES:
            raise InvalidValue(f"env_id must be a ta_envs id {sorted(ta_envs.FACTORIES)}, got "
                               f"{self.env_id!r}")
        if self.core == "transformer":
            raise InvalidValue("core 'transformer' cannot run native-ppo: it carries no state from "
                               "step to step (no step/readout/initial_state), so the value head has "
                               "nothing to read and a rollout would recompute every prefix; use a "
                               f"recurrent core: {sorted(k for k, b in BUILTIN.items() if b.recurrent)}"
                               " or module:Class")
        check_choice("framework", self.framework, ("torch", "jax"))
        env = self.make_env(1)  # bad env kwargs fail here, before any work
        if self.framework == "jax":
            self._check_jax(env)
        budget = self.n_envs * env.task.episode_length * (4 + obs_dim(env))
        if budget * 8 > 4 << 30:
            raise InvalidValue(f"n_envs x episode_length = {self.n_envs} x "
                               f"{env.task.episode_length} needs about {budget * 8 / 2**30:.1f} GiB "
                               "per rollout (over the 4 GiB budget); lower n_envs or the episode "
                               "length")
        self.twin()  # the core's options are checked (without importing a user module)

    def _check_jax(self, env: TaskVectorEnv) -> None:
        why = None
        if self.core not in JAX_CORES:
            why = f"it runs the cores {list(JAX_CORES)}, not {self.core!r}"
        elif self.step_by_step or env.observations_depend_on_actions:
            why = ("it reads each episode's observations in one call, so it cannot step the core "
                   "one observation at a time (step_by_step, or a task whose observations depend "
                   "on the actions)")
        if why:
            raise InvalidValue(f"framework 'jax': {why}; use framework 'torch'")

    def make_env(self, n: int) -> TaskVectorEnv:
        """The native vector env of ``env_id`` with ``n`` envs."""
        spec = gym.spec(self.env_id)
        entry = spec.vector_entry_point
        if entry is None:
            raise InvalidValue(f"{self.env_id!r} has no native vector env")
        cls = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
        env = cls(num_envs=n, observe_clock=self.observe_clock,
                  **{**(spec.kwargs or {}), **self.env_kwargs})
        if not isinstance(env, TaskVectorEnv):
            raise InvalidValue(f"{self.env_id!r}'s vector entry point is not a ta_envs vector env")
        return env

    def twin(self) -> TrainConfig:
        """The supervised config of the same core on the same task (the analysis loads the
        policy's core through it; the suite's recipe trains it as the supervised twin)."""
        task = ta_envs.make_task(self.env_id, **self.env_kwargs)
        return TrainConfig(task=self.env_id, task_kwargs=self.env_kwargs, arch=self.arch,
                           hidden=self.hidden, model_kw=self.model_kw, seed=self.seed,
                           seq_len=int(task.episode_length))

    @property
    def arch(self) -> str:
        """The core's architecture name for
        [`baselines.models.build_model()`][baselines.models.build_model] (a control
        core's short name resolved to its ``module:Class``)."""
        return CONTROL_CORES.get(self.core, self.core)

    def updates(self, episode_length: int) -> int:
        """Updates needed for `frames` (whole rollouts)."""
        return max(1, math.ceil(self.frames / (self.n_envs * episode_length)))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable), with ``algo``."""
        return {"algo": ALGO, **asdict(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NativePPOConfig:
        """Inverse of `to_dict()`; unknown fields are an error."""
        d = dict(d)
        if d.pop("algo", ALGO) != ALGO:
            raise InvalidValue(f"not a {ALGO} config: algo={d.get('algo')!r}")
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - names)
        if unknown:
            raise InvalidValue(f"unknown native-ppo config fields {unknown}; allowed: "
                               f"{sorted(names)}")
        return cls(**d)


#: Config fields that may differ between a checkpoint and the run resuming from it.
RESUMABLE = ("frames", "eval_every", "threads", "tensorboard", "stop_at")


def obs_dim(env: TaskVectorEnv) -> int:
    """The size of one env's observation vector."""
    shape = env.single_observation_space.shape
    assert shape is not None and len(shape) == 1
    return int(shape[0])


# -- the agent ------------------------------------------------------------------------------------
class Agent(nn.Module):
    """A recurrent core (policy logits from its readout) and a linear value head on its state."""

    def __init__(self, core: nn.Module, kind: str) -> None:
        super().__init__()
        self.core, self.kind = core, kind
        self.cell = require_recurrent(core, "native-ppo's memory core")  # the typed view
        self.value = nn.Linear(self.cell.state_size, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x [B, T, I]`` -> ``(logits [B, T, O], values [B, T])``, from the initial state."""
        out = self.core(x)
        if not isinstance(out, tuple):
            raise InvalidValue(f"{type(self.core).__name__}.forward must return (logits, states) "
                               "for native-ppo (the value head reads the states)")
        logits, states = out
        return logits, self.value(states).squeeze(-1)

    def step(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One step ``h [B, S], x [B, I]`` -> ``(h', logits [B, O], value [B])``."""
        h = self.cell.step(h, x)
        return h, readout_of(self.cell, h, x), self.value(h).squeeze(-1)


def sample(kind: str, logits: Tensor, u: Tensor) -> Tensor:
    """Actions from ``logits [..., O]`` and uniforms ``u [..., O]`` by inverse CDF: independent
    Bernoullis (``bce``: action 1 where ``u < sigmoid(logit)``) or one categorical (``ce``, only
    ``u[..., 0]`` is used). Integer actions ``[..., O]`` (``bce``) or ``[...]`` (``ce``)."""
    if kind == "bce":
        return (u < torch.sigmoid(logits)).long()
    cdf = torch.softmax(logits, -1).cumsum(-1)
    return torch.searchsorted(cdf, u[..., :1].contiguous()).squeeze(-1).clamp(max=logits.shape[-1] - 1)


def log_prob_entropy(kind: str, logits: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
    """``(log π(a) [...], entropy [...])`` of the distribution the logits define."""
    if kind == "bce":
        a = actions.to(logits.dtype)
        logp = -(nn.functional.softplus(-logits) * a + nn.functional.softplus(logits) * (1 - a))
        p = torch.sigmoid(logits)
        ent = nn.functional.softplus(logits) - p * logits
        return logp.sum(-1), ent.sum(-1)
    lsm = torch.log_softmax(logits, -1)
    logp = lsm.gather(-1, actions[..., None]).squeeze(-1)
    return logp, -(lsm.exp() * lsm).sum(-1)


def greedy(kind: str, logits: Tensor) -> Tensor:
    """The deterministic policy's actions (the most likely one)."""
    return (logits > 0).long() if kind == "bce" else logits.argmax(-1)


def to_env_actions(kind: str, actions: Tensor, space: gym.Space[Any]) -> np.ndarray:
    """Policy actions ``[n, O]`` / ``[n]`` as the env's action array."""
    a = actions.numpy()
    if isinstance(space, gym.spaces.Discrete):
        return a[:, 0] if kind == "bce" else a
    return a


@dataclass(frozen=True)
class Rollout:
    """One update's episodes, batch first: ``obs [B, T, I]``, ``actions`` (``[B, T, O]`` or
    ``[B, T]``), ``logp``, ``values``, ``rewards``, ``td`` ``[B, T]``."""

    obs: Tensor
    actions: Tensor
    logp: Tensor
    values: Tensor
    rewards: Tensor
    td: Tensor


def _uniforms(g: torch.Generator, n: int, steps: int, width: int) -> Tensor:
    return torch.rand(n, steps, width, generator=g)


def rollout_episode(agent: Agent, env: TaskVectorEnv, first_obs: np.ndarray, g: torch.Generator,
                    step_by_step: bool) -> Rollout:
    """Play one episode in every env of ``env``, which has just been reset (every env) and showed
    ``first_obs [n, I]``: in one call of the core over the episode's observations, or (where
    observations depend on actions, or ``step_by_step``) one core step per env step."""
    n, L = env.num_envs, int(env.task.episode_length)
    with torch.no_grad():
        if not step_by_step:
            obs = torch.from_numpy(env.episode_observations()).transpose(0, 1)  # [n, L, I]
            logits, values = agent(obs)
            u = _uniforms(g, n, L, logits.shape[-1])
            actions = sample(agent.kind, logits, u)
            logp, _ = log_prob_entropy(agent.kind, logits, actions)
            rewards, td, seen = _play(env, actions)
            if not torch.equal(seen[:, 1:], obs[:, 1:]):
                raise RuntimeError(f"{type(env).__name__} declares that actions change no later "
                                   "observation, but stepping it showed other observations than "
                                   "episode_observations(); the declaration is wrong")
            return Rollout(obs, actions, logp, values, rewards, td)
        return _rollout_steps(agent, env, torch.from_numpy(first_obs), g, n, L)


def _play(env: TaskVectorEnv, actions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Step ``env`` through the episode with ``actions``; rewards, TD flags, observations seen."""
    n, L = env.num_envs, int(env.task.episode_length)
    rewards = np.zeros((L, n), np.float32)
    td = np.zeros((L, n), bool)
    seen = np.zeros((L, n, obs_dim(env)), np.float32)
    kind = "bce" if actions.dim() == 3 else "ce"
    space = env.single_action_space
    obs = None
    for t in range(L):
        if t:
            seen[t] = obs
        obs, r, term, _, info = env.step(to_env_actions(kind, actions[:, t], space))
        rewards[t] = r
        td[t] = info["time_dependent"]
    return (torch.from_numpy(rewards).T.contiguous(), torch.from_numpy(td).T.contiguous(),
            torch.from_numpy(seen).transpose(0, 1))


def _rollout_steps(agent: Agent, env: TaskVectorEnv, obs_now: Tensor, g: torch.Generator, n: int,
                   L: int) -> Rollout:
    h = agent.cell.initial_state(n)
    space = env.single_action_space
    obs, acts, logps, vals, rews, tds = [], [], [], [], [], []
    u_all: Tensor | None = None
    for t in range(L):
        h, logits, v = agent.step(h, obs_now)
        if u_all is None:
            u_all = _uniforms(g, n, L, logits.shape[-1])
        a = sample(agent.kind, logits, u_all[:, t])
        lp, _ = log_prob_entropy(agent.kind, logits, a)
        nxt, r, _, _, info = env.step(to_env_actions(agent.kind, a, space))
        obs.append(obs_now)
        acts.append(a)
        logps.append(lp)
        vals.append(v)
        rews.append(torch.from_numpy(np.array(r, np.float32)))
        tds.append(torch.from_numpy(np.array(info["time_dependent"], bool)))
        obs_now = torch.from_numpy(np.asarray(nxt, np.float32))
    return Rollout(torch.stack(obs, 1), torch.stack(acts, 1), torch.stack(logps, 1),
                   torch.stack(vals, 1), torch.stack(rews, 1), torch.stack(tds, 1))


def advantages(rewards: Tensor, values: Tensor, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
    """GAE over whole episodes ``[B, T]`` that end at ``T`` (no bootstrap); ``(adv, returns)``."""
    if gamma == 0.0:
        return rewards - values, rewards.clone()
    B, T = rewards.shape
    adv = torch.zeros_like(rewards)
    last = torch.zeros(B)
    for t in range(T - 1, -1, -1):
        nxt = values[:, t + 1] if t + 1 < T else torch.zeros(B)
        delta = rewards[:, t] + gamma * nxt - values[:, t]
        last = delta + gamma * lam * last
        adv[:, t] = last
    return adv, adv + values


def update(agent: Agent, opt: torch.optim.Optimizer, ro: Rollout, cfg: NativePPOConfig,
           g: torch.Generator) -> dict[str, float]:
    """``cfg.epochs`` passes of clipped PPO over minibatches of whole episodes; mean statistics."""
    adv, ret = advantages(ro.rewards, ro.values, cfg.gamma, cfg.gae_lambda)
    n = ro.obs.shape[0]
    size = n // cfg.minibatches
    stats: dict[str, list[float]] = {k: [] for k in ("pg_loss", "v_loss", "entropy", "approx_kl",
                                                      "clip_frac", "grad_norm")}
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=g)
        for k in range(cfg.minibatches):
            idx = perm[k * size : (k + 1) * size]
            logits, values = agent(ro.obs[idx])
            logp, ent = log_prob_entropy(agent.kind, logits, ro.actions[idx])
            a = adv[idx]
            a = (a - a.mean()) / (a.std() + 1e-8)
            log_ratio = logp - ro.logp[idx]
            ratio = log_ratio.exp()
            pg = -torch.min(ratio * a, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * a).mean()
            v_loss = 0.5 * ((values - ret[idx]) ** 2).mean()
            entropy = ent.mean()
            loss = pg + cfg.vf_coef * v_loss - cfg.ent_coef * entropy
            if not torch.isfinite(loss):
                raise FloatingPointError(f"native-ppo: the loss became {float(loss)} (lower lr?)")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = float(nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm))
            opt.step()
            with torch.no_grad():
                stats["pg_loss"].append(float(pg))
                stats["v_loss"].append(float(v_loss))
                stats["entropy"].append(float(entropy))
                stats["approx_kl"].append(float(((ratio - 1) - log_ratio).mean()))
                stats["clip_frac"].append(float(((ratio - 1).abs() > cfg.clip).float().mean()))
                stats["grad_norm"].append(gn)
    return {k: float(np.mean(v)) for k, v in stats.items()}


def _acc(ok: Tensor, mask: Tensor) -> float | None:
    return float(ok[mask].float().mean()) if bool(mask.any()) else None


def evaluate(agent: Agent, cfg: NativePPOConfig, env: TaskVectorEnv | None = None
             ) -> dict[str, float | None]:
    """The deterministic policy on ``eval_episodes`` episodes (envs seeded ``eval_seed + i``):
    accuracy (reward) on TD steps, on TI steps and on all steps."""
    env = cfg.make_env(cfg.eval_episodes) if env is None else env
    env.reset(seed=cfg.eval_seed)
    with torch.no_grad():
        obs = torch.from_numpy(env.episode_observations()).transpose(0, 1)
        logits, _ = agent(obs)
        rewards, td, _ = _play(env, greedy(agent.kind, logits))
    ok = rewards > 0.5
    return {"val_td_acc": _acc(ok, td), "val_ti_acc": _acc(ok, ~td),
            "val_acc": float(ok.float().mean())}


# -- a run ----------------------------------------------------------------------------------------
@dataclass
class Learner:
    """The live objects of one run: agent, optimiser, sampling generator, training and evaluation
    envs (`new_learner()` builds them; `update_once()` advances them by one update)."""

    agent: Agent
    opt: torch.optim.Optimizer
    gen: torch.Generator
    env: TaskVectorEnv
    eval_env: TaskVectorEnv
    episode: int | None = None  #: the training envs' current episode (None: not reset yet)


def build_agent(cfg: NativePPOConfig) -> Agent:
    """A fresh agent: the core initialised from a generator seeded with ``cfg.seed``."""
    twin = cfg.twin()
    task = twin.make_task()
    out, kind = head_spec(task)
    gen = torch.Generator().manual_seed(cfg.seed)
    n_in = obs_dim(cfg.make_env(1))
    core = build_model(cfg.arch, n_in, cfg.hidden, out, generator=gen, **cfg.model_kw)
    if not has_recurrent_interface(core):
        raise InvalidValue(f"core {cfg.core!r} lacks the recurrent interface (step, readout, "
                           "initial_state, state_size) that native-ppo needs")
    agent = Agent(core, kind)
    with torch.no_grad():  # the value head from the same stream, after the core
        bound = 1 / math.sqrt(agent.value.in_features)
        agent.value.weight.uniform_(-bound, bound, generator=gen)
        agent.value.bias.zero_()
    return agent


def new_learner(cfg: NativePPOConfig) -> Learner:
    """Fresh objects for ``cfg`` (the agent from `build_agent()`, Adam, the sampler seeded
    ``SAMPLE_SEED_BASE + seed``)."""
    agent = build_agent(cfg)
    opt = torch.optim.Adam(agent.parameters(), lr=cfg.lr, eps=1e-5)
    gen = torch.Generator().manual_seed(SAMPLE_SEED_BASE + cfg.seed)
    return Learner(agent, opt, gen, cfg.make_env(cfg.n_envs), cfg.make_env(cfg.eval_episodes))


def start_episode(st: Learner, cfg: NativePPOConfig, k: int) -> np.ndarray:
    """Put every training env at the start of episode ``k`` of its own stream and return the first
    observations ``[n_envs, I]``. Env ``i`` is seeded ``TRAIN_SEED_BASE + seed * n_envs + i`` once;
    each later episode is one ``reset()``, so a resumed run (a fresh env fast-forwarded ``k``
    episodes) sees exactly the episodes the uninterrupted run saw."""
    if st.episode is None or st.episode != k - 1:
        obs, _ = st.env.reset(seed=TRAIN_SEED_BASE + cfg.seed * cfg.n_envs)
        for _ in range(k):
            obs, _ = st.env.reset()
    else:
        obs, _ = st.env.reset()
    st.episode = k
    return np.asarray(obs, np.float32)


class TorchEngine:
    """The torch engine: a `Learner` advanced one update per call (the interface the run loop
    drives; the JAX engine, ``baselines.native_ppo_jax.JaxEngine``, has the same)."""

    def __init__(self, cfg: NativePPOConfig) -> None:
        torch.set_num_threads(cfg.threads)
        self.cfg, self.st = cfg, new_learner(cfg)
        self.step_by_step = cfg.step_by_step or self.st.env.observations_depend_on_actions

    @property
    def episode_length(self) -> int:
        """``L``, the steps of one episode."""
        return int(self.st.env.task.episode_length)

    def chunk(self, it: int, total: int) -> int:
        """Updates per call: one."""
        return 1

    def advance(self, it: int, n: int, total: int, frames: int) -> list[dict[str, Any]]:
        """Updates ``it + 1 .. it + n`` of ``total``; their metrics rows without ``wall_s``."""
        rows = []
        for k in range(it + 1, it + n + 1):
            frames += self.cfg.n_envs * self.episode_length
            evaluated = k % self.cfg.eval_every == 0 or k == total
            rows.append(update_once(self.st, self.cfg, k, total, frames, self.step_by_step,
                                    evaluated))
        return rows

    def evaluate(self) -> dict[str, float | None]:
        """The deterministic policy on the evaluation episodes."""
        return evaluate(self.st.agent, self.cfg, self.st.eval_env)

    def save(self, path: Path, it: int, frames: int, wall: float) -> None:
        """Write the checkpoint of update ``it``."""
        st = self.st
        save_rl_checkpoint(path, it, self.cfg.twin(), self.cfg.to_dict(), st.agent.core,
                           st.agent.value, st.opt, st.gen.get_state(), frames, wall)

    def restore(self, ck: Checkpoint) -> None:
        """Take the weights, optimiser and sampler state of a loaded checkpoint."""
        st, extra = self.st, ck.extra or {}
        load_weights(st.agent.core, ck.model, ck.path)
        load_weights(st.agent.value, extra["value"], ck.path)
        st.opt.load_state_dict(ck.optimizer)
        st.gen.set_state(extra["sample_rng"])


def make_engine(cfg: NativePPOConfig) -> Any:
    """The engine of ``cfg.framework``: `TorchEngine` or the JAX one."""
    if cfg.framework == "jax":
        from .native_ppo_jax import JaxEngine

        return JaxEngine(cfg)
    return TorchEngine(cfg)


def _restore(engine: Any, cfg: NativePPOConfig, path: Path) -> tuple[int, float, int]:
    ck = load_checkpoint(path)
    if ck.kind != ALGO:
        raise InvalidValue(f"{path} is a {ck.kind} checkpoint, not a {ALGO} one")
    extra = ck.extra or {}
    stored = NativePPOConfig.from_dict(extra["rl_config"]).to_dict()
    check_same_run(path, stored, cfg.to_dict(), RESUMABLE)
    engine.restore(ck)
    return ck.iteration, ck.wall_s, int(extra["frames"])


@dataclass(frozen=True)
class NativeResult:
    """How a call to `train_native()` ended."""

    run_dir: Path
    updates: int
    frames: int
    final: dict[str, Any]
    wall_s: float


def train_native(cfg: NativePPOConfig, run_dir: str | Path, resume: bool = True,
                 progress: bool = True) -> NativeResult:
    """Train one native-PPO run into ``run_dir`` (resuming from its last checkpoint).

    Args:
        cfg: the whole recipe: env, core, PPO hyper-parameters, budget, evaluation.
        run_dir: the run directory (``config.json``, ``metrics.jsonl``, ``checkpoints/``); one
            writer at a time.
        resume: continue from the last checkpoint (exactly).
        progress: show a progress bar with an ETA.

    Returns:
        The last update, the frames so far, the last metrics row and the training time summed
        over sessions.

    Raises:
        ValueError: a run directory of another configuration, or a bad configuration.
        RunLockedError: another process is writing ``run_dir``.
        Interrupted: SIGINT or SIGTERM (after a checkpoint is written).
    """
    run_dir = Path(run_dir)
    with RunLock(run_dir):
        engine = make_engine(cfg)
        log = MetricsLog(run_dir / "metrics.jsonl")
        try:
            return _train_locked(engine, cfg, run_dir, log, resume, progress)
        finally:
            log.close()


def _resume(engine: Any, cfg: NativePPOConfig, run_dir: Path, log: MetricsLog, resume: bool
            ) -> tuple[int, float, int, dict[str, Any] | None]:
    existing = checkpoints(run_dir) if resume else []
    if existing:
        start, wall0, frames = _restore(engine, cfg, existing[-1])
        kept = log.truncate_to(start)
        if not kept or kept[-1].get("it") != start:
            raise InvalidValue(f"{run_dir / 'metrics.jsonl'} has no row for update {start} of "
                               f"checkpoint {existing[-1].name}; rerun with --no-resume")
        return start, wall0, frames, kept[-1]
    remove_checkpoints(checkpoints(run_dir))
    log.truncate_to(-1)
    return 0, 0.0, 0, None


def _reached(cfg: NativePPOConfig, row: Mapping[str, Any]) -> bool:
    if cfg.stop_at is None:
        return False
    v = row.get("val_td_acc")
    v = row.get("val_acc") if v is None else v
    return v is not None and v >= cfg.stop_at


def update_once(st: Learner, cfg: NativePPOConfig, it: int, total: int, frames: int,
                step_by_step: bool, evaluated: bool) -> dict[str, Any]:
    """Update ``it`` of ``total``: rollout, PPO epochs, and (``evaluated``) the evaluation; its
    metrics row without ``wall_s``."""
    if cfg.anneal_lr:
        for group in st.opt.param_groups:
            group["lr"] = cfg.lr * (1 - (it - 1) / total)
    m: dict[str, Any] = {"it": it}
    first = start_episode(st, cfg, it - 1)
    ro = rollout_episode(st.agent, st.env, first, st.gen, step_by_step)
    m.update(update(st.agent, st.opt, ro, cfg, st.gen))
    ok = ro.rewards > 0.5
    m.update({"frames": frames, "reward": float(ro.rewards.mean()), "td_acc": _acc(ok, ro.td),
              "ti_acc": _acc(ok, ~ro.td)})
    if evaluated:
        m.update(evaluate(st.agent, cfg, st.eval_env))
    return m


def _tensorboard(cfg: NativePPOConfig, run_dir: Path, start: int) -> Any:
    if not cfg.tensorboard:
        return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(run_dir / "tensorboard"), purge_step=start + 1)


def _log_tensorboard(tb: Any, m: Mapping[str, Any]) -> None:
    if tb is None:
        return
    for k, v in m.items():
        if k not in ("it", "frames") and v is not None:
            tb.add_scalar(("val/" if k.startswith("val_") else "train/") + k, v, m["frames"])


def _train_locked(engine: Any, cfg: NativePPOConfig, run_dir: Path, log: MetricsLog,
                  resume: bool, show: bool) -> NativeResult:
    start, wall0, frames, last = _resume(engine, cfg, run_dir, log, resume)
    L = engine.episode_length
    total = cfg.updates(L)
    if last is not None and (start >= total or _reached(cfg, last)):
        return NativeResult(run_dir, start, frames, last, wall0)
    atomic_write_json(run_dir / "config.json", cfg.to_dict())
    record_run(run_dir)
    t0 = time.perf_counter() - wall0
    tb = _tensorboard(cfg, run_dir, start)
    if last is None:
        last = {"it": 0, "frames": 0, **engine.evaluate(), "wall_s": 0.0}
        log.append(last)
        log.sync()
        engine.save(checkpoint_path(run_dir, 0), 0, 0, 0.0)
    bar = progress_reporter(total * cfg.n_envs * L, f"{ALGO} {cfg.core} seed {cfg.seed}", show,
                            initial=frames, leave=False)
    loop = _Loop(engine, cfg, run_dir, log, tb, bar, t0, total, start, frames, last, it=start)
    try:
        with DeferredInterrupt() as interrupt:
            loop.run(interrupt)
    except KeyboardInterrupt:
        loop.keep_work()
        raise
    finally:
        bar.close()
        if tb is not None:
            tb.close()
    # the training time as the checkpoints record it (a resume continues from that clock)
    return NativeResult(run_dir, loop.it, loop.frames, loop.last, float(loop.last["wall_s"]))


@dataclass
class _Loop:
    """The PPO loop's state: the last completed update, the frames so far and its metrics row."""

    engine: Any
    cfg: NativePPOConfig
    run_dir: Path
    log: MetricsLog
    tb: Any
    bar: Any
    t0: float
    total: int
    start: int
    frames: int
    last: dict[str, Any]
    it: int = 0
    at_boundary: bool = True  # the engine's state is that after update ``it``

    def run(self, interrupt: DeferredInterrupt) -> None:
        cfg, engine = self.cfg, self.engine
        while self.it < self.total:
            n = engine.chunk(self.it, self.total)
            self.at_boundary = False
            rows = engine.advance(self.it, n, self.total, self.frames)
            wall = round(time.perf_counter() - self.t0, 3)
            for m in rows:  # the rows of one engine call share its end time
                m["wall_s"] = wall
                self.log.append(m)
                _log_tensorboard(self.tb, m)
            m = rows[-1]
            self.it, self.frames, self.last, self.at_boundary = m["it"], m["frames"], m, True
            evaluated = "val_acc" in m
            stop = self.it >= self.total or _reached(cfg, m)
            if evaluated or stop:
                self.log.sync()
                engine.save(checkpoint_path(self.run_dir, self.it), self.it, self.frames, wall)
            self.bar.update(n * cfg.n_envs * engine.episode_length)
            if evaluated:
                self.bar.set_postfix(td=m["val_td_acc"], acc=m["val_acc"])
            if interrupt.requested:
                raise Interrupted(interrupt.signum)
            if stop:
                break

    def keep_work(self) -> None:
        """On an interrupt: checkpoint the last completed update unless it already is."""
        done = checkpoint_path(self.run_dir, self.it).exists()
        if self.at_boundary and self.it > self.start and not done:
            self.log.sync()
            self.engine.save(checkpoint_path(self.run_dir, self.it), self.it, self.frames,
                             time.perf_counter() - self.t0)


# -- seeds ----------------------------------------------------------------------------------------
def _seed_job(job: tuple[dict[str, Any], str, bool]) -> str:
    cfg, run_dir, resume = job
    train_native(NativePPOConfig.from_dict(cfg), run_dir, resume=resume, progress=False)
    return run_dir


def frames_to_solve(rows: Sequence[Mapping[str, Any]], threshold: float = 0.99) -> int | None:
    """Frames at the first evaluation whose TD accuracy (all-step accuracy for a task without TD
    steps) reaches ``threshold`` (None: never, a censored run)."""
    for r in rows:
        if "val_acc" not in r:
            continue
        score = r["val_td_acc"] if r.get("val_td_acc") is not None else r["val_acc"]
        if score >= threshold:
            return int(r["frames"])
    return None


def _or(v: float | None, default: float) -> float:
    return default if v is None else v


def train_seeds_native(cfg: NativePPOConfig, seeds: Sequence[int], out: str | Path,
                       workers: int = 1, backend: str = "local", address: str | None = None,
                       resume: bool = True, progress: bool = True) -> dict[str, Any]:
    """One run per seed in ``out/seed_XXX`` (worker processes, or Ray tasks with
    ``backend="ray"``), then ``summary.json`` (per seed: final evaluation, frames to solve) and
    ``learning_curves.png``; returns the summary.

    Args:
        cfg: the recipe; its ``seed`` is replaced by each of ``seeds``.
        seeds: the seeds (non-negative ints).
        out: the folder of the seeds' run directories.
        workers: parallel runs.
        backend: ``"local"`` or ``"ray"``.
        address: the Ray cluster to join.
        resume: continue each run from its last checkpoint.
        progress: show progress.

    Returns:
        The summary written to ``summary.json``.

    Raises:
        ValueError: no seeds, a bad seed or configuration.
    """
    if len(seeds) == 0:
        raise InvalidValue("seeds must name at least one seed")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(replace(cfg, seed=check_int("seed", s, 0)).to_dict(), str(out / f"seed_{s:03d}"),
             resume) for s in seeds]
    if workers == 1 and backend == "local":  # in this process, with a progress bar per seed
        for c, run_dir, res in jobs:
            train_native(NativePPOConfig.from_dict(c), run_dir, resume=res, progress=progress)
    else:
        run_jobs(_seed_job, jobs, workers, backend=backend, address=address, desc="seeds",
                 show_progress=progress)
    runs = [read_metrics(j[1]) for j in jobs]
    nan = float("nan")
    curves = [[{"steps": r["frames"], "td_acc": _or(r.get("val_td_acc"), nan),
                "ti_acc": _or(r.get("val_ti_acc"), nan), "acc": r["val_acc"]}
               for r in rows if "val_acc" in r] for rows in runs]
    per_seed = [{"seed": s, "final": c[-1], "frames_to_solve": frames_to_solve(rows),
                 "frames": rows[-1]["frames"], "wall_s": rows[-1]["wall_s"]}
                for s, c, rows in zip(seeds, curves, runs)]
    summary = {"config": {k: v for k, v in cfg.to_dict().items() if k != "seed"},
               "label": f"{ALGO} ({cfg.core})" + (" + clock" if cfg.observe_clock else ""),
               "runs": per_seed}
    atomic_write_json(out / "summary.json", with_provenance(summary))
    rl_curves(curves, out / "learning_curves.png",
              f"{summary['label']} on {cfg.env_id} {cfg.env_kwargs or ''}")
    return summary


__all__ = ["ALGO", "Agent", "Learner", "NativePPOConfig", "NativeResult", "Rollout", "advantages",
           "build_agent", "evaluate", "frames_to_solve", "greedy", "log_prob_entropy",
           "new_learner", "rollout_episode", "sample", "start_episode", "train_native",
           "train_seeds_native", "update", "update_once"]
