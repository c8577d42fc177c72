"""Stable-baselines3 agents on the timed-automaton environments (needs the ``rl`` extra).

- `SB3VecEnv` hands the native [`ta_envs.envs.TaskVectorEnv`][ta_envs.envs.TaskVectorEnv] to SB3 as a
``VecEnv``
  (SB3 semantics: a finished env is reset in the same step and its last observation is in
  ``info["terminal_observation"]``); env ``i`` seeded ``s`` replays ``DummyVecEnv``'s env ``i``.
  Every info carries ``time_dependent`` and ``target`` of the step just scored. A ``MultiBinary(N)``
  action space (FlipFlop-v0) is presented as ``MultiDiscrete([2] * N)``: the same actions, and
  sb3-contrib's RecurrentPPO, whose rollout buffer fails on ``MultiBinary``, can train on it.
- Agents (`make_agent()`): ``ppo`` (``MlpPolicy``), ``ppo-framestack`` (PPO on the last
  ``frame_stack`` observations) and ``recurrent-ppo`` (sb3-contrib) with an LSTM core or, through
  `RecurrentCorePolicy`, a GRU or tanh-RNN core, or any model with the recurrent interface
  (a built-in name such as ``mingru``, or ``module:Class``) as the policy's memory.
- `evaluate_agent()`: deterministic policy on fixed evaluation seeds, TD and TI accuracy.
- `train_agent()`: one seed, evaluated every ``eval_every`` steps, logs (CSV + TensorBoard),
  a resumable model checkpoint after each evaluation.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack, VecMonitor
from torch import nn

import ta_envs  # noqa: F401  (registers the ids)
from ta_envs.envs import TaskVectorEnv
from ta_envs.validation import InvalidValue, check_int, check_int_fields

from .figures import rl_curves
from .models import build_model, check_arch_options, readout_of, require_recurrent
from .provenance import with_provenance
from .runs import atomic_write_json
from .workers import run_parallel

ALGOS = ("ppo", "ppo-framestack", "recurrent-ppo")
CORES = ("lstm", "gru", "rnn")


# -- the VecEnv adapter --------------------------------------------------------------------------
class SB3VecEnv(VecEnv):
    """``SB3VecEnv(env_id, num_envs, **env_kwargs)``: a registered id (or automaton task) as an SB3
    ``VecEnv`` running on the native NumPy vector env."""

    def __init__(self, env_id: str, num_envs: int = 8, **env_kwargs: Any) -> None:
        spec = gym.spec(env_id)
        vec_entry = spec.vector_entry_point
        if vec_entry is None:
            raise InvalidValue(f"{env_id!r} has no native vector env")
        cls = gym.envs.registration.load_env_creator(vec_entry) if isinstance(vec_entry, str) \
            else vec_entry
        kwargs = {**(spec.kwargs or {}), **env_kwargs}
        venv = cls(num_envs=num_envs, **kwargs)
        if not isinstance(venv, TaskVectorEnv):
            raise InvalidValue(f"{env_id!r}'s vector entry point is not a ta_envs vector env")
        self.venv = venv
        self.env_id = env_id
        act = self.venv.single_action_space
        if isinstance(act, gym.spaces.MultiBinary):  # same actions; RecurrentPPO's rollout
            act = gym.spaces.MultiDiscrete([2] * int(np.prod(act.shape)))  # buffer fails on it
        super().__init__(num_envs, self.venv.single_observation_space, act)
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        """Reset every env; returns observations (n_envs, obs_dim)."""
        seeds = None if self._seeds[0] is None else [int(s or 0) for s in self._seeds]
        obs, _ = self.venv.reset(seed=seeds)
        self._reset_seeds()
        self._reset_options()
        return np.array(obs, dtype=np.float32)

    def step_async(self, actions: np.ndarray) -> None:
        """Store actions (n_envs,) for the next ``step_wait``."""
        a = np.asarray(actions)
        if a.dtype.kind == "f":  # SB3 hands MultiBinary actions over as floats 0.0/1.0
            ai = a.astype(np.int64)
            if not np.array_equal(ai, a):
                raise InvalidValue(f"actions must be whole numbers for {self.action_space}, got {a}")
            a = ai
        self._actions = a

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Step every env with the stored actions (SB3 VecEnv contract, autoreset)."""
        obs, reward, term, trunc, info = self.venv.step(self._actions)
        done = term | trunc
        td, target = info["time_dependent"].tolist(), np.asarray(info["target"]).tolist()
        infos: list[dict[str, Any]] = [{"time_dependent": d, "target": t} for d, t in zip(td, target)]
        obs = np.array(obs, dtype=np.float32)
        if done.any():
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = bool(trunc[i] and not term[i])
            new, _ = self.venv.reset(options={"reset_mask": done})
            obs[done] = new[done]
        return obs, np.asarray(reward, dtype=np.float32), done, infos

    def close(self) -> None:
        """Release the underlying vector env."""
        self.venv.close()

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """Attribute of the underlying env, once per selected index."""
        return [getattr(self.venv, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Set an attribute on the underlying env."""
        raise AttributeError(f"SB3VecEnv envs share one native vector env; cannot set "
                             f"{attr_name!r} per env")

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any
                   ) -> list[Any]:
        """Call a method of the underlying env, once per selected index."""
        out = getattr(self.venv, method_name)(*args, **kwargs)
        return [out] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """Whether the underlying env is wrapped by ``wrapper_class`` (never)."""
        return [False] * len(self._indices(indices))


# -- recurrent cores for RecurrentPPO ------------------------------------------------------------
class _LSTMShaped(nn.Module):
    """A GRU or tanh RNN behind ``nn.LSTM``'s interface (state ``(h, c)``; ``c`` passes through),
    so sb3-contrib's recurrent policy can run it."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 core: str = "gru") -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.rnn: nn.Module = (nn.GRU(input_size, hidden_size, num_layers) if core == "gru" else
                               nn.RNN(input_size, hidden_size, num_layers, nonlinearity="tanh"))

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, c = state
        out, h = self.rnn(x, h.contiguous())
        return out, (h, c)


class _CoreAdapter(nn.Module):
    """Any model with the recurrent interface behind ``nn.LSTM``'s interface: its state is packed
    into the ``(h, c)`` pair SB3 stores (``2 · hidden`` numbers at most, zero-padded), and its
    ``readout(h, x)`` (built with ``output_size = hidden``) gives the features the policy and
    value heads read. SB3 zeroes the pair at episode starts, which is ``initial_state`` for every
    built-in."""

    def __init__(self, model: nn.Module, input_size: int, hidden_size: int) -> None:
        super().__init__()
        core = require_recurrent(model, "a RecurrentPPO core")
        if core.state_size > 2 * hidden_size:
            raise InvalidValue(f"a core's state ({core.state_size} numbers) must fit SB3's "
                               f"(h, c) pair of 2 x {hidden_size}; lower its width")
        self.model = model
        self.core = core
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, 1

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        h, c = state
        H, S = self.hidden_size, self.core.state_size
        s = torch.cat([h[0], c[0]], dim=-1)[:, :S]
        out = []
        for xt in x:  # x: [T, B, F] (sequence first, as nn.LSTM)
            s = self.core.step(s, xt)
            out.append(readout_of(self.core, s, xt))
        full = torch.nn.functional.pad(s, (0, 2 * H - S))
        return torch.stack(out), (full[None, :, :H].contiguous(), full[None, :, H:].contiguous())


def make_core(core: str, input_size: int, hidden_size: int, num_layers: int = 1) -> nn.Module:
    """An LSTM-shaped recurrent core: ``gru``/``rnn`` (fused torch layers), or any architecture
    with the recurrent interface (a built-in name or ``module:Class``) through an adapter.

    Args:
        core: ``gru``, ``rnn``, another built-in with ``step``, or ``module:Class``.
        input_size: observation features.
        hidden_size: the state width.
        num_layers: stacked layers (the fused torch cores only).

    Returns:
        A module with an LSTM's calling convention.

    Raises:
        TypeError: an architecture without the recurrent interface.
        ValueError: an unknown architecture or a bad size.
    """
    if core in ("gru", "rnn"):
        return _LSTMShaped(input_size, hidden_size, num_layers, core)

    return _CoreAdapter(build_model(core, input_size, hidden_size, hidden_size), input_size,
                        hidden_size)


class RecurrentCorePolicy(RecurrentActorCriticPolicy):
    """sb3-contrib's ``MlpLstmPolicy`` with its LSTM(s) replaced by ``core``: ``"gru"`` or
    ``"rnn"`` (tanh), or any architecture with the recurrent interface (``"mingru"``,
    ``"module:Class"``), same hidden size (``lstm_hidden_size``)."""

    def __init__(self, *args: Any, core: str = "gru", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.core = core
        n = self.lstm_actor.num_layers
        # the cores are LSTM-shaped (same call signature and state pair), not nn.LSTM subclasses
        actor = make_core(core, self.features_dim, self.lstm_output_dim, n)
        self.lstm_actor = actor  # type: ignore[assignment]
        if self.lstm_critic is not None:
            critic = make_core(core, self.features_dim, self.lstm_output_dim, n)
            self.lstm_critic = critic  # type: ignore[assignment]
        make_optimizer: Any = self.optimizer_class  # SB3 types it as the Optimizer base class
        self.optimizer = make_optimizer(self.parameters(), lr=self._lr0, **self.optimizer_kwargs)

    def _build(self, lr_schedule: Any) -> None:
        self._lr0 = lr_schedule(1)
        super()._build(lr_schedule)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "core": self.core}


# -- agents --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RLConfig:
    """One RL run. ``hidden``: width of the policy/value MLP layers and of the recurrent core."""

    algo: str = "ppo"
    env_id: str = "TemporalFlipFlop-v0"
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    observe_clock: bool = False
    steps: int = 100_000
    n_envs: int = 16
    n_steps: int = 128
    batch_size: int = 256
    lr: float = 3e-4
    ent_coef: float = 0.0
    hidden: int = 64
    core: str = "lstm"
    frame_stack: int = 8
    seed: int = 0
    eval_every: int = 10_000
    eval_episodes: int = 32
    eval_seed: int = 10_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "env_kwargs", dict(self.env_kwargs))
        if self.algo not in ALGOS:
            raise InvalidValue(f"algo must be one of {ALGOS}, got {self.algo!r}")
        if self.core not in CORES:

            check_arch_options(self.core, None, None, {})  # a built-in name or module:Class
        if self.core != "lstm" and self.algo != "recurrent-ppo":
            raise InvalidValue(f"core={self.core!r} needs algo='recurrent-ppo'")
        check_int_fields(self, ("steps", "n_envs", "n_steps", "batch_size", "hidden",
                                "frame_stack", "eval_every", "eval_episodes"), 1)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidValue(f"lr must be a finite number > 0, got {self.lr!r}")
        if not isinstance(self.observe_clock, bool):
            raise TypeError(f"observe_clock must be a bool, got {self.observe_clock!r}")
        if self.env_id not in gym.registry:
            raise InvalidValue(f"env_id {self.env_id!r} is not registered (ta_envs ids: "
                               f"{list(ta_envs.FACTORIES)})")
        self.make_env(1).close()  # bad env kwargs fail here, before any work

    def make_env(self, n: int) -> VecEnv:
        """The (wrapped) SB3 vector env this config trains and evaluates on."""
        env: VecEnv = SB3VecEnv(self.env_id, n, observe_clock=self.observe_clock, **self.env_kwargs)
        env = VecMonitor(env)
        if self.algo == "ppo-framestack":
            env = VecFrameStack(env, self.frame_stack)
        return env

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def make_agent(cfg: RLConfig, env: VecEnv, tensorboard_log: str | None = None) -> Any:
    """A fresh SB3 model for ``cfg`` on ``env``.

    Args:
        cfg: the agent's algorithm, core and hyper-parameters.
        env: the SB3 vector env it learns on.
        tensorboard_log: a TensorBoard folder (None: none).

    Returns:
        An SB3 (or sb3-contrib) model.
    """
    common: dict[str, Any] = {
        "n_steps": cfg.n_steps, "batch_size": cfg.batch_size, "learning_rate": cfg.lr,
        "ent_coef": cfg.ent_coef, "seed": cfg.seed, "verbose": 0, "device": "cpu",
        "tensorboard_log": tensorboard_log}
    if cfg.algo in ("ppo", "ppo-framestack"):
        return PPO("MlpPolicy", env, policy_kwargs={"net_arch": [cfg.hidden, cfg.hidden]}, **common)
    pk: dict[str, Any] = {"lstm_hidden_size": cfg.hidden, "net_arch": [cfg.hidden]}
    if cfg.core == "lstm":
        return RecurrentPPO("MlpLstmPolicy", env, policy_kwargs=pk, **common)
    return RecurrentPPO(RecurrentCorePolicy, env, policy_kwargs={**pk, "core": cfg.core},
                        **common)


