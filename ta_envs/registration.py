"""Register every task id with Gymnasium (called on ``import ta_envs``; idempotent)."""

from __future__ import annotations

import gymnasium as gym

from .catalog import FACTORIES

_CLASS = {
    "TemporalFlipFlop-v0": "TemporalFlipFlop",
    "RelativeTimingFlipFlop-v0": "RelativeTimingFlipFlop",
    "FlipFlop-v0": "FlipFlop",
    "TimedAutomaton-v0": "TimedAutomaton",
    "WordProblem-v0": "WordProblem",
    "RandomAutomaton-v0": "RandomAutomaton",
}


def register_envs() -> None:
    """Register the ids of :data:`ta_envs.catalog.FACTORIES` with entry and vector entry points."""
    for env_id in FACTORIES:
        if env_id in gym.registry:
            continue
        name = _CLASS[env_id]
        gym.register(
            id=env_id,
            entry_point=f"ta_envs.envs:{name}Env",
            vector_entry_point=f"ta_envs.envs:{name}VectorEnv",
        )
