"""Supervised batches of ``TemporalFlipFlop-v0``: ``make_dataset`` against a hand-written
vectorised NumPy generator of the same seven arrays (the practical NumPy limit, written below), the
opt-in ``sample_into`` path, and NeuroGym 2.3.1's ``Dataset`` (its own virtualenv), in one run.

    python benchmarks/bench_data.py [--peer-python .venv-peers/bin/python] [--quick]

Timing is interleaved (ours, the reference, ours, ...; NeuroGym answers from a small server in
its own virtualenv, in turn with ours) and each ratio is the median of the per-round ratios, so load
on the machine hits both sides alike. Prints Markdown tables (ratios and the scaling of cost with
batch size, with the fitted exponent) and writes ``benchmarks/results/bench_data.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _timing import Remote, exponent, interleaved, pin_threads, round_ratio, table, write_json  # noqa: E402,E501

import ta_envs  # noqa: E402

SHAPES = [(16, 100), (64, 100), (256, 100), (1024, 100), (8192, 100), (1024, 1000)]
PEER_SHAPES = [(16, 100), (64, 100), (256, 500), (1024, 1000)]


def hand_written(period: int, batch: int, seq_len: int, seed: int) -> Callable[[], tuple]:
    """The seven arrays of TemporalFlipFlop-v0 (``on_steps = P/2``, ``p_a = 0.5``) written
    directly: one uniform per step, ``a`` where it is below 0.5; the target is Θ(t) on ``a`` and
    0 on ``b``; the TD mask is ``a``; Θ and the clock depend on t only."""
    rng = np.random.default_rng(seed)
    x = np.arange(seq_len) % period
    on = x >= period - period // 2
    th = on.astype(np.int64)

    def batch_fn() -> tuple:
        a = rng.random((batch, seq_len)) < 0.5
        inputs = np.empty((batch, seq_len, 2), np.float32)
        inputs[..., 0] = a
        inputs[..., 1] = ~a
        targets = (a & on).astype(np.int64)
        theta = np.broadcast_to(th, (batch, seq_len)).copy()
        clocks = np.broadcast_to(x[:, None], (batch, seq_len, 1)).copy()
        return inputs, targets, a, ~a, theta, clocks, (~a).astype(np.int64)

    return batch_fn


class NeuroGymPeer:
    """NeuroGym's ``Dataset`` served from its own virtualenv (``neurogym_peer.py``)."""

    def __init__(self, python: Path) -> None:
        self.proc = subprocess.Popen([str(python), str(Path(__file__).parent / "neurogym_peer.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.version = "?"

    def timer(self, batch: int, seq_len: int) -> Remote:
        """A :class:`Remote` drawing ``batch x seq_len`` batches there."""
        def run(min_time: float) -> float:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps({"batch": batch, "seq_len": seq_len,
                                              "min_time": min_time}) + "\n")
            self.proc.stdin.flush()
            r = json.loads(self.proc.stdout.readline())
            self.version = r["version"]
            return r["seconds_per_call"]
        return Remote(run)

    def close(self) -> None:
        """Stop the server."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--peer-python", default=".venv-peers/bin/python",
                   help="interpreter with neurogym==2.3.1 installed")
    p.add_argument("--quick", action="store_true", help="shorter timing windows")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_data.json"))
    args = p.parse_args()
    pin_threads()
    min_time, rounds = (0.1, 3) if args.quick else (0.3, 7)
    rows = []
    for B, T in SHAPES:
        ds = ta_envs.make_dataset("TemporalFlipFlop-v0", batch_size=B, seq_len=T, seed=0)
        into = ta_envs.make_dataset("TemporalFlipFlop-v0", batch_size=B, seq_len=T, seed=0)
        buf = into.empty_batch()
        t = interleaved({"ours": lambda ds=ds: next(ds), "hand": hand_written(24, B, T, 0),
                         "into": lambda into=into, buf=buf: into.sample_into(buf)},
                        rounds, min_time)
        ratio = round_ratio(t["hand"], t["ours"])
        gain = round_ratio(t["ours"], t["into"])
        rows.append({"batch x steps": f"{B}x{T}", "B": B, "T": T,
                     "ta-envs batches/s": 1 / statistics.median(t["ours"]),
                     "hand-written batches/s": 1 / statistics.median(t["hand"]),
                     "ratio (ta-envs / hand-written)": ratio,
                     "sample_into batches/s": 1 / statistics.median(t["into"]),
                     "sample_into gain": gain,
                     "ta-envs Msteps/s": B * T / statistics.median(t["ours"]) / 1e6})
    peer_python = Path(args.peer_python)
    peer_version = None
    if peer_python.exists():
        peer = NeuroGymPeer(peer_python)
        try:
            for B, T in PEER_SHAPES:
                ds = ta_envs.make_dataset("TemporalFlipFlop-v0", batch_size=B, seq_len=T, seed=0)
                into = ta_envs.make_dataset("TemporalFlipFlop-v0", batch_size=B, seq_len=T, seed=0)
                buf = into.empty_batch()
                # the hand-written generator against NeuroGym is the NumPy ceiling of the ratio
                t = interleaved({"ours": lambda ds=ds: next(ds), "peer": peer.timer(B, T),
                                 "hand": hand_written(24, B, T, 0),
                                 "into": lambda into=into, buf=buf: into.sample_into(buf)},
                                rounds, max(min_time, 0.5))
                peer_version = peer.version
                rows.append({"batch x steps": f"{B}x{T}", "B": B, "T": T,
                             "ta-envs batches/s": 1 / statistics.median(t["ours"]),
                             f"neurogym {peer_version} batches/s": 1 / statistics.median(t["peer"]),
                             "ratio (ta-envs / neurogym)": round_ratio(t["peer"], t["ours"]),
                             "hand-written / neurogym": round_ratio(t["peer"], t["hand"]),
                             "sample_into / neurogym": round_ratio(t["peer"], t["into"])})
        finally:
            peer.close()
    else:
        print(f"(NeuroGym not measured: {peer_python} not found; run benchmarks/setup_peers.sh)")
    main_rows = [r for r in rows if "ratio (ta-envs / hand-written)" in r]
    print(table(main_rows, ["batch x steps", "ta-envs batches/s", "hand-written batches/s",
                            "ratio (ta-envs / hand-written)", "sample_into gain",
                            "ta-envs Msteps/s"]))
    peer_rows = [r for r in rows if "ratio (ta-envs / neurogym)" in r]
    if peer_rows:
        print()
        print(table(peer_rows, ["batch x steps", "ta-envs batches/s",
                                f"neurogym {peer_version} batches/s", "ratio (ta-envs / neurogym)",
                                "hand-written / neurogym", "sample_into / neurogym"]))
    t100 = [(r["B"], 1 / r["ta-envs batches/s"]) for r in main_rows if r["T"] == 100]
    b, c = zip(*t100)
    expo = exponent(b, c)
    print(f"\ncost per batch ~ B^{expo:.2f} at T = 100 (B = {min(b)}..{max(b)})")
    write_json(args.out, rows, peer=peer_version, scaling_exponent_batch=expo,
               goal="ratio >= 0.8 against the hand-written generator at every size; >= 200x "
                    "NeuroGym at every size")


if __name__ == "__main__":
    main()