def evaluate_agent(model: Any, cfg: RLConfig, episodes: int | None = None,
                   seed: int | None = None) -> dict[str, float]:
    """Deterministic policy for one episode in each of ``episodes`` envs seeded ``seed + i``:
    accuracy (mean reward) on TD steps, on TI steps and overall.

    Args:
        model: an SB3 model.
        cfg: the run's config (env, episodes).
        episodes: evaluation episodes (default ``cfg.eval_episodes``).
        seed: the first env seed (default: the config's evaluation seed).

    Returns:
        ``td_acc``, ``ti_acc`` and ``acc``.
    """
    n = episodes or cfg.eval_episodes
    env = cfg.make_env(n)
    env.seed(cfg.eval_seed if seed is None else seed)
    obs = env.reset()
    state = None
    start = np.ones(n, dtype=bool)
    L = int(env.get_attr("task")[0].episode_length)
    rewards, td = np.zeros((L, n)), np.zeros((L, n), bool)
    for t in range(L):
        action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
        obs, r, done, infos = env.step(action)
        rewards[t] = r
        td[t] = [i["time_dependent"] for i in infos]
        start = done
    env.close()
    return {"td_acc": float(rewards[td].mean()) if td.any() else float("nan"),
            "ti_acc": float(rewards[~td].mean()) if (~td).any() else float("nan"),
            "acc": float(rewards.mean())}


