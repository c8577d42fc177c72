"""Fixed-point finding: ``analysis.find_fixed_points`` against the textbook method in the same run,
with the scaling of its cost in hidden size and in initial states.

Golub's FixedPointFinder (the named peer) is not on PyPI and cannot be fetched on this machine, so
the peer here is the method it implements, written below: Adam-only minimisation of
q = ½‖F(h) − h‖² in float32 from the same initial states, up to 5000 iterations (stopping early once
every q < tol_q), accepting points with q < tol_q = 1e-12 and de-duplicating at 1e-3 (its defaults).
Every point either side reports is checked independently: a float64 Newton iteration written here
must converge (‖F(h) − h‖ < 1e-10) without moving more than 1e-3; otherwise the claim is false.

Cases: a 64-unit tanh RNN and a 64-unit GRU trained on TemporalFlipFlop-v0 (P = 24) until held-out
TD >= 99.5% (trained on first use, cached in ``benchmarks/.cache``; ``--rnn-run``/``--gru-run``
take other run directories), 1024 initial states from the network's own trajectories (+ noise
0.01), both constant inputs; a random tanh network of 64 units with gain 1.5 (chaotic: three true
fixed points, 0 and ±h*) from 1024 uniform states; hidden 256 with 4096 states (a random
orthogonal tanh RNN, gain 1.2; wall time and peak memory measured in a fresh process). The scaling
rows use random orthogonal RNNs (gain 1.2). One thread.

    python benchmarks/bench_fixed_points.py [--quick]

Prints Markdown tables and writes ``benchmarks/results/bench_fixed_points.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _timing import exponent, pin_threads, table, write_json  # noqa: E402

from analysis.fixed_points import find_fixed_points, sample_states  # noqa: E402
from baselines.config import TrainConfig  # noqa: E402
from baselines.models import build_model  # noqa: E402
from baselines.runs import checkpoints, load_model, read_metrics  # noqa: E402
from baselines.train import train  # noqa: E402
from ta_envs import make_dataset  # noqa: E402

HERE = Path(__file__).resolve().parent


def plain_adam(model: torch.nn.Module, inputs: np.ndarray, h0: torch.Tensor, *, lr: float = 1e-2,
               max_iters: int = 5000, tol_q: float = 1e-12, tol_unique: float = 1e-3
               ) -> list[tuple[int, np.ndarray]]:
    """The textbook finder: Adam on q in float32; returns the (input, point) pairs it reports."""
    m = model.float()
    for p in m.parameters():
        p.requires_grad_(False)
    found: list[tuple[int, np.ndarray]] = []
    for ui, u in enumerate(torch.as_tensor(inputs, dtype=torch.float32)):
        h = h0.float().clone().requires_grad_(True)
        opt = torch.optim.Adam([h], lr=lr)
        ux = u.expand(len(h), -1)
        for _ in range(max_iters):
            q = 0.5 * ((m.step(h, ux) - h) ** 2).sum(1)
            if bool((q < tol_q).all()):
                break
            opt.zero_grad()
            q.sum().backward()
            opt.step()
        with torch.no_grad():
            q = 0.5 * ((m.step(h, ux) - h) ** 2).sum(1)
        reps: list[np.ndarray] = []
        for p in h.detach()[q < tol_q].double().numpy():
            if all(np.abs(p - r).max() >= tol_unique for r in reps):
                reps.append(p)
        found += [(ui, p) for p in reps]
    return found


def newton(step: Any, u: torch.Tensor, h: torch.Tensor, iters: int = 50) -> torch.Tensor:
    """Float64 Newton iteration on F(h) − h = 0 from ``h [S]`` (the independent check)."""
    for _ in range(iters):
        with torch.no_grad():
            r = step(h[None], u[None])[0] - h
        if float(r.norm()) < 1e-13:
            break
        jac = torch.autograd.functional.jacobian(lambda x: step(x[None], u[None])[0], h)
        h = h - torch.linalg.lstsq(jac - torch.eye(len(h), dtype=h.dtype), r[:, None]
                                   ).solution[:, 0]
    return h


def check_claims(model: torch.nn.Module, inputs: np.ndarray, claims: list[tuple[int, np.ndarray]]
                 ) -> tuple[list[tuple[int, np.ndarray]], list[float]]:
    """Newton-check each claim in float64; return the true fixed points behind them (distinct)
    and the claims' own float64 residuals."""
    m = model.double()
    for prm in m.parameters():
        prm.requires_grad_(False)
    true, resid = [], []
    for ui, p in claims:
        u = torch.as_tensor(inputs[ui], dtype=torch.float64)
        h = torch.as_tensor(p, dtype=torch.float64)
        with torch.no_grad():
            resid.append(float((m.step(h[None], u[None])[0] - h).norm()))
        pol = newton(m.step, u, h)
        with torch.no_grad():
            r = float((m.step(pol[None], u[None])[0] - pol).norm())
        if r < 1e-10 and float((pol - h).abs().max()) < 1e-3:
            if all(not (uj == ui and np.abs(q - pol.numpy()).max() < 1e-6) for uj, q in true):
                true.append((ui, pol.numpy()))
    return true, resid


