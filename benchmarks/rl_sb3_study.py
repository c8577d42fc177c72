"""The stable-baselines3 table: PPO, PPO on stacked frames, RecurrentPPO (LSTM, GRU) and PPO with
the clock observed, on the first ladder rungs; 2 seeds per row, SB3's defaults otherwise.

    python benchmarks/rl_sb3_study.py --runs runs/rl_sb3 --workers 2

Runs every row with ``train_seeds_rl`` (the library behind ``ta-envs rl``) into
``--runs/<row>`` (a finished row is reused when the command is repeated: its seeds resume from
their checkpoints), then writes ``benchmarks/results/rl_results.json`` through ``rl_table.py``'s
rows, with the commit each row was made at. Frames per second are measured with ``--workers``
seeds running at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import table, write_json  # noqa: E402
from rl_table import COLUMNS, row_of  # noqa: E402

from baselines.provenance import commits_of  # noqa: E402
from baselines.rl import RLConfig, train_seeds_rl  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
P6 = ("TemporalFlipFlop-v0", {"period": 6})
P24 = ("TemporalFlipFlop-v0", {"period": 24})
REL = ("RelativeTimingFlipFlop-v0", {})
FF = ("FlipFlop-v0", {})
#: (folder, task, algo, core, observe_clock, steps): the committed table's rows, in its order.
ROWS: tuple[tuple[str, tuple[str, dict[str, Any]], str, str, bool, int], ...] = (
    ("p6_ppo", P6, "ppo", "lstm", False, 60_000),
    ("p6_ppo_clock", P6, "ppo", "lstm", True, 60_000),
    ("p6_ppofs", P6, "ppo-framestack", "lstm", False, 60_000),
    ("p6_rppo_lstm", P6, "recurrent-ppo", "lstm", False, 60_000),
    ("p6_rppo_gru", P6, "recurrent-ppo", "gru", False, 60_000),
    ("p24_ppo", P24, "ppo", "lstm", False, 60_000),
    ("p24_ppo_clock", P24, "ppo", "lstm", True, 60_000),
    ("p24_ppo_clock_200k", P24, "ppo", "lstm", True, 200_000),
    ("p24_ppofs", P24, "ppo-framestack", "lstm", False, 60_000),
    ("p24_rppo_lstm", P24, "recurrent-ppo", "lstm", False, 60_000),
    ("p24_rppo_gru", P24, "recurrent-ppo", "gru", False, 60_000),
    ("rel_ppo", REL, "ppo", "lstm", False, 60_000),
    ("rel_ppofs", REL, "ppo-framestack", "lstm", False, 60_000),
    ("rel_rppo_lstm", REL, "recurrent-ppo", "lstm", False, 60_000),
    ("ff_ppo", FF, "ppo", "lstm", False, 60_000),
    ("ff_ppofs", FF, "ppo-framestack", "lstm", False, 60_000),
    ("ff_rppo_lstm", FF, "recurrent-ppo", "lstm", False, 60_000),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="runs/rl_sb3")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rows", nargs="*", default=None, help="folders of the rows to run (all)")
    ap.add_argument("--out", default=str(RESULTS / "rl_results.json"))
    a = ap.parse_args()
    names = [r[0] for r in ROWS]
    bad = [r for r in (a.rows or []) if r not in names]
    if bad:
        ap.error(f"--rows: unknown {bad}; choose from {names}")
    rows, made = [], []
    for folder, (env_id, kw, *_), algo, core, clock, steps in (
            r for r in ROWS if a.rows is None or r[0] in a.rows):
        cfg = RLConfig(algo=algo, env_id=env_id, env_kwargs=kw, core=core, observe_clock=clock,
                       steps=steps)
        out = Path(a.runs, folder)
        summary_path = out / "summary.json"
        want = {k: v for k, v in cfg.to_dict().items() if k != "seed"}
        if not (summary_path.exists()
                and json.loads(summary_path.read_text())["config"] == want):
            train_seeds_rl(cfg, list(range(a.seeds)), out, workers=a.workers, progress=False)
        summary = json.loads(summary_path.read_text())  # as written, with its provenance
        rows.append(row_of(summary, out))
        made.append(summary.get("provenance"))
        print(f"{folder}: TD {rows[-1]['TD acc']}, TI {rows[-1]['TI acc']}", flush=True)
    print(table(rows, COLUMNS))
    write_json(a.out, rows, run_commits=commits_of(made))


if __name__ == "__main__":
    main()
