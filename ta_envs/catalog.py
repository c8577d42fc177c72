"""The registered task ids, their factories, and `make_task()` (id, automaton or Task -> Task)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any

from .automaton import TimedAutomaton
from .families import random_automaton, word_problem
from .tasks import Task, automaton_task, flipflop, relative_timing_flipflop, temporal_flipflop
from .validation import InvalidType, InvalidValue, check_kwargs

#: Registered task ids and their factories (DESIGN 3.1).
FACTORIES: Mapping[str, Callable[..., Task]] = {
    "TemporalFlipFlop-v0": temporal_flipflop,
    "RelativeTimingFlipFlop-v0": relative_timing_flipflop,
    "FlipFlop-v0": flipflop,
    "TimedAutomaton-v0": automaton_task,
    "WordProblem-v0": word_problem,
    "RandomAutomaton-v0": random_automaton,
}
"""Registered open-loop task ids and their factories (id -> factory of a ``Task``)."""


#: Closed-loop ids ([`ta_envs.closed_loop`][ta_envs.closed_loop]): their actions are automaton inputs,
#: so they have
#: no open-loop Task; use ``gym.make`` and, for supervised learning, ``expert_batches``.
CLOSED_LOOP: tuple[str, ...] = ("IntervalReproduction-v0",)
"""Closed-loop task ids (see [`ta_envs.closed_loop`][ta_envs.closed_loop])."""


def make_task(task: str | Task | TimedAutomaton | Mapping[str, Any], **kwargs: Any) -> Task:
    """A `Task` from a registered id (with factory kwargs), an automaton, or a Task.

    Args:
        task: a registered id (``ta-envs list``), a ``Task``, a ``TimedAutomaton``, its dict form,
            JSON text or a JSON path.
        **kwargs: the id's factory arguments (e.g. ``period=12``).

    Returns:
        The task: automaton, symbol distribution, episode length and encodings.

    Raises:
        TypeError: ``task`` of another type, or a kwarg the factory does not take.
        ValueError: an unknown or closed-loop id, or a bad factory argument.
    """
    if isinstance(task, Task):
        if kwargs:
            raise InvalidValue(f"task kwargs {sorted(kwargs)} given with a ready-made Task")
        return task
    if isinstance(task, (TimedAutomaton, Mapping)) or (
        isinstance(task, (str, PathLike)) and str(task) not in FACTORIES
        and (str(task).endswith(".json") or str(task).lstrip().startswith("{"))
    ):
        return automaton_task(task, **kwargs)
    if not isinstance(task, str):
        raise InvalidType(f"task must be an id, a Task or an automaton, got {type(task).__name__}")
    if task in CLOSED_LOOP:
        raise InvalidValue(f"{task} is closed-loop (the agent's action is an input of the "
                           "automaton), so it has no open-loop task or dataset: use "
                           f"gym.make({task!r}) or ta_envs.closed_loop.expert_batches")
    if task not in FACTORIES:
        raise InvalidValue(f"unknown task id {task!r}; registered: {sorted(FACTORIES)}")
    factory = FACTORIES[task]
    check_kwargs(task, kwargs, list(inspect.signature(factory).parameters))
    return factory(**kwargs)
