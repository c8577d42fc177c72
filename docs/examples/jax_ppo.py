"""A PureJaxRL-style recurrent PPO (GRU) on ``TemporalFlipFlop-v0``, all in JAX: data from the
functional kernel on the device, the whole training loop under one ``jax.jit``.

    python docs/examples/jax_ppo.py --period 6 --updates 60      # about a minute on 2 CPU cores

Only ``jax`` is needed (``pip install 'ta-envs[jax]'``): the GRU, the PPO loss and Adam are written
out below. The recipe is native-ppo's (``baselines/native_ppo.py``): whole episodes, the core run
over each episode in one scan (the observations do not depend on the actions), gamma = 0 (an action
changes no later observation or reward), 8 epochs of 8 minibatches of whole episodes.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ta_envs import functional as F


class Net(NamedTuple):
    w_ih: jax.Array  # [3H, I]  (reset, update, new: PyTorch's gate order)
    w_hh: jax.Array  # [3H, H]
    b_ih: jax.Array  # [3H]
    b_hh: jax.Array  # [3H]
    w_pi: jax.Array  # [H]  one logit: P(action 1)
    b_pi: jax.Array  # []
    w_v: jax.Array  # [H]
    b_v: jax.Array  # []


def init(key: jax.Array, inputs: int, hidden: int) -> Net:
    ks = jax.random.split(key, 4)
    b = 1 / jnp.sqrt(hidden)
    u = lambda k, s: jax.random.uniform(k, s, minval=-b, maxval=b)  # noqa: E731
    return Net(u(ks[0], (3 * hidden, inputs)), u(ks[1], (3 * hidden, hidden)),
               jnp.zeros(3 * hidden), jnp.zeros(3 * hidden), u(ks[2], (hidden,)), jnp.zeros(()),
               u(ks[3], (hidden,)), jnp.zeros(()))


def unroll(net: Net, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """GRU over ``x [T, B, I]`` from h = 0: ``(logits [T, B], values [T, B])``."""
    H = net.w_hh.shape[1]

    def cell(h, xt):
        gi, gh = xt @ net.w_ih.T + net.b_ih, h @ net.w_hh.T + net.b_hh
        r = jax.nn.sigmoid(gi[:, :H] + gh[:, :H])
        z = jax.nn.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = jnp.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        return h, h

    _, hs = jax.lax.scan(cell, jnp.zeros((x.shape[1], H)), x)
    return hs @ net.w_pi + net.b_pi, hs @ net.w_v + net.b_v


def log_prob(logit: jax.Array, a: jax.Array) -> jax.Array:
    return jnp.where(a == 1, -jax.nn.softplus(-logit), -jax.nn.softplus(logit))


class Adam(NamedTuple):
    m: Any
    v: Any
    t: jax.Array


def adam(net: Net, grads: Net, opt: Adam, lr: float) -> tuple[Net, Adam]:
    t = opt.t + 1
    m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, opt.m, grads)
    v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, opt.v, grads)
    step = lambda p, m, v: p - lr * (m / (1 - 0.9**t)) / (jnp.sqrt(v / (1 - 0.999**t)) + 1e-5)  # noqa: E731
    return jax.tree.map(step, net, m, v), Adam(m, v, t)


def make_train(period: int = 6, n_envs: int = 256, updates: int = 60, hidden: int = 64,
               lr: float = 3e-3, epochs: int = 8, minibatches: int = 8, clip: float = 0.2,
               ent_coef: float = 0.01, vf_coef: float = 0.5, max_grad_norm: float = 1.0):
    """The jittable ``train(key) -> (net, metrics)`` of one seed."""
    params = F.make_params("TemporalFlipFlop-v0", "jax", period=period)
    L = int(params.episode_length)
    I = int(params.obs_table.shape[1])  # noqa: E741
    mb = n_envs // minibatches

    def loss_fn(net, x, a, logp_old, adv, ret):
        logits, values = unroll(net, x)
        logp = log_prob(logits, a)
        ratio = jnp.exp(logp - logp_old)
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip, 1 + clip) * adv).mean()
        p = jax.nn.sigmoid(logits)
        ent = (jax.nn.softplus(logits) - p * logits).mean()
        return pg + vf_coef * 0.5 * ((values - ret) ** 2).mean() - ent_coef * ent

    def one_update(carry, key):
        net, opt = carry
        k_env, k_act, k_perm = jax.random.split(key, 3)
        data = F.rollout(k_env, params, None, n_envs, L, time_major=True)  # one episode per env
        x, target = data["inputs"], data["targets"]
        logits, values = unroll(net, x)
        a = (jax.random.uniform(k_act, logits.shape) < jax.nn.sigmoid(logits)).astype(jnp.int32)
        r = (a == target).astype(jnp.float32)  # the kernel's reward rule (F.reward)
        logp = log_prob(logits, a)
        adv, ret = r - values, r  # gamma = 0: the return of a step is its own reward

        def epoch(carry, k):
            def minibatch(carry, idx):
                net, opt = carry
                sel = lambda z: z[:, idx]  # noqa: E731
                g = jax.grad(loss_fn)(net, sel(x), sel(a), sel(logp), sel(adv), sel(ret))
                norm = jnp.sqrt(sum(jnp.sum(v * v) for v in jax.tree.leaves(g)))
                g = jax.tree.map(lambda v: v * jnp.minimum(1.0, max_grad_norm / (norm + 1e-6)), g)
                net, opt = adam(net, g, opt, lr)
                return (net, opt), None

            perm = jax.random.permutation(k, n_envs).reshape(minibatches, mb)
            return jax.lax.scan(minibatch, carry, perm)[0], None

        (net, opt), _ = jax.lax.scan(epoch, (net, opt), jax.random.split(k_perm, epochs))
        greedy = (logits > 0).astype(jnp.int32) == target
        td = data["mask_td"]
        return (net, opt), {"td_acc": (greedy & td).sum() / td.sum(), "reward": r.mean()}

    def train(key):
        k_init, k_run = jax.random.split(key)
        net = init(k_init, I, hidden)
        zeros = jax.tree.map(jnp.zeros_like, net)
        opt = Adam(zeros, zeros, jnp.zeros((), jnp.int32))
        (net, _), metrics = jax.lax.scan(one_update, (net, opt), jax.random.split(k_run, updates))
        return net, metrics

    return train, n_envs * L * updates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--period", type=int, default=6)
    ap.add_argument("--updates", type=int, default=60)
    ap.add_argument("--n-envs", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    train, frames = make_train(a.period, a.n_envs, a.updates)
    train = jax.jit(train)
    t0 = time.perf_counter()
    compiled = train.lower(jax.random.PRNGKey(a.seed)).compile()
    t1 = time.perf_counter()
    _, m = jax.block_until_ready(compiled(jax.random.PRNGKey(a.seed)))
    t2 = time.perf_counter()
    td = [float(v) for v in m["td_acc"]]
    print(f"P = {a.period}: {frames:,} frames in {t2 - t1:.1f} s ({frames / (t2 - t1):,.0f} frames/s; "
          f"compile {t1 - t0:.1f} s); greedy TD accuracy on the rollouts: first {td[0]:.3f}, "
          f"last {td[-1]:.3f}, first update at >= 0.99: "
          f"{next((i + 1 for i, v in enumerate(td) if v >= 0.99), None)}")


if __name__ == "__main__":
    main()
