"""ta-envs: timed-automaton tasks as Gymnasium envs and fast supervised datasets.

``import ta_envs`` registers ``TemporalFlipFlop-v0``, ``RelativeTimingFlipFlop-v0``, ``FlipFlop-v0``,
``TimedAutomaton-v0``, ``WordProblem-v0`` and ``RandomAutomaton-v0`` with Gymnasium.
"""

from .automaton import Clock, Edge, TimedAutomaton, as_automaton
from .catalog import FACTORIES, make_task
from .compile import CompiledAutomaton, compile_automaton
from .dataset import Batch, TaskDataset, make_dataset
from .families import random_automaton, word_problem
from .guards import Atom, Guard
from .reference import ReferenceStepper, reference_outputs, reference_time_dependent
from .registration import register_envs
from .simulate import Rollout, rollout, run_configs
from .tasks import (
    Task,
    automaton_task,
    flipflop,
    relative_timing_flipflop,
    temporal_flipflop,
)
from .validation import InvalidType, InvalidValue, UsageError

__version__ = "0.2.0"

register_envs()

__all__ = [
    "FACTORIES", "Atom", "Batch", "Clock", "CompiledAutomaton", "Edge", "Guard", "InvalidType",
    "InvalidValue", "ReferenceStepper", "Rollout", "Task", "TaskDataset", "TimedAutomaton",
    "UsageError", "as_automaton", "automaton_task", "compile_automaton", "flipflop",
    "make_dataset", "make_task", "reference_outputs", "reference_time_dependent",
    "random_automaton", "register_envs", "relative_timing_flipflop", "rollout", "run_configs",
    "temporal_flipflop", "word_problem",
]
