"""Typed views of a suite report (``results.json``): one `TaskSummary` per task and a
`SuiteReport` around them. The JSON stays the stored form; the tables read these records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The parameter budget of the reference reports; a compared model more than 10 % off is marked.
REFERENCE_PARAMS = 10_000


@dataclass(frozen=True)
class Budget:
    """What a task was trained with; reports are comparable on a task only when these agree."""

    iterations: int | None
    seq_len: int | None
    seeds: int | None
    quick: bool

    def describe(self) -> str:
        """e.g. ``1500 it x 100 steps, 3 seeds (quick)``."""
        return (f"{self.iterations} it x {self.seq_len} steps, {self.seeds} seeds"
                + (" (quick)" if self.quick else ""))


@dataclass(frozen=True)
class TaskSummary:
    """One task of a report: the score over seeds (mean and max; chance for a failed run), the
    seeds solved (``"k/n"``), failures, mean accuracy per condition and per-seed mechanisms."""

    task: str
    chance: float
    score_mean: float
    score_max: float
    solved: str
    failed: int
    acc_mean: Mapping[str, float | None]
    budget: Budget
    mechanism: tuple[str, ...] | None
    period_mean: Mapping[str, float | None] = field(default_factory=dict)  #: v3: per period cond.
    period_control: Mapping[str, float | None] = field(default_factory=dict)  #: the P-automaton's
    machine_mean: float | None = None  #: v3: mean machine score over seeds (recurrent models)

    @classmethod
    def from_dict(cls, t: Mapping[str, Any], quick: bool) -> TaskSummary:
        """From a report's ``tasks[i]`` (checked by `load_report` before)."""
        mech = t.get("mechanism")
        return cls(task=t["task"], chance=float(t.get("chance", 0.5)),
                   score_mean=float(t["score_mean"]), score_max=float(t["score_max"]),
                   solved=t["solved"], failed=int(t.get("failed") or 0),
                   acc_mean=dict(t["acc_mean"]),
                   budget=Budget(t.get("iterations"), t.get("seq_len"), t.get("seeds"), quick),
                   mechanism=tuple(m for m in mech if m) if mech else None,
                   period_mean=dict(t.get("period_mean") or {}),
                   period_control=dict(t.get("period_control") or {}),
                   machine_mean=t.get("machine_mean"))


@dataclass(frozen=True)
class SuiteReport:
    """A report's label, source, protocol, parameter count and tasks (in the report's order)."""

    label: str
    path: str
    protocol: str
    params: int | None
    tasks: tuple[TaskSummary, ...]
    state_size: int | None = None  #: v3: floats carried from step to step (None: grows/unknown)
    state_rule: str | None = None  #: v3: how the state is counted, in words

    @classmethod
    def from_dict(cls, rep: Mapping[str, Any] | SuiteReport) -> SuiteReport:
        """From a `load_report` dict (or a record, returned as it is)."""
        if isinstance(rep, SuiteReport):
            return rep
        quick = bool(rep.get("config", {}).get("quick"))
        params = rep.get("params")
        return cls(label=rep.get("label") or f"{rep['config']['arch']}",
                   path=str(rep.get("_path", "?")), protocol=str(rep["protocol"]),
                   params=params if isinstance(params, int) and not isinstance(params, bool)
                   else None,
                   tasks=tuple(TaskSummary.from_dict(t, quick) for t in rep["tasks"]),
                   state_size=(rep.get("state") or {}).get("state_size"),
                   state_rule=(rep.get("state") or {}).get("rule"))

    @property
    def names(self) -> list[str]:
        """The task names in the report's order."""
        return [t.task for t in self.tasks]

    def task(self, name: str) -> TaskSummary:
        """The task named ``name`` (joined by name, never by position)."""
        return next(t for t in self.tasks if t.task == name)

    @property
    def off_budget(self) -> bool:
        """Parameters more than 10 % off `REFERENCE_PARAMS`."""
        return self.params is not None and \
            abs(self.params - REFERENCE_PARAMS) > 0.1 * REFERENCE_PARAMS

    @property
    def heading(self) -> str:
        """The label with the parameter count, ``(!)`` when off the reference budget."""
        if self.params is None:
            return self.label
        state = "" if self.state_rule is None else \
            f", state {self.state_size}" if self.state_size is not None else ", state grows"
        return f"{self.label}, {self.params:,} params" + (" (!)" if self.off_budget else "") + state