class RandomTanh(torch.nn.Module):
    """h -> tanh(W h), W ~ N(0, g²/N): chaotic for g = 1.5 (few true fixed points, many slow ones)."""

    def __init__(self, n: int = 64, gain: float = 1.5, seed: int = 1) -> None:
        super().__init__()
        w = np.random.default_rng(seed).normal(scale=gain / np.sqrt(n), size=(n, n))
        self.w = torch.nn.Parameter(torch.as_tensor(w))

        self.state_size = n

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """h -> tanh(W h) (the input is ignored)."""
        return torch.tanh(h @ self.w.T)

    def readout(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The first unit (the recurrent interface needs a readout)."""
        return h[..., :1]

    def initial_state(self, batch: int) -> torch.Tensor:
        """Zeros."""
        return self.w.new_zeros(batch, self.state_size)


def trained_run(arch: str, seed: int, given: str | None) -> Path:
    if given:
        return Path(given)
    run = HERE / ".cache" / f"{arch}_p24_seed{seed}"
    if not checkpoints(run):
        print(f"training the {arch} network once (cached in {run}) ...", flush=True)
        train(TrainConfig(arch=arch, seed=seed, stop_at_td=0.995, iterations=3000), run,
              progress=False)
    td = [r["val_td_acc"] for r in read_metrics(run) if r.get("val_td_acc") is not None]
    if not td or td[-1] < 0.995:
        raise SystemExit(f"{run}: the network did not reach held-out TD >= 99.5% "
                         f"(last {td[-1] if td else None}); pass another run or seed")
    return run


def random_rnn(hidden: int, seed: int = 0) -> torch.nn.Module:
    """A random tanh RNN of ``hidden`` units, orthogonal recurrent weights with gain 1.2."""
    return build_model("rnn", 2, hidden, 2, generator=torch.Generator().manual_seed(seed),
                       init="orthogonal", gain=1.2)


def random_states(model: torch.nn.Module, n: int) -> torch.Tensor:
    """``n`` states from the network's own trajectories under random inputs (+ noise 0.01)."""
    x = torch.rand(64, 64, 2, generator=torch.Generator().manual_seed(1))
    return sample_states(model, x.numpy(), n, noise=0.01,
                         generator=torch.Generator().manual_seed(0))


def timed_in_fresh_process(hidden: int, states: int) -> dict[str, float]:
    """Wall time and peak resident memory of one search, in a process of its own."""
    out = subprocess.run([sys.executable, __file__, "--one", f"{hidden},{states}"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def one(hidden: int, states: int) -> None:
    """The body of :func:`timed_in_fresh_process`: prints one JSON line."""
    pin_threads()
    m = random_rnn(hidden)
    h0 = random_states(m, states)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    fp = find_fixed_points(m, np.eye(2), h0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak / 1024,
                      "rss_before_mb": before / 1024, "points": len(fp)}))


def _among(ui: int, p: np.ndarray, points: list[tuple[int, np.ndarray]]) -> bool:
    return any(uj == ui and np.abs(p - q).max() < 1e-6 for uj, q in points)


def _distinct(points: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    out: list[tuple[int, np.ndarray]] = []
    for ui, p in points:
        if not _among(ui, p, out):
            out.append((ui, p))
    return out


def _ours_row(name: str, label: str, fp: Any, wall: float, fresh: Any, inp: np.ndarray
              ) -> dict[str, Any]:
    """One row for a run of ours, its claims checked independently."""
    claims = [(int(u), p) for u, p in zip(fp.input_index, fp.points)]
    true, _ = check_claims(fresh(), inp, claims)
    return {"network": name, "method": label, "wall_s": wall, "reported": len(fp),
            "true_fixed_points": len(true), "false_reports": len(fp) - len(true),
            "max_residual": float(fp.residual.max()) if len(fp) else None,
            "slow_points_rejected": len(fp.slow_points), "_true": true}


def compare(a: argparse.Namespace) -> list[dict[str, Any]]:
    """Ours against plain Adam on the trained RNN, the trained GRU and the chaotic network."""
    rows = []
    cases = [("rnn", 1, a.rnn_run), ("gru", 0, a.gru_run), ("chaotic", 1, None)]
    for arch, seed, given in cases:
        if arch == "chaotic":
            def fresh(seed: int = seed) -> torch.nn.Module:
                return RandomTanh(64, 1.5, seed)
            h0 = torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, (a.states, 64)))
            inp = np.zeros((1, 1))
            name = "random tanh(64), gain 1.5 (chaotic)"
        else:
            ckpt = checkpoints(trained_run(arch, seed, given))[-1]
            def fresh(ckpt: Path = ckpt) -> torch.nn.Module:
                return load_model(ckpt)[0]
            model, task, cfg = load_model(ckpt)
            batch = next(make_dataset(cfg.task, batch_size=64, seq_len=cfg.seq_len, seed=123,
                                      **cfg.task_kwargs))
            h0 = sample_states(model, batch.inputs, a.states, noise=0.01,
                               generator=torch.Generator().manual_seed(0))
            inp = np.eye(2)
            name = f"{arch}({cfg.hidden}) P=24 seed {seed}"
        variants = [("ta-envs find_fixed_points", {})]
        if arch == "chaotic":  # a hard landscape: the control tries Newton from every candidate
            variants.append(("ta-envs find_fixed_points(far_candidates=1024)",
                             {"far_candidates": 1024}))
        for label, kw in variants:
            t0, c0 = time.perf_counter(), time.process_time()
            fp = find_fixed_points(fresh(), inp, h0, **kw)
            t_ours = time.perf_counter() - t0
            rows.append({**_ours_row(name, label, fp, t_ours, fresh, inp),
                         "cpu_s": time.process_time() - c0})
        t0, c0 = time.perf_counter(), time.process_time()
        claims = plain_adam(fresh(), inp, h0)
        t_plain, c_plain = time.perf_counter() - t0, time.process_time() - c0
        true_plain, resid_plain = check_claims(fresh(), inp, claims)
        ours_true = []
        for r in rows[-len(variants):]:
            mine = r.pop("_true")
            ours_true += mine
            r["true_points_missed_vs_other"] = sum(
                not _among(ui, p, mine) for ui, p in true_plain)
        plain_missed = sum(not _among(ui, p, true_plain) for ui, p in _distinct(ours_true))
        rows.append({"network": name, "method": "plain Adam (float32, 5000 it)", "wall_s": t_plain,
                     "cpu_s": c_plain,
                     "reported": len(claims), "true_fixed_points": len(true_plain),
                     "false_reports": len(claims) - len(true_plain),
                     "max_residual": max(resid_plain) if resid_plain else None,
                     "slow_points_rejected": None,
                     "true_points_missed_vs_other": plain_missed})
        print(fp.summary(), flush=True)
    return rows