def train_agent(cfg: RLConfig, run_dir: str | Path, progress: bool = True, resume: bool = True
                ) -> list[dict[str, Any]]:
    """Train one seed into ``run_dir``: ``config.json``, ``eval.jsonl`` (one row per evaluation:
    ``steps``, ``td_acc``, ``ti_acc``, ``acc``, ``fps``), ``model.zip`` after each evaluation (a
    repeated call resumes from it), SB3 logs (CSV, TensorBoard when installed) under ``logs/``.

    Args:
        cfg: the agent, env, budget and evaluation schedule.
        run_dir: the run directory.
        progress: show a progress bar.
        resume: continue from ``model.zip``.

    Returns:
        The evaluation rows.

    Raises:
        ValueError: a run directory of another configuration.
    """
    from stable_baselines3.common.logger import configure

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    env = cfg.make_env(cfg.n_envs)
    log_path = run_dir / "eval.jsonl"
    rows: list[dict[str, Any]] = []
    ckpt = run_dir / "model.zip"
    if resume and ckpt.exists() and log_path.exists():
        rows = [json.loads(x) for x in log_path.read_text().splitlines() if x.strip()]
        model = _load(cfg, ckpt, env)
    else:
        model = make_agent(cfg, env)
        log_path.write_text("")
    formats = ["csv"]
    try:
        import tensorboard  # noqa: F401
        formats.append("tensorboard")
    except ImportError:
        pass
    model.set_logger(configure(str(run_dir / "logs"), formats))
    if not rows:
        rows.append({"steps": 0, **evaluate_agent(model, cfg), "fps": None})
        log_path.write_text(json.dumps(rows[-1]) + "\n")
    done = int(rows[-1]["steps"])
    bar = _bar(progress, cfg, done)
    while done < cfg.steps:
        chunk = min(cfg.eval_every, cfg.steps - done)
        t0 = time.perf_counter()
        model.learn(chunk, reset_num_timesteps=False, progress_bar=False)
        fps = chunk / (time.perf_counter() - t0)
        done = int(model.num_timesteps)
        row = {"steps": done, **evaluate_agent(model, cfg), "fps": fps}
        rows.append(row)
        with log_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        model.save(ckpt)
        if bar is not None:
            bar.update(chunk)
            bar.set_postfix(td=f"{row['td_acc']:.3f}", ti=f"{row['ti_acc']:.3f}")
    if bar is not None:
        bar.close()
    env.close()
    return rows


