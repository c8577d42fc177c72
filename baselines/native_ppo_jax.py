"""native-ppo's JAX engine (``framework="jax"``): the same recipe, each stretch of updates between
two evaluations fused into one ``jax.jit`` call over the functional kernel.

What is the same as the torch engine ([`baselines.native_ppo`][baselines.native_ppo]): the
recipe (whole episodes, GAE, clipped objective, value head on the state, entropy bonus, Adam with
``eps = 1e-5``, gradient-norm clipping, advantages normalised per minibatch with the unbiased
standard deviation, the linear learning-rate decay), the agent's initial weights (built by the
same torch code from the same seed, then copied), the run directory (``config.json``,
``metrics.jsonl``, torch checkpoints that the analysis loads, exact resume after SIGINT, SIGTERM
or SIGKILL) and the metrics.

What differs: the episodes come from [`ta_envs.functional.rollout()`][ta_envs.functional.rollout]
(the kernel that the semantics tests hold to the reference stepper) and every random draw
(episodes, actions, minibatch order) from a JAX key derived from the seed and the update number,
so a run is reproducible and resumes exactly, but draws other episodes than the torch engine; the
evaluation plays ``eval_episodes`` fixed episodes of the kernel drawn from ``eval_seed``.
The rows of one fused stretch share its end time as ``wall_s``.

Cores: ``rnn``, ``gru``, ``lstm`` (the built-ins' equations, written out below; a test holds them to
the torch modules) and the no-memory control ``mlp``. Other cores, ``step_by_step`` and tasks whose
observations depend on the actions are refused by the config.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ta_envs.validation import InvalidValue

#: Cores the JAX engine writes out (the torch built-ins' equations).
JAX_CORES = ("rnn", "gru", "lstm", "mlp")

Params = dict[str, Any]  #: the agent's weights by the torch agent's state_dict names


def import_jax(threads: int) -> Any:
    """Import JAX, first pinning XLA's CPU threads to ``threads`` where this process has not
    imported it yet (XLA reads its flags once per process)."""
    if "jax" not in sys.modules:
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            pin = f"intra_op_parallelism_threads={threads}"
            if threads == 1:
                pin = "--xla_cpu_multi_thread_eigen=false " + pin
            os.environ["XLA_FLAGS"] = (flags + " " + pin).strip()
    try:
        import jax
    except ImportError as e:  # pragma: no cover - the jax extra is part of `all`
        raise InvalidValue("framework 'jax' needs JAX: pip install 'ta-envs[jax]'") from e
    return jax


# -- the cores ------------------------------------------------------------------------------------
def core_cell(core: str, hidden: int) -> tuple[Callable[[Params, Any], Any],
                                               Callable[[Any, Any, Any], Any]]:
    """``(project, cell)`` of a built-in core (PyTorch's equations). ``project(p, x [..., I])`` is
    the input's share of the pre-activations (computed for every step at once); ``cell(state
    [B, S], gi [B, G], gh [B, G]) -> state'`` is one step given ``gh = h W_hhᵀ + b_hh``, the
    recurrent share (``h``: the state's first ``hidden`` entries; the LSTM's state is ``[h, c]``).
    """
    import jax
    import jax.numpy as jnp

    H = hidden

    def project(p: Params, x: Any) -> Any:
        name, suffix = ("core.inp.", "") if core == "mlp" else ("core.rnn.", "_ih_l0")
        return x @ p[name + "weight" + suffix].T + p[name + "bias" + suffix]

    def gru(h: Any, gi: Any, gh: Any) -> Any:
        rz = jax.nn.sigmoid(gi[:, : 2 * H] + gh[:, : 2 * H])
        new = jnp.tanh(gi[:, 2 * H :] + rz[:, :H] * gh[:, 2 * H :])
        z = rz[:, H:]
        return (1 - z) * new + z * h

    def lstm(s: Any, gi: Any, gh: Any) -> Any:
        g = gi + gh
        i, f = jax.nn.sigmoid(g[:, :H]), jax.nn.sigmoid(g[:, H : 2 * H])
        c = f * s[:, H:] + i * jnp.tanh(g[:, 2 * H : 3 * H])
        return jnp.concatenate([jax.nn.sigmoid(g[:, 3 * H :]) * jnp.tanh(c), c], -1)

    cells = {"mlp": lambda h, gi, gh: jnp.tanh(gi), "rnn": lambda h, gi, gh: jnp.tanh(gi + gh),
             "gru": gru, "lstm": lstm}
    if core not in cells:
        raise InvalidValue(f"framework 'jax' runs the cores {list(JAX_CORES)}, not {core!r}")
    return project, cells[core]


def make_unroll(core: str, hidden: int, state_size: int
                ) -> Callable[[Params, Any], tuple[Any, Any]]:
    """``unroll(p, x [T, B, I]) -> (logits [T, B, O], values [T, B])`` from the zero state.
    (A hand-written backward pass over the saved states, with the weights' gradient as one
    product after the loop, measured 15-30% slower than autodiff of this scan.)"""
    import jax
    import jax.numpy as jnp

    project, cell = core_cell(core, hidden)

    def run(p: Params, x: Any) -> tuple[Any, Any]:
        gi = project(p, x)
        if core == "mlp":  # no memory: each state from its own input
            states = cell(None, gi, None)
        else:
            W, b = p["core.rnn.weight_hh_l0"], p["core.rnn.bias_hh_l0"]

            def body(s: Any, g: Any) -> tuple[Any, Any]:
                s = cell(s, g, s[:, :hidden] @ W.T + b)
                return s, s

            states = jax.lax.scan(body, jnp.zeros((x.shape[1], state_size), x.dtype), gi)[1]
        logits = states[..., :hidden] @ p["core.head.weight"].T + p["core.head.bias"]
        if core == "lstm":  # as the torch engine: the built-in LSTM returns its states detached,
            states = jax.lax.stop_gradient(states)  # so the value loss does not train its core
        values = (states @ p["value.weight"].T + p["value.bias"])[..., 0]
        return logits, values

    return run


# -- the policy -----------------------------------------------------------------------------------
def distribution(kind: str) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
    """``(sample(logits, u), log_prob_entropy(logits, a), greedy(logits))`` of the torch engine's
    policy: independent Bernoullis per logit (``bce``; actions ``[..., O]``) or one categorical
    (``ce``; actions ``[...]``, drawn from ``u[..., 0]`` by inverse CDF)."""
    import jax
    import jax.numpy as jnp

    if kind == "bce":
        def sample_b(logits: Any, u: Any) -> Any:
            return (u < jax.nn.sigmoid(logits)).astype(jnp.int32)

        def lpe_b(logits: Any, a: Any) -> tuple[Any, Any]:
            af = a.astype(logits.dtype)
            logp = -(jax.nn.softplus(-logits) * af + jax.nn.softplus(logits) * (1 - af))
            ent = jax.nn.softplus(logits) - jax.nn.sigmoid(logits) * logits
            return logp.sum(-1), ent.sum(-1)

        return sample_b, lpe_b, lambda logits: (logits > 0).astype(jnp.int32)

    def sample_c(logits: Any, u: Any) -> Any:
        cdf = jnp.cumsum(jax.nn.softmax(logits, -1), -1)
        return jnp.minimum((cdf < u[..., :1]).sum(-1), logits.shape[-1] - 1).astype(jnp.int32)

    def lpe_c(logits: Any, a: Any) -> tuple[Any, Any]:
        lsm = jax.nn.log_softmax(logits, -1)
        logp = jnp.take_along_axis(lsm, a[..., None], -1)[..., 0]
        return logp, -(jnp.exp(lsm) * lsm).sum(-1)

    return sample_c, lpe_c, lambda logits: jnp.argmax(logits, -1).astype(jnp.int32)


def correct(kind: str, channels: int, actions: Any, targets: Any) -> Any:
    """Where the policy's ``actions`` are the step's target (the kernel's reward rule): every
    channel for a multi-channel task, the one binary logit's action, or the class."""
    if kind == "bce" and channels:
        return (actions == targets).all(-1)
    if kind == "bce":
        return actions[..., 0] == targets
    return actions == targets


def gae(rewards: Any, values: Any, gamma: float, lam: float) -> tuple[Any, Any]:
    """GAE over whole episodes ``[T, B]`` that end at ``T`` (no bootstrap): ``(adv, returns)``."""
    import jax
    import jax.numpy as jnp

    if gamma == 0.0:
        return rewards - values, rewards
    nxt = jnp.concatenate([values[1:], jnp.zeros_like(values[:1])], 0)
    delta = rewards + gamma * nxt - values

    def body(last: Any, d: Any) -> tuple[Any, Any]:
        last = d + gamma * lam * last
        return last, last

    _, adv = jax.lax.scan(body, jnp.zeros_like(values[0]), delta, reverse=True)
    return adv, adv + values


# -- the engine -----------------------------------------------------------------------------------
class JaxEngine:
    """The live state of one JAX run: weights, Adam moments, step count; `advance()` runs a stretch
    of updates in one compiled call, `save()`/`restore()` go through the torch checkpoint format."""

    def __init__(self, cfg: Any) -> None:
        from .native_ppo import build_agent

        jax = import_jax(cfg.threads)
        import jax.numpy as jnp

        from ta_envs import functional as F

        self.cfg, self.jax, self.jnp = cfg, jax, jnp
        self.agent = build_agent(cfg)  # the torch engine's initial weights, then copied
        self.names = [n for n, _ in self.agent.named_parameters()]
        self.params: Params = {n: jnp.asarray(p.detach().numpy())
                               for n, p in self.agent.named_parameters()}
        self.m = {n: jnp.zeros_like(v) for n, v in self.params.items()}
        self.v = {n: jnp.zeros_like(v) for n, v in self.params.items()}
        self.t = 0
        self.kp = F.make_params(cfg.env_id, "jax", **cfg.env_kwargs)
        self.L = int(self.kp.episode_length)
        self.channels = int(self.kp.targets.shape[-1])
        self.key = jax.random.PRNGKey(cfg.seed)  # every draw: fold_in(key, update)
        self._compiled: dict[int, Any] = {}
        self._eval = jax.jit(self._evaluate)
        self.eval_data = F.rollout(jax.random.PRNGKey(cfg.eval_seed), self.kp, None,
                                   cfg.eval_episodes, self.L, cfg.observe_clock, time_major=True)

    @property
    def episode_length(self) -> int:
        """``L``, the steps of one episode."""
        return self.L

    # the compiled stretch ------------------------------------------------------------------
    def _functions(self) -> tuple[Any, Any, Any, Any]:
        cfg = self.cfg
        unroll = make_unroll(cfg.core, cfg.hidden, self.agent.cell.state_size)
        sample, lpe, greedy = distribution(self.agent.kind)
        return unroll, sample, lpe, greedy

    def _evaluate(self, params: Params) -> dict[str, Any]:
        jnp = self.jnp
        unroll, _, _, greedy = self._functions()
        d = self.eval_data
        logits, _ = unroll(params, d["inputs"])
        ok = correct(self.agent.kind, self.channels, greedy(logits), d["targets"])
        td = d["mask_td"]
        return {"td": (ok & td).sum(), "n_td": td.sum(), "ti": (ok & ~td).sum(),
                "n_ti": (~td).sum(), "all": ok.mean(dtype=jnp.float32)}

    def _stretch(self, n: int) -> Any:
        """The jitted ``(params, m, v, t, it0, total) -> (params, m, v, t, per-update stats)`` of
        ``n`` updates ``it0 + 1 .. it0 + n``."""
        if n in self._compiled:
            return self._compiled[n]
        jax, jnp, cfg = self.jax, self.jnp, self.cfg
        from ta_envs import functional as F

        unroll, sample, lpe, _ = self._functions()
        kind, channels, L, B = self.agent.kind, self.channels, self.L, cfg.n_envs
        size = B // cfg.minibatches

        def loss_fn(p: Params, x: Any, a: Any, logp_old: Any, adv: Any, ret: Any
                    ) -> tuple[Any, dict[str, Any]]:
            logits, values = unroll(p, x)
            logp, ent = lpe(logits, a)
            adv = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)
            log_ratio = logp - logp_old
            ratio = jnp.exp(log_ratio)
            pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - cfg.clip, 1 + cfg.clip) * adv).mean()
            v_loss = 0.5 * ((values - ret) ** 2).mean()
            entropy = ent.mean()
            loss = pg + cfg.vf_coef * v_loss - cfg.ent_coef * entropy
            return loss, {"pg_loss": pg, "v_loss": v_loss, "entropy": entropy,
                          "approx_kl": ((ratio - 1) - log_ratio).mean(),
                          "clip_frac": (jnp.abs(ratio - 1) > cfg.clip).mean(dtype=jnp.float32),
                          "loss": loss}

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def one_update(carry: Any, it: Any) -> tuple[Any, dict[str, Any]]:
            p, m, v, t, total = carry
            k_env, k_act, k_perm = jax.random.split(jax.random.fold_in(self.key, it), 3)
            data = F.rollout(k_env, self.kp, None, B, L, cfg.observe_clock, time_major=True)
            x = data["inputs"]
            logits, values = unroll(p, x)
            a = sample(logits, jax.random.uniform(k_act, logits.shape))
            logp, _ = lpe(logits, a)
            ok = correct(kind, channels, a, data["targets"])
            rewards = ok.astype(jnp.float32)
            adv, ret = gae(rewards, values, cfg.gamma, cfg.gae_lambda)
            lr = cfg.lr * (1 - (it - 1) / total) if cfg.anneal_lr else cfg.lr

            def minibatch(c: Any, idx: Any) -> tuple[Any, dict[str, Any]]:
                p, m, v, t = c
                sel = lambda z: z[:, idx]  # noqa: E731 (time major: episodes on axis 1)
                (_, st), g = grad_fn(p, sel(x), sel(a), sel(logp), sel(adv), sel(ret))
                norm = jnp.sqrt(sum(jnp.sum(gi * gi) for gi in jax.tree.leaves(g)))
                coef = jnp.minimum(1.0, cfg.max_grad_norm / (norm + 1e-6))
                t = t + 1
                m = jax.tree.map(lambda mi, gi: 0.9 * mi + 0.1 * gi * coef, m, g)
                v = jax.tree.map(lambda vi, gi: 0.999 * vi + 0.001 * (gi * coef) ** 2, v, g)
                b1, b2 = 1 - 0.9**t, 1 - 0.999**t
                p = jax.tree.map(lambda pi, mi, vi: pi - (lr / b1) * mi
                                 / (jnp.sqrt(vi) / jnp.sqrt(b2) + 1e-5), p, m, v)
                return (p, m, v, t), {**st, "grad_norm": norm}

            def epoch(c: Any, k: Any) -> tuple[Any, dict[str, Any]]:
                perm = jax.random.permutation(k, B).reshape(cfg.minibatches, size)
                return jax.lax.scan(minibatch, c, perm)

            (p, m, v, t), st = jax.lax.scan(epoch, (p, m, v, t),
                                            jax.random.split(k_perm, cfg.epochs))
            td = data["mask_td"]
            stats = {k: s.mean() for k, s in st.items() if k != "loss"}
            stats.update(finite=jnp.isfinite(st["loss"]).all(), reward=rewards.mean(),
                         td=(ok & td).sum(), n_td=td.sum(), ti=(ok & ~td).sum(),
                         n_ti=(~td).sum())
            return (p, m, v, t, total), stats

        def stretch(p: Params, m: Params, v: Params, t: Any, it0: Any, total: Any) -> Any:
            its = it0 + 1 + jnp.arange(n)
            (p, m, v, t, _), stats = jax.lax.scan(one_update, (p, m, v, t, total), its)
            return p, m, v, t, stats, self._evaluate(p)

        self._compiled[n] = jax.jit(stretch)
        return self._compiled[n]

    # the engine interface ------------------------------------------------------------------
    def chunk(self, it: int, total: int) -> int:
        """Updates in the stretch after update ``it``: up to the next evaluation or the end."""
        every = self.cfg.eval_every
        return min(every - it % every, total - it)

    def advance(self, it: int, n: int, total: int, frames: int) -> list[dict[str, Any]]:
        """Run updates ``it + 1 .. it + n`` of ``total``; their metrics rows (the last one with the
        evaluation when it is due), without ``wall_s``."""
        jnp = self.jnp
        fn = self._stretch(n)
        p, m, v, t, stats, ev = fn(self.params, self.m, self.v, jnp.asarray(self.t, jnp.int32),
                                   jnp.asarray(it, jnp.int32), jnp.asarray(total, jnp.float32))
        stats = {k: np.asarray(s) for k, s in stats.items()}
        if not stats["finite"].all():
            bad = it + 1 + int(np.argmin(stats["finite"]))
            raise FloatingPointError(f"native-ppo (jax): the loss became non-finite at update "
                                     f"{bad} (lower lr?)")
        self.params, self.m, self.v, self.t = p, m, v, int(t)
        per = self.cfg.n_envs * self.L
        rows = []
        for j in range(n):
            k = it + 1 + j
            row: dict[str, Any] = {"it": k}
            row.update({name: float(stats[name][j]) for name in
                        ("pg_loss", "v_loss", "entropy", "approx_kl", "clip_frac", "grad_norm")})
            row.update({"frames": frames + (j + 1) * per, "reward": float(stats["reward"][j]),
                        "td_acc": _ratio(stats["td"][j], stats["n_td"][j]),
                        "ti_acc": _ratio(stats["ti"][j], stats["n_ti"][j])})
            rows.append(row)
        last = it + n
        if last % self.cfg.eval_every == 0 or last == total:
            rows[-1].update(_evaluation(ev))
        return rows

    def evaluate(self) -> dict[str, float | None]:
        """The deterministic policy on the fixed evaluation episodes."""
        return _evaluation(self._eval(self.params))

    def _to_torch(self) -> torch.optim.Optimizer:
        """Copy the weights into the torch agent and return a torch Adam holding the moments."""
        with torch.no_grad():
            for n, prm in self.agent.named_parameters():
                prm.copy_(torch.from_numpy(np.array(self.params[n])))
        opt = torch.optim.Adam(self.agent.parameters(), lr=self.cfg.lr, eps=1e-5)
        if self.t:
            for n, prm in self.agent.named_parameters():
                opt.state[prm] = {"step": torch.tensor(float(self.t)),
                                  "exp_avg": torch.from_numpy(np.array(self.m[n])),
                                  "exp_avg_sq": torch.from_numpy(np.array(self.v[n]))}
        return opt

    def save(self, path: Path, it: int, frames: int, wall: float) -> None:
        """Write the torch-format checkpoint of update ``it`` (the core loads for the analysis)."""
        from .runs import save_rl_checkpoint

        opt = self._to_torch()
        key = torch.from_numpy(np.asarray(self.jax.random.key_data(self.key)).astype(np.int64))
        save_rl_checkpoint(path, it, self.cfg.twin(), self.cfg.to_dict(), self.agent.core,
                           self.agent.value, opt, key, frames, wall)

    def restore(self, ck: Any) -> None:
        """Take the weights and Adam moments of a loaded checkpoint."""
        jnp = self.jnp
        weights = {**{"core." + k: v for k, v in ck.model.items()},
                   **{"value." + k: v for k, v in ck.extra["value"].items()}}
        missing = sorted(set(self.names) - set(weights))
        if missing:
            raise InvalidValue(f"{ck.path} lacks the weights {missing}")
        self.params = {n: jnp.asarray(weights[n].numpy()) for n in self.names}
        state = ck.optimizer.get("state", {})
        if state:
            self.m = {n: jnp.asarray(state[i]["exp_avg"].numpy()) for i, n in enumerate(self.names)}
            self.v = {n: jnp.asarray(state[i]["exp_avg_sq"].numpy())
                      for i, n in enumerate(self.names)}
            self.t = int(state[0]["step"])
        else:
            self.m = {n: jnp.zeros_like(v) for n, v in self.params.items()}
            self.v = {n: jnp.zeros_like(v) for n, v in self.params.items()}
            self.t = 0


def _ratio(num: Any, den: Any) -> float | None:
    return float(num) / float(den) if int(den) else None


def _evaluation(ev: Mapping[str, Any]) -> dict[str, float | None]:
    return {"val_td_acc": _ratio(ev["td"], ev["n_td"]), "val_ti_acc": _ratio(ev["ti"], ev["n_ti"]),
            "val_acc": float(ev["all"])}


__all__ = ["JAX_CORES", "JaxEngine", "core_cell", "correct", "distribution",
           "gae", "import_jax", "make_unroll"]

