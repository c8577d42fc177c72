"""The suite's protocol ``ta-envs-suite/3``: the task ladder, the recipe, the evaluation conditions.

Every task of `FULL` (or `QUICK`) is trained for its fixed iteration budget and sequence
length, for each seed (at least the rung's ``min_seeds``: 5 on the v3 rungs), with one recipe for
every architecture: Adam, learning rate 0.01, gradient-norm clipping 1.0, batch 64, BCE/CE on all
steps (built-ins that take ``init`` start from an orthogonal recurrent matrix). The final network is
evaluated on 256 held-out sequences under the conditions that apply to its task (`SuiteTask.conditions`):

- **length** (every task): the training length ``1x``, ``4x`` and ``16x`` that length;
- **event rate** (the flip-flop families, at the training length): ``sparse`` (the task's event
  probability at 0.25x) and ``dense`` (at 3x; for the periodic tasks, whose events are the ``a``
  symbols at ``p_a = 0.5``, the shift is ``p_a = 0.125`` and ``0.875``);
- **period** (tasks with a ``period``, at the training length): the same family at the period
  ``P/2`` and ``2P``, zero-shot. The period is hidden (never an input), so a network that keeps
  exactly the trained period cannot be right there everywhere; each run records next to it the
  **control**: the accuracy of the exact period-``P`` automaton on the same ``P'`` sequences. A
  network near the control kept its trained clock; one above it found a rule that does not depend
  on the period.

A condition's **metric** is the accuracy on time-dependent steps, or on all steps for a task without
any (FlipFlop-v0, where a step is right only when all 3 bits are; the plain word problems). A run's
**score** is the mean metric over its length and event-rate conditions (the period conditions are
reported beside it, not in it); a task reports the mean and the max over seeds (the max alone
hides failed seeds) and its **chance** level (uniform guessing on the metric, e.g. 1/8 for 3-bit
FlipFlop). Each recurrent network also gets its **machine score** (`analysis.machine`, at 4x the
training length): how much of the task's minimal machine its states implement.

Reports of ``ta-envs-suite/2`` (`V2`: the first 11 rungs, 3 seeds, no period conditions, no
machine score or state size) stay readable and are compared only with each other.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ta_envs.catalog import FACTORIES
from ta_envs.validation import (
    InvalidValue,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_optional,
    check_str,
)

from ..config import check_device
from ..models import check_arch_options

PROTOCOL = "ta-envs-suite/3"
#: The previous protocol: its reports load and compare with each other, never with v3 ones.
V2 = "ta-envs-suite/2"
LENGTHS = (1, 4, 16)
SHIFTS = {"sparse": 0.25, "dense": 3.0}
CONDITIONS = tuple(f"{m}x" for m in LENGTHS) + tuple(SHIFTS)
#: Period conditions: the evaluation period as a function of the training period ``P``.
PERIODS = {"P/2": lambda p: p // 2, "2P": lambda p: 2 * p}
PERIOD_CONDITIONS = tuple(PERIODS)
EVAL_SEQUENCES = 256
#: The factory argument that sets each task family's event rate, and its training value.
EVENT_PARAM = {"TemporalFlipFlop-v0": ("p_a", 0.5), "RelativeTimingFlipFlop-v0": ("p_event", 0.2),
               "FlipFlop-v0": ("p_pulse", 0.05)}
RECIPE: dict[str, Any] = {"optimizer": "adam", "lr": 0.01, "grad_clip": 1.0, "batch": 64,
                          "loss_on": "all", "eval_every": 10}


@dataclass(frozen=True)
class SuiteTask:
    """One rung of the ladder: a registered id with its kwargs, training length and budget."""

    name: str
    task: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seq_len: int = 96
    iterations: int = 1000
    min_seeds: int = 1  #: seeds this rung runs at least (the config's ``seeds`` when larger)

    def conditions(self) -> tuple[str, ...]:
        """The score conditions that apply: the lengths, and the event-rate shifts for the
        families that have an event rate (`EVENT_PARAM`)."""
        return CONDITIONS if self.task in EVENT_PARAM else CONDITIONS[:len(LENGTHS)]

    @property
    def period(self) -> int | None:
        """The training period (None: the task has none)."""
        if "period" in self.kwargs:
            return None if self.kwargs["period"] is None else int(self.kwargs["period"])
        factory = FACTORIES.get(self.task)
        param = inspect.signature(factory).parameters.get("period") if factory else None
        return None if param is None or param.default is None else int(param.default)

    def period_conditions(self) -> dict[str, int]:
        """``{condition: evaluation period}`` of the period conditions that apply (``P/2`` needs
        ``P >= 4``)."""
        p = self.period
        if p is None:
            return {}
        return {c: f(p) for c, f in PERIODS.items() if f(p) >= 2 and f(p) != p}

    def period_kwargs(self, condition: str) -> dict[str, Any]:
        """Task kwargs of a period condition."""
        return {**self.kwargs, "period": self.period_conditions()[condition]}

    def shifted_kwargs(self, condition: str) -> dict[str, Any]:
        """Task kwargs of an event-rate condition (``sparse``/``dense``)."""
        param, base = EVENT_PARAM[self.task]
        p = float(self.kwargs.get(param, base))
        if self.task == "TemporalFlipFlop-v0":
            value = {"sparse": 0.25 * p, "dense": 1 - 0.25 * (1 - p)}[condition]
        else:
            value = min(1.0, SHIFTS[condition] * p)
        return {**self.kwargs, param: value}


FULL: tuple[SuiteTask, ...] = (
    SuiteTask("periodic P=6", "TemporalFlipFlop-v0", {"period": 6}, 48, 800),
    SuiteTask("periodic P=12", "TemporalFlipFlop-v0", {"period": 12}, 48, 1000),
    SuiteTask("periodic P=24", "TemporalFlipFlop-v0", {"period": 24}, 96, 1500),
    SuiteTask("periodic P=48", "TemporalFlipFlop-v0", {"period": 48}, 192, 1500),
    SuiteTask("K=3 phases", "TemporalFlipFlop-v0", {"period": 24, "num_phases": 3}, 96, 1500),
    SuiteTask("relative tau=3", "RelativeTimingFlipFlop-v0", {"tau": 3}, 100, 800),
    SuiteTask("relative tau=5", "RelativeTimingFlipFlop-v0", {"tau": 5}, 100, 1000),
    SuiteTask("relative tau=10", "RelativeTimingFlipFlop-v0", {"tau": 10}, 100, 1500),
    SuiteTask("state-dependent P=12", "TemporalFlipFlop-v0",
              {"period": 12, "state_dependent": True}, 48, 1500),
    SuiteTask("periodic+relative", "RelativeTimingFlipFlop-v0", {"tau": 3, "period": 12}, 100, 1500),
    SuiteTask("FlipFlop 3-bit", "FlipFlop-v0", {}, 100, 800),
    # v3 rungs: state tracking (word problems), a temporal word problem, random automata
    SuiteTask("parity", "WordProblem-v0", {"group": "parity"}, 64, 600, 5),
    SuiteTask("S3", "WordProblem-v0", {"group": "S3"}, 64, 1000, 5),
    SuiteTask("A5", "WordProblem-v0", {"group": "A5"}, 64, 1500, 5),
    SuiteTask("temporal parity P=12", "WordProblem-v0", {"group": "parity", "period": 12}, 48,
              1000, 5),
    SuiteTask("random K=16", "RandomAutomaton-v0", {"configurations": 16, "seed": 0}, 64, 1000, 5),
    SuiteTask("random K=64", "RandomAutomaton-v0", {"configurations": 64, "seed": 0}, 96, 1500, 5),
)
#: The ladder of ``ta-envs-suite/2``: its reports hold these rungs.
FULL_V2: tuple[SuiteTask, ...] = FULL[:11]
QUICK: tuple[SuiteTask, ...] = (
    SuiteTask("periodic P=6", "TemporalFlipFlop-v0", {"period": 6}, 48, 300),
    SuiteTask("relative tau=3", "RelativeTimingFlipFlop-v0", {"tau": 3}, 100, 300),
    SuiteTask("FlipFlop 3-bit", "FlipFlop-v0", {}, 100, 200),
    SuiteTask("parity", "WordProblem-v0", {"group": "parity"}, 32, 200),
)


@dataclass(frozen=True)
class SuiteConfig:
    """What to run: an architecture (a built-in name or ``module:Class``) at a width (``hidden``)
    or a parameter budget (``params``: the largest width within it), its constructor options, the
    seeds and tasks. ``init``/``gain`` only for the built-ins that take them."""

    arch: str = "rnn"
    hidden: int | None = 64
    params: int | None = None
    model_kw: Mapping[str, Any] = field(default_factory=dict)
    init: str | None = None
    gain: float | None = None
    seeds: int = 3
    quick: bool = False
    tasks: tuple[str, ...] = ()  #: names to keep (default: all of the chosen ladder)
    device: str = "cpu"
    tensorboard: bool = False
    mechanism: bool = True  #: classify what each recurrent network keeps time with
    machine: bool = True  #: score each recurrent network against its task's minimal machine

    def __post_init__(self) -> None:

        check_str("arch", self.arch)
        object.__setattr__(self, "model_kw", dict(self.model_kw))
        check_arch_options(self.arch, self.init, self.gain, self.model_kw)
        if (self.hidden is None) == (self.params is None):
            raise InvalidValue("give exactly one of hidden (a width) and params (a budget)")
        check_optional(check_int, "hidden", self.hidden, 1)
        check_optional(check_int, "params", self.params, 16)
        check_int("seeds", self.seeds, 1)
        check_bool("quick", self.quick)
        check_bool("tensorboard", self.tensorboard)
        check_bool("mechanism", self.mechanism)
        check_bool("machine", self.machine)
        check_optional(check_choice, "init", self.init, ("default", "orthogonal"))
        check_optional(check_float, "gain", self.gain, above=0.0)
        check_device(self.device)
        if isinstance(self.tasks, str):
            raise InvalidValue(f"tasks must be a list of task names, got the string {self.tasks!r}")
        object.__setattr__(self, "tasks", tuple(self.tasks))
        names = [t.name for t in self.ladder]
        unknown = [t for t in self.tasks if t not in names]
        if unknown:
            raise InvalidValue(f"unknown suite tasks {unknown}; choose from {names}")

    @property
    def ladder(self) -> tuple[SuiteTask, ...]:
        """The ladder this config draws its tasks from."""
        return QUICK if self.quick else FULL

    def selected(self) -> list[SuiteTask]:
        """The tasks to run, in ladder order."""
        return [t for t in self.ladder if not self.tasks or t.name in self.tasks]

    def seeds_of(self, task: SuiteTask) -> int:
        """Seeds run on ``task``: ``seeds``, or the rung's ``min_seeds`` when larger."""
        return max(self.seeds, task.min_seeds)

    def label(self) -> str:
        """``arch(width)`` as shown in tables."""
        return f"{self.arch}({self.hidden})" if self.params is None else \
            f"{self.arch}(~{self.params // 1000}k)"

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        d = asdict(self)
        d["tasks"] = list(self.tasks)
        return d
