"""Tables of suite reports, joined by protocol and task name, never by position."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ta_envs.validation import InvalidValue

from .protocol import CONDITIONS, LENGTHS, PERIOD_CONDITIONS, PROTOCOL, V2
from .records import REFERENCE_PARAMS, SuiteReport, TaskSummary

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "suite"


def load_report(path: str | Path) -> dict[str, Any]:
    """A ``results.json`` (or its directory), with a clear error naming the file.

    Args:
        path: a ``results.json`` or the folder holding one.

    Returns:
        The report as a dict, with ``label`` defaulted and ``_path`` set.

    Raises:
        ValueError: no file there, not JSON, or not a well-formed suite report (what is wrong is
            named).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        rep = json.loads(p.read_text())
    except FileNotFoundError:
        raise InvalidValue(f"no suite report at {p}") from None
    except ValueError as err:
        raise InvalidValue(f"{p} is not a suite report (JSON error: {err})") from None
    if not isinstance(rep, dict) or "protocol" not in rep or "tasks" not in rep:
        raise InvalidValue(f"{p} is not a suite report (no protocol/tasks)")
    problem = _structure_problem(rep)
    if problem:
        raise InvalidValue(f"{p} is not a well-formed suite report: {problem}")
    rep.setdefault("label", f"{rep['config']['arch']}({rep['config'].get('hidden')})")
    rep["_path"] = str(p)
    return rep


def _structure_problem(rep: dict[str, Any]) -> str | None:
    """What is wrong with a report's structure (None: fine), checked before any table is built."""
    if not isinstance(rep.get("config"), dict) or "arch" not in rep["config"]:
        return "'config' must be an object with 'arch'"
    if not isinstance(rep["tasks"], list) or not rep["tasks"]:
        return "'tasks' must be a non-empty list"
    for i, t in enumerate(rep["tasks"]):
        if not isinstance(t, dict):
            return f"tasks[{i}] must be an object"
        for k, kind in (("task", str), ("score_mean", (int, float)), ("score_max", (int, float)),
                        ("acc_mean", dict), ("runs", list), ("solved", str)):
            if not isinstance(t.get(k), kind) or isinstance(t.get(k), bool):
                return f"tasks[{i}].{k} is missing or has the wrong type ({type(t.get(k)).__name__})"
    return None


#: Where each protocol's committed reference reports live.
REFERENCE_DIRS = {V2: RESULTS, PROTOCOL: RESULTS / "v3"}


def reference_reports(protocol: str = PROTOCOL) -> list[dict[str, Any]]:
    """The committed reference reports of a protocol (``benchmarks/results/suite/suite_*.json``
    for v2, ``.../suite/v3/suite_*.json`` for v3).

    Args:
        protocol: `PROTOCOL` (this version's) or `V2`.

    Returns:
        The reports, loaded with `load_report`, in file-name order (empty when none is committed).

    Raises:
        ValueError: an unknown protocol, or a committed report that is not well formed.
    """
    if protocol not in REFERENCE_DIRS:
        raise InvalidValue(f"protocol must be one of {list(REFERENCE_DIRS)}, got {protocol!r}")
    return [load_report(p) for p in sorted(REFERENCE_DIRS[protocol].glob("suite_*.json"))]


def budget_of(r: dict[str, Any], name: str) -> tuple[Any, ...]:
    """What a report's task was trained with: iterations, sequence length, seeds, and whether
    the report is a ``--quick`` one."""
    b = SuiteReport.from_dict(r).task(name).budget
    return (b.iterations, b.seq_len, b.seeds, b.quick)


