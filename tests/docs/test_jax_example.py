"""The docs' PureJaxRL-style PPO runs end to end on the functional kernel and learns P = 4."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

jax = pytest.importorskip("jax")

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "jax_ppo.py"


@pytest.mark.slow
def test_jax_ppo_example_learns_a_short_period():
    spec = importlib.util.spec_from_file_location("jax_ppo", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    train, frames = mod.make_train(period=4, n_envs=128, updates=12)
    _, m = jax.jit(train)(jax.random.PRNGKey(0))
    td = [float(v) for v in m["td_acc"]]
    assert frames == 128 * 16 * 12
    assert td[0] < 0.7  # the untrained GRU is at chance on TD steps
    assert max(td[-3:]) >= 0.95, td
