"""The reference leaderboard from ``ta-envs suite`` runs of several architectures.

    python benchmarks/suite_table.py runs/suite/rnn runs/suite/gru ...

Reads each directory's ``results.json`` (joined by task name, refusing mixed protocols), copies
each report to ``benchmarks/results/suite/suite_<arch>.json`` for ``ta-envs-suite/2`` or
``benchmarks/results/suite/v3/suite_<arch>.json`` for ``ta-envs-suite/3`` (the references
``ta-envs suite compare --reference`` reads), writes ``leaderboard.md`` there (the leaderboard and
each architecture's width, parameters, state size and wall time) and the figure
``accuracy_vs_length.png`` with every architecture; for v3 also one figure per task family
(``family_word_problems.png``, ``family_random_automata.png``) and ``period_generalisation.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from baselines.config import TrainConfig
from baselines.figures import accuracy_vs_length, family_figure, period_figure
from baselines.suite import PROTOCOL, V2, leaderboard, load_report

RESULTS = Path(__file__).resolve().parent / "results" / "suite"
#: Where each protocol's references go.
OUT = {V2: RESULTS, PROTOCOL: RESULTS / "v3"}
#: The v3 families drawn one figure each: (file, title, task-id).
FAMILIES = (("family_word_problems.png", "word problems (WordProblem-v0)", "WordProblem-v0"),
            ("family_random_automata.png", "random automata (RandomAutomaton-v0)",
             "RandomAutomaton-v0"))


def run_machine(report: dict) -> str:
    """The machine and the torch threads each run trained with. Reports made before the suite
    recorded that (their string ends in ``torch threads``) named the parent process's threads; their
    runs trained with ``TrainConfig``'s default, one thread at every commit these references
    were made at."""
    m = report["environment"]["machine"]
    if "per run" in m:
        return m
    threads = TrainConfig.__dataclass_fields__["threads"].default
    return f"{m.split(',')[0]}, {threads} torch thread(s) per run"


def wall_table(reports: list[dict]) -> str:
    """Markdown: per architecture its width, parameters, runs and wall times."""
    lines = ["| architecture | hidden | parameters | state size | runs | run time, all runs | "
             "median s per run | last invocation's wall time |", "|---|---|---|---|---|---|---|---|"]
    for r in reports:
        runs = sum(len(t["runs"]) for t in r["tasks"])
        st = r.get("state") or {}
        state = st.get("state_size") if st.get("state_size") is not None else \
            (f"grows ({st['state_per_step']} per step)" if st.get("state_per_step") else "-")
        lines.append(f"| {r['label']} | {r['hidden']} | {r['params']:,} | {state} | {runs} | "
                     f"{r['run_wall_s']['total'] / 3600:.1f} h | "
                     f"{r['run_wall_s']['per_run_median']:.0f} | {r['wall_s'] / 60:.0f} min |")
    lines += ["", "Run time is each run's own wall time, summed; an interrupted suite resumes from "
              "its cache, so the last invocation's wall time can be shorter than the ladder's. "
              "All runs shared the 2-core machine with other work."]
    return "\n".join(lines)


def header(reports: list[dict]) -> str:
    """The leaderboard's title and its line on budget, seeds, machine and each column's commit."""
    machines = sorted({run_machine(r) for r in reports})
    by_commit: dict[str, list[str]] = {}  # the code each column ran (ladders can run apart)
    for r in reports:
        c = (r["environment"].get("git_commit") or "no git")[:10]
        by_commit.setdefault(f"{c} (torch {r['environment']['torch']})", []).append(r["label"])
    commits = "; ".join(f"{', '.join(v)}: commit {k}" for k, v in by_commit.items())
    seeds = sorted({t["seeds"] for t in reports[0]["tasks"]})
    return (f"# Reference leaderboard ({reports[0]['protocol']})\n\n"
            f"Every architecture at about "
            f"{reports[0]['config'].get('params') or reports[0]['params']:,} parameters, "
            f"{' or '.join(map(str, seeds))} seeds per task, the full ladder, one recipe (see "
            f"`baselines/suite/protocol.py`); {'; '.join(machines)}. {commits}.\n\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", nargs="+", help="suite output folders (or results.json files)")
    a = p.parse_args()
    reports = [load_report(d) for d in a.dirs]
    board = leaderboard(reports)
    protocol = reports[0]["protocol"]
    out = OUT[protocol]
    out.mkdir(parents=True, exist_ok=True)
    for r in reports:
        clean = {k: v for k, v in r.items() if not k.startswith("_")}
        (out / f"suite_{r['config']['arch'].replace(':', '_')}.json").write_text(
            json.dumps(clean, indent=1) + "\n")
    text = header(reports) + board + "\n\n" + wall_table(reports) + "\n"
    (out / "leaderboard.md").write_text(text)
    version = protocol.rsplit("/", 1)[-1]
    accuracy_vs_length(reports, out / "accuracy_vs_length.png",
                       f"suite/{version}: accuracy against sequence length, every reference "
                       "architecture")
    if protocol != V2:
        for name, title, family in FAMILIES:
            tasks = [t["task"] for t in reports[0]["tasks"] if t["id"] == family]
            if tasks:
                family_figure(reports, tasks, out / name, f"suite/{version}: {title}")
        period_figure(reports, out / "period_generalisation.png",
                      f"suite/{version}: zero-shot at another period\n(grey: the "
                      "trained-period automaton)")
    print(text)


if __name__ == "__main__":
    main()
