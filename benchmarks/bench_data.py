"""Supervised dataset throughput: ta-envs ``make_dataset`` vs NeuroGym 2.3.1 ``Dataset``, same run.

    python benchmarks/bench_data.py [--peer-python .venv-peers/bin/python] [--quick]

NeuroGym pins gymnasium 0.29, so it runs in its own virtualenv (``benchmarks/setup_peers.sh``
makes one); without it the peer row is marked as not measured. Prints a Markdown table and writes
``benchmarks/results/bench_data.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import pin_threads, rate, table, write_json  # noqa: E402

import ta_envs  # noqa: E402

SHAPES = [(64, 100), (256, 500), (1024, 1000)]
TASKS = ["TemporalFlipFlop-v0", "RelativeTimingFlipFlop-v0", "FlipFlop-v0"]
PEER_SHAPES = [(64, 100), (256, 500)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--peer-python", default=".venv-peers/bin/python",
                   help="interpreter with neurogym==2.3.1 installed")
    p.add_argument("--quick", action="store_true", help="shorter timing windows")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_data.json"))
    args = p.parse_args()
    pin_threads()
    min_time = 0.2 if args.quick else 1.0
    rows = []
    for task in TASKS:
        for B, T in SHAPES:
            ds = ta_envs.make_dataset(task, batch_size=B, seq_len=T, seed=0)
            r = rate(lambda ds=ds: next(ds), 1.0, min_time=min_time, repeats=3 if args.quick else 5)
            rows.append({"library": "ta-envs", "task": task, "batch x steps": f"{B}x{T}",
                         "batches/s": r["median"], "steps/s": r["median"] * B * T,
                         "best batches/s": r["best"]})
    peer_python = Path(args.peer_python)
    peer_version = None
    if peer_python.exists():
        res = subprocess.run([str(peer_python), str(Path(__file__).parent / "neurogym_peer.py"),
                              json.dumps(PEER_SHAPES), str(min_time)],
                             capture_output=True, text=True, check=True)
        peer = json.loads(res.stdout.strip().splitlines()[-1])
        peer_version = peer["version"]
        for r in peer["rows"]:
            B, T = r["batch"], r["seq_len"]
            rows.append({"library": f"neurogym {peer_version}",
                         "task": "PerceptualDecisionMaking-v0", "batch x steps": f"{B}x{T}",
                         "batches/s": r["median"], "steps/s": r["median"] * B * T,
                         "best batches/s": r["best"]})
    else:
        print(f"(peer not measured: {peer_python} not found; run benchmarks/setup_peers.sh)")
    ours = next(r for r in rows if r["task"] == TASKS[0] and r["batch x steps"] == "64x100")
    theirs = [r for r in rows if r["library"].startswith("neurogym") and
              r["batch x steps"] == "64x100"]
    summary = {}
    if theirs:
        summary["speedup_64x100"] = ours["batches/s"] / theirs[0]["batches/s"]
    print(table(rows, ["library", "task", "batch x steps", "batches/s", "steps/s"]))
    if summary:
        print(f"\nTemporalFlipFlop-v0 64x100 vs NeuroGym 64x100: {summary['speedup_64x100']:.0f}x")
    write_json(args.out, rows, target_batches_per_s_64x100=2000, peer=peer_version, **summary)


if __name__ == "__main__":
    main()
