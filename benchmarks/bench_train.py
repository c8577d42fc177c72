"""Training throughput of the 64-unit Elman RNN at batch 64 x 96 steps, side by side in one run:
``baselines.models.ElmanRNN`` (fused ``torch.nn.RNN`` inside), bare ``torch.nn.RNN`` + linear head,
and a Python-loop Elman cell; then wall time to reach held-out TD >= 99% on TemporalFlipFlop-v0
(P = 24) with the reference recipe, over a few seeds.

    python benchmarks/bench_train.py [--seeds 3] [--quick]

One thread (``torch.set_num_threads(1)``). Prints Markdown tables, writes
``benchmarks/results/bench_train.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from _timing import pin_threads, rate, table, write_json  # noqa: E402
from torch import nn  # noqa: E402

import ta_envs  # noqa: E402
from baselines.models import ElmanRNN  # noqa: E402
from baselines.phases import phases_from_metrics  # noqa: E402
from baselines.train import TrainConfig, read_metrics, train  # noqa: E402


class LoopElman(nn.Module):
    """The same network as a Python loop over time steps."""

    def __init__(self, i: int, h: int, o: int) -> None:
        super().__init__()
        self.inp, self.rec, self.head = nn.Linear(i, h), nn.Linear(h, h), nn.Linear(h, o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ux, h, hs = self.inp(x), x.new_zeros(x.shape[0], self.rec.in_features), []
        for t in range(x.shape[1]):
            h = torch.tanh(ux[:, t] + self.rec(h))
            hs.append(h)
        return self.head(torch.stack(hs, 1))


class BareRNN(nn.Module):
    def __init__(self, i: int, h: int, o: int) -> None:
        super().__init__()
        self.rnn, self.head = nn.RNN(i, h, batch_first=True), nn.Linear(h, o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x)[0])


def iteration_rate(model: nn.Module, forward, min_time: float, repeats: int) -> dict[str, float]:
    ds = ta_envs.make_dataset("TemporalFlipFlop-v0", 64, 96, seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def one() -> None:
        b = next(ds)
        logits = forward(torch.from_numpy(b.inputs))
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits[..., 0], torch.from_numpy(b.targets).float())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return rate(one, 1.0, min_time=min_time, repeats=repeats)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_train.json"))
    args = p.parse_args()
    pin_threads()
    mt, rep = (0.5, 3) if args.quick else (2.0, 5)
    rows = []
    ours = ElmanRNN(2, 64, 1)
    for name, model, fwd in (("baselines ElmanRNN (nn.RNN inside)", ours, lambda x: ours(x)[0]),
                             ("torch.nn.RNN + Linear", m := BareRNN(2, 64, 1), m),
                             ("Python-loop Elman cell", m2 := LoopElman(2, 64, 1), m2)):
        r = iteration_rate(model, fwd, mt, rep)
        rows.append({"model": name, "iterations/s": r["median"],
                     "ms/iteration": 1000 / r["median"]})
    print(table(rows, ["model", "iterations/s", "ms/iteration"]))
    solve = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            cfg = TrainConfig(iterations=3000, seed=seed, stop_at_td=0.99)
            t0 = time.perf_counter()
            train(cfg, Path(tmp) / f"s{seed}", progress=False)
            wall = time.perf_counter() - t0
            ph = phases_from_metrics(read_metrics(Path(tmp) / f"s{seed}"))
            solve.append({"seed": seed, "solved": ph.solved, "iterations": ph.solved_at,
                          "wall_s": wall if ph.solved else None})
    print()
    print(table(solve, ["seed", "solved", "iterations", "wall_s"]))
    write_json(args.out, rows, time_to_td99=solve,
               note="wall_s includes evaluation on 256 held-out sequences every 10 iterations")


if __name__ == "__main__":
    main()