def align(reports: Sequence[dict[str, Any] | SuiteReport], allow_mixed: bool = False
          ) -> tuple[list[str], list[str]]:
    """The task names every report has (in the first report's order) and notes on the rest.
    ``InvalidValue`` when the reports follow different protocols, or (unless ``allow_mixed``)
    ran a shared task with a different budget (iterations, length, seeds, quick).

    Args:
        reports: suite reports (`load_report` dicts or `SuiteReport` records).
        allow_mixed: show shared tasks run with different budgets, with a note.

    Returns:
        ``(common task names, notes)``.

    Raises:
        ValueError: no reports, different protocols, no shared task, or (unless ``allow_mixed``)
            different budgets on a shared task.
    """
    if not reports:
        raise InvalidValue("no reports to compare")
    recs = [SuiteReport.from_dict(r) for r in reports]
    if len({r.protocol for r in recs}) > 1:
        which = "; ".join(f"{r.label} ({r.path}): {r.protocol}" for r in recs)
        raise InvalidValue(f"cannot compare reports of different protocols: {which}; rerun the "
                           "older ones with this version")
    common = [n for n in recs[0].names if all(n in other.names for other in recs[1:])]
    if not common:
        raise InvalidValue("the reports share no task")
    extra = [f"{r.label}: also ran {[n for n in r.names if n not in common]} (not shown: not in "
             "every report)" for r in recs if set(r.names) - set(common)]
    notes = extra + _budget_notes(recs, common, allow_mixed) + _params_notes(recs)
    if extra:
        notes.append(f"only the {len(common)} tasks common to every report are shown, and the "
                     "overall scores are means over those")
    return common, notes


def _params_notes(recs: list[SuiteReport]) -> list[str]:
    return [f"{r.label} has {r.params:,} parameters, "
            f"{100 * (r.params / REFERENCE_PARAMS - 1):+.0f} % off the reference budget of "
            f"{REFERENCE_PARAMS:,}" for r in recs if r.off_budget and r.params is not None]


def _budget_notes(recs: list[SuiteReport], common: list[str], allow_mixed: bool) -> list[str]:
    """A note on shared tasks run with different budgets; ``InvalidValue`` unless allowed."""
    mixed = [n for n in common if len({r.task(n).budget for r in recs}) > 1]
    if not mixed:
        return []
    detail = "; ".join(f"{r.label}: " + ", ".join(f"{n} {r.task(n).budget.describe()}"
                                                  for n in mixed[:2]) for r in recs)
    if not allow_mixed:
        raise InvalidValue(f"the reports ran {len(mixed)} shared tasks with different budgets "
                           f"({detail}); their scores are not comparable. Rerun with the "
                           "same budget, or pass --allow-mixed to show them with a note")
    return [f"mixed budgets on {mixed}: {detail}"]


def run_score(r: dict[str, Any], ch: float) -> float:
    """A run's score: mean metric over its length and event-rate conditions (those of
    `CONDITIONS` it has; period conditions are not in it); a failed run scores chance."""
    if r.get("failed") or not r.get("acc"):
        return ch
    return float(np.mean([r["acc"][c]["acc"] for c in CONDITIONS if c in r["acc"]]))


def _task(r: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in r["tasks"] if t["task"] == name)


def _tidy_mechanism(m: str) -> str:
    """A mechanism string for a Markdown cell: short torus and ρ forms, no ``|``."""
    m = re.sub(r"torus \(rotation [-\d.]+, ~period ([\d.]+)\)", r"torus ~\1", m)
    m = re.sub(r"\(\|λ\|max ([\d.]+)\)", lambda g: f"(ρ {float(g.group(1)):.2f})", m)
    m = re.sub(r"decaying rotation \|λ\| ([\d.]+), ~period ([\d.]+)",
               lambda g: f"rotation ρ {float(g.group(1)):.2f} ~{g.group(2)}", m)
    m = re.sub(r"contraction \|λ\| ([\d.]+)", lambda g: f"contraction ρ {float(g.group(1)):.2f}",
               m)
    return m.replace("; ", ", ").replace("|", "\\|")


