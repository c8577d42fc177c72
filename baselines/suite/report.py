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
    rep.setdefault("label", f"{rep['config']['arch']}({rep['config'].get('hidden')})")
    rep["_path"] = str(p)
    return rep


def reference_reports() -> list[dict[str, Any]]:
    """The committed reference reports (``benchmarks/results/suite/*.json``)."""
    return [load_report(p) for p in sorted(RESULTS.glob("suite_*.json"))]


def align(reports: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The task names every report has (in the first report's order) and notes on the rest.
    ``InvalidValue`` when the reports follow different protocols."""
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
    if len(common) < max(len(n) for n in names):
        notes.append(f"only the {len(common)} tasks common to every report are shown, and the "
                     "overall scores are means over those")
    return common, notes


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


def leaderboard(reports: Sequence[dict[str, Any]]) -> str:
    """Markdown: per task the score (mean / max over seeds, seeds solved, failures), chance, and
    the mechanism; the overall score over the common tasks; then accuracy per condition."""
    common, notes = align(reports)
    names = [f"{r['label']}, {r.get('params', '?'):,} params" if isinstance(r.get("params"), int)
             else r["label"] for r in reports]
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
