"""Fixed-point finding on trained networks: ``analysis.find_fixed_points`` against the textbook
method, in the same run.

The textbook method (written here): Adam-only minimisation of q = ½‖F(h) − h‖² in float32 from
the same initial states, up to 5000 iterations (stopping early once every q < tol_q), accepting
points with q < tol_q = 1e-12 and de-duplicating at 1e-3 (the usual defaults). Each point it
reports is then checked independently: a float64 Newton polish from it must converge
(‖F(h) − h‖ < 1e-10) without moving more than 1e-3; otherwise the claim is false.

Networks: 64-unit tanh RNN and GRU trained on TemporalFlipFlop-v0 (P = 24) with the reference
recipe until held-out TD >= 99.5% (trained here on first use, cached in ``benchmarks/.cache``; pass
``--rnn-run``/``--gru-run`` to use other run directories). 1024 initial states from the network's
own trajectories (+ noise 0.01), both constant inputs (a, b). One thread.

    python benchmarks/bench_fixed_points.py

Prints a Markdown table and writes ``benchmarks/results/bench_fixed_points.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from _timing import pin_threads, table, write_json  # noqa: E402

from analysis.fixed_points import _levenberg_marquardt, find_fixed_points, sample_states  # noqa: E402
from baselines.train import TrainConfig, checkpoints, load_model, train  # noqa: E402
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


def check_claims(model: torch.nn.Module, inputs: np.ndarray, claims: list[tuple[int, np.ndarray]]
                 ) -> tuple[list[tuple[int, np.ndarray]], list[float]]:
    """Polish each claim in float64; return the true fixed points behind them and the claims'
    own float64 residuals."""
    m = model.double()
    for prm in m.parameters():
        prm.requires_grad_(False)
    true, resid = [], []
    for ui, p in claims:
        u = torch.as_tensor(inputs[ui], dtype=torch.float64)
        h = torch.as_tensor(p)[None]
        with torch.no_grad():
            resid.append(float((m.step(h, u[None]) - h).norm()))
        pol = _levenberg_marquardt(m.step, u, h, 50)
        with torch.no_grad():
            r = float((m.step(pol, u[None]) - pol).norm())
        if r < 1e-10 and float((pol - h).abs().max()) < 1e-3:
            if all(not (uj == ui and np.abs(q - pol[0].numpy()).max() < 1e-6) for uj, q in true):
                true.append((ui, pol[0].numpy()))
    return true, resid


class RandomTanh(torch.nn.Module):
    """h -> tanh(W h), W ~ N(0, g²/N): chaotic for g = 1.5 (few true fixed points, many slow ones)."""

    def __init__(self, n: int = 64, gain: float = 1.5, seed: int = 1) -> None:
        super().__init__()
        w = np.random.default_rng(seed).normal(scale=gain / np.sqrt(n), size=(n, n))
        self.w = torch.nn.Parameter(torch.as_tensor(w))

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h @ self.w.T)


def trained_run(arch: str, seed: int, given: str | None) -> Path:
    if given:
        return Path(given)
    run = HERE / ".cache" / f"{arch}_p24_seed{seed}"
    if not checkpoints(run):
        print(f"training the {arch} network once (cached in {run}) ...", flush=True)
        train(TrainConfig(arch=arch, seed=seed, stop_at_td=0.995, iterations=3000), run,
              progress=False)
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rnn-run")
    ap.add_argument("--gru-run")
    ap.add_argument("--states", type=int, default=1024)
    ap.add_argument("--out", default=str(HERE / "results" / "bench_fixed_points.json"))
    a = ap.parse_args()
    pin_threads()
    inputs = np.eye(2)
    rows = []
    cases = [("rnn", 2, a.rnn_run), ("gru", 0, a.gru_run), ("chaotic", 1, None)]
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
            inp = inputs
            name = f"{arch}(64) P=24 seed {seed}"
        t0 = time.perf_counter()
        fp = find_fixed_points(fresh(), inp, h0)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        claims = plain_adam(fresh(), inp, h0)
        t_plain = time.perf_counter() - t0
        true_plain, resid_plain = check_claims(fresh(), inp, claims)
        missed = [p for ui, p in true_plain
                  if not any(np.abs(p - q).max() < 1e-6 for q in fp.for_input(ui).points)]
        rows.append({"network": name, "method": "ta-envs find_fixed_points", "wall_s": t_ours,
                     "reported": len(fp), "true_fixed_points": len(fp), "false_reports": 0,
                     "max_residual": float(fp.residual.max()) if len(fp) else None,
                     "slow_points_rejected": len(fp.slow_points),
                     "true_points_missed_vs_other": len(missed)})
        rows.append({"network": name, "method": "plain Adam (float32, 5000 it)", "wall_s": t_plain,
                     "reported": len(claims), "true_fixed_points": len(true_plain),
                     "false_reports": len(claims) - len(true_plain),
                     "max_residual": max(resid_plain) if resid_plain else None,
                     "slow_points_rejected": None,
                     "true_points_missed_vs_other": None})
        print(fp.summary(), flush=True)
    cols = ["network", "method", "wall_s", "reported", "true_fixed_points", "false_reports",
            "max_residual", "true_points_missed_vs_other"]
    for r in rows:
        if r["max_residual"] is not None:
            r["max_residual_str"] = f"{r['max_residual']:.1e}"
    print(table([{**r, "max_residual": r.get("max_residual_str", "-")} for r in rows], cols))
    write_json(a.out, rows, states=a.states, inputs="constant a, constant b", threads=1)


if __name__ == "__main__":
    main()
