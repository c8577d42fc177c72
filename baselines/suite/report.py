"""Tables of suite reports, joined by protocol and task name, never by position."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ta_envs.validation import InvalidValue

from .protocol import CONDITIONS

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "suite"


def load_report(path: str | Path) -> dict[str, Any]:
    """A ``results.json`` (or its directory), with a clear error naming the file."""
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


def reference_reports() -> list[dict[str, Any]]:
    """The committed reference reports (``benchmarks/results/suite/*.json``)."""
    return [load_report(p) for p in sorted(RESULTS.glob("suite_*.json"))]


#: The parameter budget of the reference reports; a compared model more than 10 % off is marked.
REFERENCE_PARAMS = 10_000


def budget_of(r: dict[str, Any], name: str) -> tuple[Any, ...]:
    """What a report's task was trained with: iterations, sequence length, seeds, and whether
    the report is a ``--quick`` one."""
    t = _task(r, name)
    return (t.get("iterations"), t.get("seq_len"), t.get("seeds"),
            bool(r.get("config", {}).get("quick")))


def align(reports: Sequence[dict[str, Any]], allow_mixed: bool = False
          ) -> tuple[list[str], list[str]]:
    """The task names every report has (in the first report's order) and notes on the rest.
    ``InvalidValue`` when the reports follow different protocols, or (unless ``allow_mixed``)
    ran a shared task with a different budget (iterations, length, seeds, quick)."""
    if not reports:
        raise InvalidValue("no reports to compare")
    protocols = {r["protocol"] for r in reports}
    if len(protocols) > 1:
        which = "; ".join(f"{r['label']} ({r.get('_path', '?')}): {r['protocol']}" for r in reports)
        raise InvalidValue(f"cannot compare reports of different protocols: {which}; rerun the "
                           "older ones with this version")
    names = [[t["task"] for t in r["tasks"]] for r in reports]
    common = [n for n in names[0] if all(n in other for other in names[1:])]
    notes = []
    for r, ns in zip(reports, names):
        extra = [n for n in ns if n not in common]
        if extra:
            notes.append(f"{r['label']}: also ran {extra} (not shown: not in every report)")
    if not common:
        raise InvalidValue("the reports share no task")
    mixed = [n for n in common if len({budget_of(r, n) for r in reports}) > 1]
    if mixed:
        detail = "; ".join(
            f"{r['label']}: " + ", ".join(
                f"{n} {budget_of(r, n)[0]} it x {budget_of(r, n)[1]} steps, {budget_of(r, n)[2]} "
                f"seeds{' (quick)' if budget_of(r, n)[3] else ''}" for n in mixed[:2])
            for r in reports)
        if not allow_mixed:
            raise InvalidValue(f"the reports ran {len(mixed)} shared tasks with different budgets "
                               f"({detail}); their scores are not comparable. Rerun with the "
                               "same budget, or pass --allow-mixed to show them with a note")
        notes.append(f"mixed budgets on {mixed}: {detail}")
    for r in reports:
        p = r.get("params")
        if isinstance(p, int) and abs(p - REFERENCE_PARAMS) > 0.1 * REFERENCE_PARAMS:
            notes.append(f"{r['label']} has {p:,} parameters, {100 * (p / REFERENCE_PARAMS - 1):+.0f}"
                         f" % off the reference budget of {REFERENCE_PARAMS:,}")
    if len(common) < max(len(n) for n in names):
        notes.append(f"only the {len(common)} tasks common to every report are shown, and the "
                     "overall scores are means over those")
    return common, notes


def run_score(r: dict[str, Any], ch: float) -> float:
    """A run's score: mean metric over the conditions; a failed run scores chance."""
    if r.get("failed") or not r.get("acc"):
        return ch
    return float(np.mean([r["acc"][c]["acc"] for c in CONDITIONS]))


def _task(r: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in r["tasks"] if t["task"] == name)


def _mechanisms(per_seed: Sequence[str] | None) -> str:
    """Per-seed mechanism strings as counts, e.g. ``3x (a: orbit 6, b: torus ~6.0)``; ρ: the
    largest eigenvalue modulus at a fixed point."""
    import re
    from collections import Counter

    if not per_seed:
        return "-"
    def tidy(m: str) -> str:  # no "|" inside a Markdown cell
        m = re.sub(r"torus \(rotation [-\d.]+, ~period ([\d.]+)\)", r"torus ~\1", m)
        m = re.sub(r"\(\|λ\|max ([\d.]+)\)", lambda g: f"(ρ {float(g.group(1)):.2f})", m)
        return m.replace("; ", ", ").replace("|", "\\|")

    short = [tidy(m) for m in per_seed]
    return "; ".join(f"{k}x ({m})" for m, k in Counter(short).most_common())


def _off_budget(r: dict[str, Any]) -> bool:
    p = r.get("params")
    return isinstance(p, int) and abs(p - REFERENCE_PARAMS) > 0.1 * REFERENCE_PARAMS


def leaderboard(reports: Sequence[dict[str, Any]], allow_mixed: bool = False) -> str:
    """Markdown: per task the score (mean / max over seeds, seeds solved, failures), chance, and
    the mechanism; the overall score over the common tasks; then accuracy per condition. A
    parameter count more than 10 % off the reference budget is marked ``(!)``."""
    common, notes = align(reports, allow_mixed)
    names = [(f"{r['label']}, {r.get('params', '?'):,} params" + (" (!)" if _off_budget(r) else ""))
             if isinstance(r.get("params"), int) else r["label"] for r in reports]
    lines = ["| task | chance | " + " | ".join(f"{n}: mean / max" for n in names) + " |",
             "|---|---|" + "---|" * len(reports)]
    for name in common:
        cells = []
        for r in reports:
            t = _task(r, name)
            fail = f", {t['failed']} failed" if t.get("failed") else ""
            cells.append(f"{t['score_mean']:.3f} / {t['score_max']:.3f} ({t['solved']}{fail})")
        lines.append(f"| {name} | {_task(reports[0], name).get('chance', 0.5):.3f} | "
                     + " | ".join(cells) + " |")
    overall = [float(np.mean([_task(r, n)["score_mean"] for n in common])) for r in reports]
    best = [float(np.mean([_task(r, n)["score_max"] for n in common])) for r in reports]
    lines.append("| **overall** | | " + " | ".join(f"**{m:.3f} / {b:.3f}**" for m, b in
                                                  zip(overall, best)) + " |")
    lines += ["", "Accuracy per condition (mean over seeds): " + " / ".join(CONDITIONS), "",
              "| task | " + " | ".join(r["label"] for r in reports) + " |",
              "|---|" + "---|" * len(reports)]
    for name in common:
        cells = []
        for r in reports:
            am = _task(r, name)["acc_mean"]
            cells.append(" / ".join("-" if am.get(c) is None else f"{am[c]:.2f}"
                                    for c in CONDITIONS))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    mech_rows = [(n, [_task(r, n).get("mechanism") for r in reports]) for n in common]
    if any(m for _, ms in mech_rows for m in ms):
        lines += ["", "What each final network keeps time with under constant input (seeds with "
                  "each outcome, per input symbol):",
                  "", "| task | " + " | ".join(r["label"] for r in reports) + " |",
                  "|---|" + "---|" * len(reports)]
        for n, ms in mech_rows:
            if any(ms):
                lines.append(f"| {n} | " + " | ".join(_mechanisms(m) for m in ms) + " |")
    if notes:
        lines += [""] + [f"Note: {x}" for x in notes]
    return "\n".join(lines)


def compare_rows(reports: Sequence[dict[str, Any]], allow_mixed: bool = False
                 ) -> list[dict[str, Any]]:
    """One row per (report, common task): label, parameters, task, score mean/max, solved, and
    the accuracy of each condition (the CSV of ``suite compare --out``)."""
    common, _ = align(reports, allow_mixed)
    rows = []
    for r in reports:
        for n in common:
            t = _task(r, n)
            rows.append({"label": r["label"], "params": r.get("params"), "task": n,
                         "iterations": t.get("iterations"), "seeds": t.get("seeds"),
                         "score_mean": t["score_mean"], "score_max": t["score_max"],
                         "solved": t["solved"],
                         **{f"acc_{c}": t["acc_mean"].get(c) for c in CONDITIONS}})
    return rows


def merge_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A partial run (``--tasks``) merged into an earlier report of the same protocol and model:
    the new tasks replace their namesakes, the others are kept; the overall score is recomputed.
    ``InvalidValue`` when the two describe different models or protocols."""
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
