"""Leaderboard of ``ta-envs suite`` results for several architectures.

    python benchmarks/suite_table.py runs/suite/rnn runs/suite/gru runs/suite/lstm runs/suite/linear

Reads each directory's ``results.json``, prints the Markdown leaderboard (per task: mean / max
score over seeds and seeds solved; the overall score), copies each report to
``benchmarks/results/suite_<arch>.json`` and writes ``benchmarks/results/suite_leaderboard.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines.suite import leaderboard  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dirs", nargs="+")
    a = p.parse_args()
    reports = [json.loads(Path(d, "results.json").read_text()) for d in a.dirs]
    board = leaderboard(reports)
    print(board)
    RESULTS.mkdir(exist_ok=True)
    for r in reports:
        (RESULTS / f"suite_{r['config']['arch']}.json").write_text(json.dumps(r, indent=1) + "\n")
    (RESULTS / "suite_leaderboard.md").write_text(board + "\n")


if __name__ == "__main__":
    main()
