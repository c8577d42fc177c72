"""Simulating networks of differentiating neurons: the vectorised NumPy `Stepper`, the torch
`TorchStepper` (CPU or GPU) and `simulate()`, which records each ring's cycle starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ta_envs.progress import progress as progress_reporter
from ta_envs.validation import InvalidValue, check_int

from .model import NeuronParams, RingNetwork, RingState, initial_state


@dataclass(frozen=True)
class Trajectory:
    """What `simulate()` recorded. ``event_step``/``event_ring`` (and ``event_batch``): when each
    ring's reference neuron went low (the start of a cycle); ``sample_steps [S]`` with
    ``low_count [S, B, R]`` low neurons per ring; ``snapshots``: ``{step: low [B, n]}``."""

    steps: int
    dt: float
    event_step: np.ndarray
    event_batch: np.ndarray
    event_ring: np.ndarray
    sample_steps: np.ndarray
    low_count: np.ndarray
    final: RingState


class Stepper:
    """The vectorised update with preallocated buffers, for a batch of ``batch`` copies.

    Uses ``v ← v + (1 − a)(u − v)`` and ``d = a (u − v)``, so the thresholds are compared with
    ``u − v`` scaled by ``1/a`` (the same model as `reference_step()`, in fewer passes)."""

    def __init__(self, net: RingNetwork, params: NeuronParams, batch: int,
                 dtype: Any = np.float32) -> None:
        n = net.num_neurons
        self.net, self.params = net, params
        self.out = np.zeros((batch, n + 1), dtype=dtype)  # last column: "no neuron", always 0
        self.u = np.empty((batch, n), dtype=dtype)
        self.diff = np.empty((batch, n), dtype=dtype)
        self.mask = np.empty((batch, n), dtype=bool)
        self.pred0 = net.pred[:, 0].copy()
        self.w0 = net.weight[:, 0].astype(dtype)
        self.unit0 = bool(np.all(net.weight[:, 0] == 1.0))
        self.tmp = np.empty((batch, n), dtype=dtype)
        self.extra = []  # further presynaptic slots: (neurons, presynaptic, weight or scalar)
        for k in range(1, net.pred.shape[1]):
            idx = np.nonzero(net.pred[:, k] < n)[0]
            if len(idx) == 0:
                continue
            w = net.weight[idx, k]
            wk = dtype(w[0]) if np.all(w == w[0]) else w.astype(dtype)[None, :]
            self.extra.append((None if len(idx) == n else idx, net.pred[idx, k].copy(), wk))
        a = params.decay
        self.one_minus_a = dtype(1.0 - a)
        self.high, self.low = dtype(params.high / a), dtype(params.low / a)

    def __call__(self, state: RingState, drive: np.ndarray | float = 0.0) -> None:
        """Advance ``state`` in place by one step under ``drive``."""
        n = self.net.num_neurons
        np.logical_not(state.low, out=self.out[:, :n], casting="unsafe")
        np.take(self.out, self.pred0, axis=1, out=self.u)
        if not self.unit0:
            self.u *= self.w0
        for idx, pre, w in self.extra:
            if idx is None:  # every neuron has this slot: gather into a buffer, no fancy writes
                np.take(self.out, pre, axis=1, out=self.tmp)
                self.tmp *= w
                self.u += self.tmp
            else:
                self.u[:, idx] += self.out[:, pre] * w
        if not (np.isscalar(drive) and drive == 0.0):
            self.u += drive
        np.subtract(self.u, state.v, out=self.diff)
        np.multiply(self.diff, self.one_minus_a, out=self.u)  # u is free now
        state.v += self.u
        np.greater_equal(self.diff, self.low, out=self.mask)
        self.mask &= state.low
        np.greater_equal(self.diff, self.high, out=state.low)
        state.low |= self.mask


def simulate(net: RingNetwork, steps: int, state: RingState | None = None,
             params: NeuronParams | None = None, sample_every: int = 0,
             drive: np.ndarray | None = None, progress: bool = False) -> Trajectory:
    """Run ``steps`` steps from ``state`` (default `initial_state()`, modified in place).
    ``drive [B, n]`` is a constant external input; ``sample_every > 0`` records per-ring low counts;
    ``progress`` shows a tqdm bar; ``params`` defaults to `NeuronParams` ()."""
    check_int("steps", steps, 0)
    params = NeuronParams() if params is None else params
    state = initial_state(net, params) if state is None else state
    if state.v.shape[1] != net.num_neurons:
        raise InvalidValue(f"state has {state.v.shape[1]} neurons, the network {net.num_neurons}")
    ref = net.reference
    stepper = Stepper(net, params, state.v.shape[0], state.v.dtype.type)
    ev_s, ev_b, ev_r, samples, counts = [], [], [], [], []
    prev = state.low[:, ref].copy()
    bar = progress_reporter(int(steps), "simulate", progress)
    for k in range(1, int(steps) + 1):
        bar.update(1)
        stepper(state, 0.0 if drive is None else drive)
        now = state.low[:, ref]
        b, r = np.nonzero(now & ~prev)
        if len(b):
            ev_s.append(np.full(len(b), k))
            ev_b.append(b)
            ev_r.append(r)
        prev = now.copy()
        if sample_every and k % sample_every == 0:
            samples.append(k)
            counts.append(net.ring_sum(state.low.astype(np.int32)))
    bar.close()
    cat = (lambda x: np.concatenate(x) if x else np.zeros(0, dtype=np.int64))  # noqa: E731
    R = net.num_rings
    return Trajectory(int(steps), params.dt, cat(ev_s), cat(ev_b), cat(ev_r),
                      np.array(samples, dtype=np.int64),
                      np.stack(counts) if counts else np.zeros((0, state.v.shape[0], R), int),
                      state)


class TorchStepper:
    """`Stepper` in torch (CPU or GPU; the ``torch`` extra). State lives in ``self.v`` /
    ``self.low`` (tensors ``[B, n]``); ``load``/``state`` move it from/to a `RingState`."""

    def __init__(self, net: RingNetwork, params: NeuronParams, batch: int, device: str = "cpu",
                 dtype: Any = None) -> None:
        import torch

        self.torch = torch
        dtype = dtype or torch.float32
        n = net.num_neurons
        self.n = n
        self.pred = torch.as_tensor(net.pred, device=device)
        self.weight = torch.as_tensor(net.weight, dtype=dtype, device=device)
        self.out = torch.zeros((batch, n + 1), dtype=dtype, device=device)
        self.v = torch.zeros((batch, n), dtype=dtype, device=device)
        self.low = torch.zeros((batch, n), dtype=torch.bool, device=device)
        a = params.decay
        self.one_minus_a, self.high, self.lo = 1.0 - a, params.high / a, params.low / a

    def load(self, state: RingState) -> None:
        """Copy ``state`` onto the simulator."""
        self.v.copy_(self.torch.as_tensor(state.v))
        self.low.copy_(self.torch.as_tensor(state.low))

    def state(self) -> RingState:
        """A copy of the current state."""
        return RingState(self.v.cpu().numpy().copy(), self.low.cpu().numpy().copy())

    def __call__(self, drive: Any = 0.0) -> None:
        """Advance one step under ``drive``."""
        self.out[:, : self.n] = (~self.low).to(self.out.dtype)
        u = (self.out[:, self.pred] * self.weight).sum(-1)
        if not (isinstance(drive, float) and drive == 0.0):
            u = u + drive
        diff = u - self.v
        self.v.add_(diff, alpha=self.one_minus_a)
        self.low = (diff >= self.high) | ((diff >= self.lo) & self.low)