def _load(cfg: RLConfig, path: Path, env: VecEnv) -> Any:
    algo = RecurrentPPO if cfg.algo == "recurrent-ppo" else PPO
    custom = {"policy_class": RecurrentCorePolicy} if cfg.core != "lstm" else None
    return algo.load(path, env=env, device="cpu", custom_objects=custom)


def _bar(enabled: bool, cfg: RLConfig, start: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=cfg.steps, initial=start, desc=f"{cfg.algo} seed {cfg.seed}", unit="step")


def summarize(runs: Sequence[Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """Final TD/TI accuracy and fps: mean, std, min, max over seeds."""
    def stats(vals: list[float]) -> dict[str, float]:
        a = np.asarray(vals, float)
        return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()),
                "max": float(a.max())}
    final = [r[-1] for r in runs]
    fps = [float(np.mean([x["fps"] for x in r if x["fps"]])) for r in runs if len(r) > 1]
    return {"seeds": len(runs), "td_acc": stats([f["td_acc"] for f in final]),
            "ti_acc": stats([f["ti_acc"] for f in final]),
            "fps": stats(fps) if fps else None}


def _seed_job(job: tuple[dict[str, Any], str, bool]) -> list[dict[str, Any]]:
    cfg, run_dir, progress = job
    return train_agent(RLConfig(**cfg), run_dir, progress=progress)


