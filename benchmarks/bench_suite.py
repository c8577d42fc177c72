"""The suite's training throughput: ``train()`` against a minimal torch loop over the same module,
optimiser and data, for every built-in architecture at the reference parameter budget (the suite
recipe: Adam 0.01, batch 64, evaluation every 10 iterations, on the periodic task P = 24 at its
training length 96), and the full ladder's wall time per architecture from the committed reference
reports (``benchmarks/results/suite/suite_<arch>.json``).

    python benchmarks/bench_suite.py [--params 10000] [--quick]

One thread. Timing is interleaved round by round (see ``_training.py``). Prints Markdown tables
and writes ``benchmarks/results/bench_suite.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import pin_threads, table, write_json  # noqa: E402
from _training import harness_ratio  # noqa: E402

from baselines.config import TrainConfig  # noqa: E402
from baselines.models import BUILTIN, head_spec, width_for_budget  # noqa: E402
from baselines.suite.protocol import RECIPE  # noqa: E402
from ta_envs import make_task  # noqa: E402

HERE = Path(__file__).resolve().parent


def ladder_wall_times() -> list[dict[str, Any]]:
    """Wall time of the committed reference runs, per architecture."""
    rows = []
    for path in sorted((HERE / "results" / "suite").glob("suite_*.json")):
        r = json.loads(path.read_text())
        rows.append({"arch": r["config"]["arch"], "hidden": r["hidden"], "params": r["params"],
                     "runs": sum(len(t.get("runs", [])) for t in r["tasks"]) or None,
                     "ladder wall_s (all runs, 2 workers)": r["wall_s"],
                     "run-seconds total": r["run_wall_s"]["total"],
                     "median s per run": r["run_wall_s"]["per_run_median"]})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--params", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="fewer iterations and rounds")
    p.add_argument("--out", default=str(HERE / "results" / "bench_suite.json"))
    a = p.parse_args()
    pin_threads()
    its, rounds = (30, 2) if a.quick else (100, 3)
    task = make_task("TemporalFlipFlop-v0")
    n_in = task.obs_table.shape[1]
    n_out, _ = head_spec(task)
    rows = []
    for arch in BUILTIN:
        hidden, params = width_for_budget(arch, a.params, n_in, n_out)
        cfg = TrainConfig(arch=arch, hidden=hidden, seq_len=96, **RECIPE)
        rows.append({"arch": arch, "hidden": hidden, "params": params,
                     **harness_ratio(cfg, its, rounds)})
        print(f"{arch}: {rows[-1]['ratio (train / minimal)']:.2f}", flush=True)
    print(table(rows, ["arch", "hidden", "params", "train() it/s", "minimal loop it/s",
                       "ratio (train / minimal)"]))
    walls = ladder_wall_times()
    if walls:
        print()
        print(table(walls, ["arch", "hidden", "params", "ladder wall_s (all runs, 2 workers)",
                            "run-seconds total", "median s per run"]))
    write_json(a.out, rows, ladder=walls, params_budget=a.params,
               goal="train() >= 0.8x the minimal loop for every built-in",
               note="train() evaluates 256 held-out sequences every 10 iterations (the suite "
                    "recipe); the minimal loop does not evaluate")


if __name__ == "__main__":
    main()