def _scaling(quick: bool) -> list[dict[str, Any]]:
    """Wall time against the hidden size (1024 states) and the number of states (hidden 64),
    each in a fresh process; plus the goal case (hidden 256 x 4096 states) unless ``quick``."""
    scaling = [{"scaling": "hidden", "hidden": h, "states": 1024,
                **timed_in_fresh_process(h, 1024)} for h in (32, 64, 128, 256)]
    sizes = [256] if quick else [256, 4096]
    scaling += [{"scaling": "states", "hidden": 64, "states": n, **timed_in_fresh_process(64, n)}
                for n in sizes]
    if not quick:
        scaling.append({"scaling": "goal", "hidden": 256, "states": 4096,
                        **timed_in_fresh_process(256, 4096)})
    return scaling


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rnn-run")
    ap.add_argument("--gru-run")
    ap.add_argument("--states", type=int, default=1024)
    ap.add_argument("--quick", action="store_true", help="skip the hidden-256 x 4096 case")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(HERE / "results" / "bench_fixed_points.json"))
    a = ap.parse_args()
    if a.one:
        one(*map(int, a.one.split(",")))
        return
    pin_threads()
    rows = compare(a)
    cols = ["network", "method", "wall_s", "cpu_s", "reported", "true_fixed_points", "false_reports",
            "max_residual", "true_points_missed_vs_other"]
    print(table([{**r, "max_residual": "-" if r["max_residual"] is None
                  else f"{r['max_residual']:.1e}"} for r in rows], cols))
    scaling = _scaling(a.quick)
    print()
    print(table(scaling, ["scaling", "hidden", "states", "wall_s", "cpu_s", "peak_rss_mb",
                          "points"]))
    hid = [r for r in scaling if r["states"] == 1024]
    st = [r for r in scaling if r["hidden"] == 64]
    e_h = exponent([r["hidden"] for r in hid], [r["wall_s"] for r in hid])
    e_n = exponent([r["states"] for r in st], [r["wall_s"] for r in st])
    print(f"\nwall time ~ hidden^{e_h:.2f} (1024 states), ~ states^{e_n:.2f} (hidden 64)")
    write_json(a.out, rows + scaling, states=a.states, inputs="constant a, constant b", threads=1,
               scaling_exponent_hidden=e_h, scaling_exponent_states=e_n,
               peer_note="FixedPointFinder is not installable here (not on PyPI, no network); "
                         "the peer is the plain-Adam method it implements")


if __name__ == "__main__":
    main()
