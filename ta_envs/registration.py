"""Register every task id with Gymnasium (called on ``import ta_envs``; idempotent)."""

from __future__ import annotations

import gymnasium as gym

from .catalog import CLOSED_LOOP, FACTORIES

_CLASS = {
    "TemporalFlipFlop-v0": "TemporalFlipFlop",
    "RelativeTimingFlipFlop-v0": "RelativeTimingFlipFlop",
    "FlipFlop-v0": "FlipFlop",
    "TimedAutomaton-v0": "TimedAutomaton",
    "WordProblem-v0": "WordProblem",
    "RandomAutomaton-v0": "RandomAutomaton",
}


#: Closed-loop ids (the action is an automaton input): env class stem and module.
CLOSED_LOOP_ENVS = {env_id: ("IntervalReproduction", "ta_envs.closed_loop")
                    for env_id in CLOSED_LOOP}


def register_envs() -> None:
    """Register the ids of [`ta_envs.catalog.FACTORIES`][ta_envs.catalog.FACTORIES] with entry and
    vector entry points."""
    for env_id in FACTORIES:
        if env_id in gym.registry:
            continue
        name = _CLASS[env_id]
        gym.register(
            id=env_id,
            entry_point=f"ta_envs.envs:{name}Env",
            vector_entry_point=f"ta_envs.envs:{name}VectorEnv",
        )
    for env_id, (name, module) in CLOSED_LOOP_ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=f"{module}:{name}Env",
                         vector_entry_point=f"{module}:{name}VectorEnv")
