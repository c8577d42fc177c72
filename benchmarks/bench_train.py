"""Training throughput: ``train()`` against a minimal torch loop over the same 64-unit tanh RNN,
optimiser and data (the reference recipe: SGD with momentum, batch 64 x 96 steps, P = 24), with
its default evaluation (256 held-out sequences every 10 iterations: each costs about 4/3 of a
training iteration's forward pass) and with evaluation every 50 iterations; then the cost of one
iteration against batch size and hidden size, with the fitted exponents.

    python benchmarks/bench_train.py [--quick]

One thread. Timing is interleaved round by round (see ``_training.py``). Prints Markdown tables
and writes ``benchmarks/results/bench_train.json``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import exponent, pin_threads, table, write_json  # noqa: E402
from _training import harness_ratio, minimal_seconds  # noqa: E402

from baselines.config import TrainConfig  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer iterations and rounds")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_train.json"))
    args = p.parse_args()
    pin_threads()
    its, rounds = (60, 3) if args.quick else (200, 5)
    base = TrainConfig()
    rows = [{"model": "rnn(64), batch 64 x 96", "evaluation": "every 10 (default)",
             **harness_ratio(base, its, rounds)},
            {"model": "rnn(64), batch 64 x 96", "evaluation": "every 50",
             **harness_ratio(replace(base, eval_every=50), its, rounds)}]
    print(table(rows, ["model", "evaluation", "train() it/s", "minimal loop it/s",
                       "ratio (train / minimal)"]))
    scaling = []
    for b in (16, 64, 256, 1024):
        s = minimal_seconds(TrainConfig(batch=b), max(10, its // 4))
        scaling.append({"scaling": "batch", "batch": b, "hidden": 64, "ms/iteration": 1e3 * s})
    for h in (32, 128, 256):
        s = minimal_seconds(TrainConfig(hidden=h), max(10, its // 4))
        scaling.append({"scaling": "hidden", "batch": 64, "hidden": h, "ms/iteration": 1e3 * s})
    print()
    print(table(scaling, ["scaling", "batch", "hidden", "ms/iteration"]))
    by_b = [r for r in scaling if r["scaling"] == "batch"]
    by_h = [r for r in scaling if r["hidden"] != 64 or r["batch"] == 64]
    e_b = exponent([r["batch"] for r in by_b], [r["ms/iteration"] for r in by_b])
    e_h = exponent([r["hidden"] for r in by_h], [r["ms/iteration"] for r in by_h])
    print(f"\ncost per iteration ~ batch^{e_b:.2f} (hidden 64), ~ hidden^{e_h:.2f} (batch 64)")
    write_json(args.out, rows + scaling, scaling_exponent_batch=e_b, scaling_exponent_hidden=e_h,
               goal="train() >= 0.9x the minimal loop",
               note="train() evaluates 256 held-out sequences every 10 iterations and writes a "
                    "metrics row per iteration; the minimal loop does neither")


if __name__ == "__main__":
    main()
