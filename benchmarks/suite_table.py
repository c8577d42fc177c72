"""The reference leaderboard from ``ta-envs suite`` runs of several architectures.

    python benchmarks/suite_table.py runs/suite/rnn runs/suite/gru ...

Reads each directory's ``results.json`` (joined by task name, refusing mixed protocols), copies
each report to ``benchmarks/results/suite/suite_<arch>.json`` (the references ``ta-envs suite
compare --reference`` reads), writes ``benchmarks/results/suite/leaderboard.md`` (the leaderboard
and each architecture's width, parameters and wall time) and the figure
``benchmarks/results/suite/accuracy_vs_length.png`` with every architecture.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from baselines.figures import accuracy_vs_length
from baselines.suite import leaderboard, load_report

OUT = Path(__file__).resolve().parent / "results" / "suite"


def wall_table(reports: list[dict]) -> str:
    """Markdown: per architecture its width, parameters, runs and wall times."""
    lines = ["| architecture | hidden | parameters | runs | run time, all runs | median s per run |"
             " last invocation's wall time (2 workers) |", "|---|---|---|---|---|---|---|"]
    for r in reports:
        runs = sum(len(t["runs"]) for t in r["tasks"])
        lines.append(f"| {r['label']} | {r['hidden']} | {r['params']:,} | {runs} | "
                     f"{r['run_wall_s']['total'] / 3600:.1f} h | "
                     f"{r['run_wall_s']['per_run_median']:.0f} | {r['wall_s'] / 60:.0f} min |")
    lines += ["", "Run time is each run's own wall time, summed; an interrupted suite resumes from "
              "its cache, so the last invocation's wall time can be shorter than the ladder's. "
              "All runs shared the 2-core machine with other work."]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", nargs="+", help="suite output folders (or results.json files)")
    a = p.parse_args()
    reports = [load_report(d) for d in a.dirs]
    board = leaderboard(reports)
    OUT.mkdir(parents=True, exist_ok=True)
    for r in reports:
        clean = {k: v for k, v in r.items() if not k.startswith("_")}
        (OUT / f"suite_{r['config']['arch'].replace(':', '_')}.json").write_text(
            json.dumps(clean, indent=1) + "\n")
    env = reports[0]["environment"]
    by_commit: dict[str, list[str]] = {}  # the code each column ran (ladders can run apart)
    for r in reports:
        c = (r["environment"].get("git_commit") or "no git")[:10]
        by_commit.setdefault(f"{c} (torch {r['environment']['torch']})", []).append(r["label"])
    commits = "; ".join(f"{', '.join(v)}: commit {k}" for k, v in by_commit.items())
    text = (f"# Reference leaderboard ({reports[0]['protocol']})\n\n"
            f"Every architecture at about {reports[0]['config']['params']:,} parameters, "
            f"{reports[0]['config']['seeds']} seeds, the full ladder, one recipe (see "
            f"`baselines/suite/protocol.py`); {env['machine']}. {commits}.\n\n"
            + board + "\n\n" + wall_table(reports) + "\n")
    (OUT / "leaderboard.md").write_text(text)
    accuracy_vs_length(reports, OUT / "accuracy_vs_length.png",
                       "suite/2: accuracy against sequence length, every reference architecture")
    print(text)


if __name__ == "__main__":
    main()
