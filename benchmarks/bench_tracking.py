"""Tracking cost: seconds per tracked checkpoint (``analysis.tracking.track_run`` at its defaults:
fixed points from 128 states per input, orbits and tori) for a trained tanh RNN, GRU and LSTM (64
units, TemporalFlipFlop-v0, P = 24), with the cells' closed-form speed gradients and Jacobians
against the same search with autograd's (the method before the closed forms), interleaved round by
round; the points the two find are compared checkpoint by checkpoint.

The runs are trained on first use with checkpoints every 50 iterations until held-out TD >= 0.99
(cached in ``benchmarks/.cache/track_<arch>_seed<seed>``); 8 checkpoints spread evenly over each
run, from the initial network to the solved one, are tracked. One thread.

    python benchmarks/bench_tracking.py [--quick]

Prints a Markdown table and writes ``benchmarks/results/bench_tracking.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _timing import pin_threads, table, write_json  # noqa: E402

from analysis.fixed_points import FixedPoints  # noqa: E402
from analysis.tracking import TrackConfig, track_run  # noqa: E402
from baselines.config import TrainConfig  # noqa: E402
from baselines.models.classic import GRU, LSTM, ElmanRNN  # noqa: E402
from baselines.runs import checkpoints, read_metrics  # noqa: E402
from baselines.train import train  # noqa: E402

HERE = Path(__file__).resolve().parent
CASES = (("rnn", 1, ElmanRNN), ("gru", 0, GRU), ("lstm", 0, LSTM))


def trained(arch: str, seed: int) -> Path:
    """A solved run with checkpoints every 50 iterations (trained once, cached)."""
    run = HERE / ".cache" / f"track_{arch}_seed{seed}"
    if not checkpoints(run):
        print(f"training the {arch} network once (cached in {run}) ...", flush=True)
        train(TrainConfig(arch=arch, seed=seed, stop_at_td=0.99, iterations=3000,
                          checkpoint_every=50), run, progress=False)
    td = [r["val_td_acc"] for r in read_metrics(run) if r.get("val_td_acc") is not None]
    if not td or td[-1] < 0.99:
        raise SystemExit(f"{run}: the network did not reach held-out TD >= 99% "
                         f"(last {td[-1] if td else None}); delete it or pick another seed")
    return run


def subset(run: Path, k: int, dest: Path) -> Path:
    """A copy of ``run`` with ``k`` of its checkpoints, spread evenly (first and last included)."""
    ck = checkpoints(run)
    pick = sorted({int(i) for i in np.linspace(0, len(ck) - 1, k).round()})
    (dest / "checkpoints").mkdir(parents=True)
    for name in ("config.json", "metrics.jsonl"):
        shutil.copy(run / name, dest / name)
    for i in pick:
        shutil.copy(ck[i], dest / "checkpoints" / ck[i].name)
    return dest


@contextmanager
def autograd_only(cls: type) -> Iterator[None]:
    """The search as it was before the closed forms: autograd's speed gradient, torch.func
    Jacobians (the class's ``step_speed_grad`` and ``step_jacobian`` hidden)."""
    saved = {k: cls.__dict__[k] for k in ("step_speed_grad", "step_jacobian") if k in cls.__dict__}
    try:
        for k in saved:
            setattr(cls, k, None)
        yield
    finally:
        for k, v in saved.items():
            setattr(cls, k, v)


def same_points(a: Path, b: Path) -> tuple[int, int]:
    """``(points found by both, points found by either side, counted per side)``."""
    both = total = 0
    for p in sorted(a.glob("fixed_points_*.npz")):
        fa, fb = FixedPoints.load(p), FixedPoints.load(b / p.name)
        for x, y in ((fa, fb), (fb, fa)):
            for i in range(len(x)):
                m = y.input_index == x.input_index[i]
                both += bool(m.any() and np.abs(y.points[m] - x.points[i]).max(1).min() < 1e-6)
                total += 1
    return both, total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="4 checkpoints, one round")
    p.add_argument("--out", default=str(HERE / "results" / "bench_tracking.json"))
    a = p.parse_args()
    pin_threads()
    k, rounds = (4, 1) if a.quick else (8, 2)
    rows: list[dict[str, Any]] = []
    for arch, seed, cls in CASES:
        run = trained(arch, seed)
        with tempfile.TemporaryDirectory() as tmp:
            sub = subset(run, k, Path(tmp) / "run")
            n = len(checkpoints(sub))
            cpu: dict[str, list[float]] = {"closed form": [], "autograd": []}
            wall: dict[str, list[float]] = {"closed form": [], "autograd": []}
            for r in range(rounds):
                for label in cpu:
                    out = Path(tmp) / f"{label}_{r}"
                    with autograd_only(cls) if label == "autograd" else nullcontext():
                        t0, c0 = time.perf_counter(), time.process_time()
                        track_run(sub, out, TrackConfig(), progress=False)
                        wall[label].append((time.perf_counter() - t0) / n)
                        cpu[label].append((time.process_time() - c0) / n)
            both, total = same_points(Path(tmp) / "closed form_0", Path(tmp) / "autograd_0")
        closed, auto = float(np.median(cpu["closed form"])), float(np.median(cpu["autograd"]))
        rows.append({"network": f"{arch}(64), P = 24, seed {seed}", "checkpoints": n,
                     "closed form CPU s/checkpoint": closed, "autograd CPU s/checkpoint": auto,
                     "speed-up": auto / closed,
                     "closed form wall s/checkpoint": float(np.median(wall["closed form"])),
                     "points found by both": f"{both}/{total}"})
        print(rows[-1], flush=True)
    print(table(rows, ["network", "checkpoints", "closed form CPU s/checkpoint",
                       "autograd CPU s/checkpoint", "speed-up", "points found by both"]))
    write_json(a.out, rows, rounds=rounds, track_config=TrackConfig().__dict__,
               note="CPU seconds per tracked checkpoint on one thread (median over rounds); "
                    "'points found by both' counts each side's points found by the other side "
                    "within 1e-6")


if __name__ == "__main__":
    main()
