"""The benchmark suite: any sequence architecture on a fixed ladder of timed-automaton tasks.

`.protocol` defines ``ta-envs-suite/3`` (tasks, recipe, conditions, score; v2 reports stay
readable); `.cache` the run cache keyed on config and model source; `.evaluate` the
bounded-memory evaluation; `.run` the execution (local workers or Ray) and scoring; `.records`
the typed report records; `.report` the tables joined by task name.
"""

from .cache import model_source_hash, run_key
from .protocol import (
    CONDITIONS,
    FULL,
    LENGTHS,
    PERIOD_CONDITIONS,
    PROTOCOL,
    QUICK,
    V2,
    SuiteConfig,
    SuiteTask,
)
from .records import Budget, SuiteReport, TaskSummary
from .report import (
    align,
    compare_rows,
    leaderboard,
    load_report,
    merge_reports,
    reference_reports,
)
from .run import run_suite, run_unit, score, train_configs

__all__ = ["CONDITIONS", "FULL", "LENGTHS", "PERIOD_CONDITIONS", "PROTOCOL", "QUICK", "V2",
           "Budget", "SuiteConfig",
           "SuiteReport", "SuiteTask", "TaskSummary",
           "align", "compare_rows", "leaderboard", "load_report", "merge_reports",
           "model_source_hash", "reference_reports", "run_key", "run_suite", "run_unit", "score",
           "train_configs"]