def mechanism_cell(per_seed: Sequence[str] | None) -> str:
    """Per-seed mechanism strings as counts, e.g. ``3x (a: orbit 6, b: torus ~6.0)``; ρ: the
    largest eigenvalue modulus at a fixed point."""
    if not per_seed:
        return "-"
    short = [_tidy_mechanism(m) for m in per_seed]
    return "; ".join(f"{k}x ({m})" for m, k in Counter(short).most_common())


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Markdown table lines: the header, the rule (first column left-aligned), the rows."""
    return ["| " + " | ".join(head) + " |", "|---" * len(head) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _score_rows(recs: list[SuiteReport], common: list[str]) -> list[list[str]]:
    rows = []
    for name in common:
        cells = []
        for r in recs:
            t = r.task(name)
            fail = f", {t.failed} failed" if t.failed else ""
            cells.append(f"{t.score_mean:.3f} / {t.score_max:.3f} ({t.solved}{fail})")
        rows.append([name, f"{recs[0].task(name).chance:.3f}", *cells])
    overall = [float(np.mean([r.task(n).score_mean for n in common])) for r in recs]
    best = [float(np.mean([r.task(n).score_max for n in common])) for r in recs]
    rows.append(["**overall**", "", *(f"**{m:.3f} / {b:.3f}**" for m, b in zip(overall, best))])
    return rows


def _condition_cell(t: TaskSummary) -> str:
    return " / ".join("-" if t.acc_mean.get(c) is None else f"{t.acc_mean[c]:.2f}"
                      for c in CONDITIONS)


def _generalisation_cell(t: TaskSummary) -> str:
    """``16x`` accuracy, the period conditions against their control, the machine score."""
    parts = []
    far = t.acc_mean.get(f"{LENGTHS[-1]}x")
    parts.append("-" if far is None else f"{far:.2f}")
    per = [f"{c} {t.period_mean[c]:.2f} (ctrl {t.period_control.get(c) or 0:.2f})"
           for c in PERIOD_CONDITIONS if t.period_mean.get(c) is not None]
    parts.append(", ".join(per) if per else "-")
    parts.append("-" if t.machine_mean is None else f"{t.machine_mean:.2f}")
    return " / ".join(parts)


def _generalisation_table(recs: list[SuiteReport], common: list[str], labels: list[str]
                          ) -> list[str]:
    """Length and period generalisation and the machine score (v3 reports), or nothing."""
    if not any(r.task(n).period_mean or r.task(n).machine_mean is not None
               for r in recs for n in common):
        return []
    lines = ["", f"Generalisation and machine score (mean over seeds): accuracy at {LENGTHS[-1]}x "
             "the training length / at the period P/2 and 2P, zero-shot, with the control (the "
             "exact trained-period automaton on the same sequences) / the machine score at 4x "
             "(recurrent models; `analysis.machine`):", ""]
    return lines + _table(["task", *labels],
                          [[n, *(_generalisation_cell(r.task(n)) for r in recs)] for n in common])


def leaderboard(reports: Sequence[dict[str, Any] | SuiteReport], allow_mixed: bool = False
                ) -> str:
    """Markdown: per task the score (mean / max over seeds, seeds solved, failures), chance, and
    the mechanism; the overall score over the common tasks; then accuracy per condition. A
    parameter count more than 10 % off the reference budget is marked ``(!)``.

    Args:
        reports: suite reports (`load_report` dicts or `SuiteReport` records).
        allow_mixed: as in `align`.

    Returns:
        The Markdown tables, then one note per line.

    Raises:
        ValueError: as `align`.
    """
    common, notes = align(reports, allow_mixed)
    recs = [SuiteReport.from_dict(r) for r in reports]
    labels = [r.label for r in recs]
    lines = _table(["task", "chance", *(f"{r.heading}: mean / max" for r in recs)],
                   _score_rows(recs, common))
    lines += ["", "Accuracy per condition (mean over seeds): " + " / ".join(CONDITIONS), ""]
    lines += _table(["task", *labels],
                    [[n, *(_condition_cell(r.task(n)) for r in recs)] for n in common])
    lines += _generalisation_table(recs, common, labels)
    mech = [[n, *(mechanism_cell(r.task(n).mechanism) for r in recs)] for n in common
            if any(r.task(n).mechanism for r in recs)]
    if mech:
        lines += ["", "What each final network keeps time with under constant input (seeds with "
                  "each outcome, per input symbol):", ""]
        lines += _table(["task", *labels], mech)
    if notes:
        lines += [""] + [f"Note: {x}" for x in notes]
    return "\n".join(lines)


def compare_rows(reports: Sequence[dict[str, Any]], allow_mixed: bool = False
                 ) -> list[dict[str, Any]]:
    """One row per (report, common task): label, parameters, task, score mean/max, solved, and
    the accuracy of each condition (the CSV of ``suite compare --out``).

    Args:
        reports: suite reports, as `load_report` returns them.
        allow_mixed: as in `align`.

    Returns:
        One dict per (report, common task).

    Raises:
        ValueError: as `align`.
    """
    common, _ = align(reports, allow_mixed)
    rows = []
    for r in reports:
        for n in common:
            t = _task(r, n)
            rows.append({"label": r["label"], "params": r.get("params"), "task": n,
                         "iterations": t.get("iterations"), "seeds": t.get("seeds"),
                         "score_mean": t["score_mean"], "score_max": t["score_max"],
                         "solved": t["solved"],
                         **{f"acc_{c}": t["acc_mean"].get(c) for c in CONDITIONS},
                         **{f"acc_{c}": (t.get("period_mean") or {}).get(c)
                            for c in PERIOD_CONDITIONS},
                         **{f"control_{c}": (t.get("period_control") or {}).get(c)
                            for c in PERIOD_CONDITIONS},
                         "machine": t.get("machine_mean")})
    return rows


def merge_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A partial run (``--tasks``) merged into an earlier report of the same protocol and model:
    the new tasks replace their namesakes, the others are kept; the overall score is recomputed.
    ``InvalidValue`` when the two describe different models or protocols.

    Args:
        old: the report already in the folder.
        new: the partial run's report.

    Returns:
        The merged report.

    Raises:
        ValueError: the two reports hold different models or protocols.
    """
    keys = ("arch", "hidden", "params", "model_kw", "init", "gain", "quick")
    a = {k: old.get("config", {}).get(k) for k in keys}
    b = {k: new.get("config", {}).get(k) for k in keys}
    if old.get("protocol") != new.get("protocol") or a != b:
        raise InvalidValue(f"results.json in this folder holds another model or protocol "
                           f"({old.get('protocol')}, {a}) than this run ({new.get('protocol')}, "
                           f"{b}); use another --out")
    fresh = {t["task"]: t for t in new["tasks"]}
    tasks = [fresh.pop(t["task"], t) for t in old["tasks"]] + list(fresh.values())
    out = {**new, "tasks": tasks}
    out["config"] = {**new["config"], "tasks": sorted({t["task"] for t in tasks})}
    out["overall"] = {"score_mean": float(np.mean([t["score_mean"] for t in tasks])),
                      "score_max": float(np.mean([t["score_max"] for t in tasks])),
                      "tasks": len(tasks)}
    return out


def verify_report(report: dict[str, Any], rerun: dict[str, Any], seed: int,
                  slack: float = 0.02) -> list[dict[str, Any]]:
    """Per task of ``report``: the re-run ``seed``'s score beside the report's scores of the
    seeds (recorded value of that seed, min and max over seeds); ``ok`` when the re-run lies within
    [min - slack, max + slack]; ``exact`` when it equals the recorded seed's score."""
    out = []
    for t in report["tasks"]:
        mine = next((x for x in rerun["tasks"] if x["task"] == t["task"]), None)
        if mine is None:
            continue
        ch = t.get("chance", 0.5)
        scores = [run_score(r, ch) for r in t["runs"]]
        rec = next((run_score(r, ch) for r in t["runs"] if r["seed"] == seed), None)
        new = run_score(next(r for r in mine["runs"] if r["seed"] == seed), ch)
        lo, hi = min(scores), max(scores)
        out.append({"task": t["task"], "seed": seed, "recorded": rec, "rerun": new,
                    "min": lo, "max": hi, "ok": lo - slack <= new <= hi + slack,
                    "exact": rec is not None and abs(rec - new) < 1e-12})
    return out
