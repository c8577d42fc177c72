"""Ring-oscillator simulation throughput: neuron updates per second on 100x100 lattices of rings.

Compared in the same run: ``baselines.rings.Stepper`` (preallocated buffers, thresholds folded into
one subtraction) against a plain vectorised NumPy step written here (the model line by line:
fresh arrays each step, a weighted sum over all predecessor slots), and, for scale, the
neuron-by-neuron reference stepper on a small lattice. One thread, float32. Target: >= 1e8
neuron updates/s for a 100x100 lattice on 2 cores. With ``--device cuda`` it adds
``TorchStepper`` rows on the GPU (one lattice, and a batch of 64 independent lattices).

    python benchmarks/bench_rings.py [--steps 1000] [--device cuda]

Prints a Markdown table and writes ``benchmarks/results/bench_rings.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402
from _timing import table, write_json  # noqa: E402

from baselines.rings import (  # noqa: E402
    LatticeConfig,
    NeuronParams,
    RingNetwork,
    RingState,
    Stepper,
    initial_state,
    lattice,
    reference_step,
)

HERE = Path(__file__).resolve().parent


def plain_step(net: RingNetwork, state: RingState, params: NeuronParams) -> None:
    """The model as written, vectorised the obvious way."""
    out = np.concatenate([(~state.low).astype(state.v.dtype),
                          np.zeros((state.v.shape[0], 1), state.v.dtype)], axis=1)
    u = (out[:, net.pred] * net.weight).sum(-1)
    a = params.decay
    state.v = (a * state.v + (1 - a) * u).astype(state.v.dtype)
    d = u - state.v
    state.low = (d >= params.high) | ((d >= params.low) & state.low)


def measure(net: RingNetwork, steps: int, how: str) -> float:
    params = NeuronParams()
    state = initial_state(net, params, rng=np.random.default_rng(0))
    stepper = Stepper(net, params, 1)
    fn = {"Stepper": lambda: stepper(state), "plain NumPy": lambda: plain_step(net, state, params),
          "reference (per neuron)": lambda: reference_step(net, state, params)}[how]
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return net.num_neurons * steps / (time.perf_counter() - t0)


def measure_torch(net: RingNetwork, steps: int, device: str, batch: int) -> float:
    import torch

    from baselines.rings import TorchStepper

    params = NeuronParams()
    ts = TorchStepper(net, params, batch, device=device)
    ts.load(initial_state(net, params, batch=batch, rng=np.random.default_rng(0)))
    for _ in range(10):
        ts()
    torch.cuda.synchronize() if device.startswith("cuda") else None
    t0 = time.perf_counter()
    for _ in range(steps):
        ts()
    torch.cuda.synchronize() if device.startswith("cuda") else None
    return batch * net.num_neurons * steps / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--device", default=None, help="also time TorchStepper on this device")
    p.add_argument("--out", default=str(HERE / "results" / "bench_rings.json"))
    args = p.parse_args()
    rows = []
    for cfg in (LatticeConfig(100, 100, 8, 0), LatticeConfig(100, 100, 8, 1),
                LatticeConfig(100, 100, 8, 2), LatticeConfig(100, 100, 8, 0, 0.1)):
        net = lattice(cfg)
        for how in ("Stepper", "plain NumPy"):
            r = measure(net, args.steps, how)
            rows.append({"lattice": f"100x100, N=8, m={cfg.sharing}, eps={cfg.coupling:g}",
                         "neurons": net.num_neurons, "implementation": how,
                         "updates_per_s": r})
        if args.device:
            for batch in (1, 64):
                rows.append({"lattice": f"100x100, N=8, m={cfg.sharing}, eps={cfg.coupling:g}",
                             "neurons": net.num_neurons * batch,
                             "implementation": f"TorchStepper {args.device} x{batch}",
                             "updates_per_s": measure_torch(net, args.steps, args.device, batch)})
    small = lattice(LatticeConfig(4, 4, 8, 1))
    rows.append({"lattice": "4x4, N=8, m=1", "neurons": small.num_neurons,
                 "implementation": "reference (per neuron)",
                 "updates_per_s": measure(small, 20, "reference (per neuron)")})
    print(table(rows, ["lattice", "neurons", "implementation", "updates_per_s"]))
    device = None
    if args.device and args.device.startswith("cuda"):
        import torch

        device = torch.cuda.get_device_name(0)
    write_json(args.out, rows, steps=args.steps, dtype="float32", threads=1, gpu=device)


if __name__ == "__main__":
    main()