def train_seeds_rl(config: RLConfig, seeds: Sequence[int], out: str | Path, workers: int = 1,
                   progress: bool = True) -> dict[str, Any]:
    """One agent per seed in ``out/seed_XXX`` (worker processes that die with this one), then
    ``summary.json`` and ``learning_curves.png``; returns the summary.

    Args:
        config: the recipe; its seed is replaced by each of ``seeds``.
        seeds: the seeds.
        out: the folder of the seeds' run directories.
        workers: parallel runs.
        progress: show progress.

    Returns:
        The summary written to ``summary.json``.

    Raises:
        ValueError: no seeds or a bad configuration.
    """
    check_int("workers", workers, 1)
    if len(seeds) == 0:
        raise InvalidValue("seeds must name at least one seed")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(replace(config, seed=check_int("seed", s, 0)).to_dict(), str(out / f"seed_{s:03d}"),
             progress and workers == 1) for s in seeds]
    runs = run_parallel(_seed_job, jobs, workers, desc="seeds", show_progress=progress)
    agg = summarize(runs)
    label = config.algo + (f" ({config.core})" if config.algo == "recurrent-ppo" else "") + \
        (" + clock" if config.observe_clock else "")
    summary = {"config": {k: v for k, v in config.to_dict().items() if k != "seed"},
               "label": label, "aggregate": agg,
               "runs": [{"seed": s, "final": r[-1], "curve": r} for s, r in zip(seeds, runs)]}
    atomic_write_json(out / "summary.json", with_provenance(summary))
    rl_curves(runs, out / "learning_curves.png",
              f"{label} on {config.env_id} {config.env_kwargs or ''}")
    return summary
