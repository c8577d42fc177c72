"""Networks of differentiating neurons: single rings, arbitrary ring graphs and 2-D lattices of
rings, simulated in vectorised NumPy, or in torch on a GPU with :class:`TorchStepper`
(DelMastro et al. 2025; Yeung et al. 2025).

Each neuron (time constant 1, step ``dt``) has an input ``u`` (weighted sum of its presynaptic
outputs plus an external drive), a capacitor voltage ``v ← a·v + (1 − a)·u`` with ``a = exp(−dt)``,
a derivative signal ``d = u − v`` and a binary output from an inverting Schmitt trigger,
``o ← 1 − [d ≥ high or (d ≥ low and o = 0)]`` (high = 0.49, low = 0.2). Updates are synchronous.
In a ring, neuron i receives neuron i−1's output with weight 1; a low (o = 0) neuron is a pulse
that travels around the ring. A neuron on several rings sums its distinct predecessors.

Units: time in neuron time constants; ``steps`` are simulation steps of ``dt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ta_envs.validation import check_int_fields


@dataclass(frozen=True)
class NeuronParams:
    """Constants of the differentiating neuron (all configurable)."""

    dt: float = 0.01
    high: float = 0.49  #: d at or above this sends a high neuron low
    low: float = 0.2  #: a low neuron stays low while d is at or above this
    v_init: float = 0.9  #: initial voltage of high neurons
    v_low_init: float = 0.1  #: initial voltage of the neurons set low

    def __post_init__(self) -> None:
        if not (0 < self.dt <= 1):
            raise ValueError(f"dt must be in (0, 1], got {self.dt}")
        if not (self.low < self.high):
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")

    @property
    def decay(self) -> float:
        return float(np.exp(-self.dt))


@dataclass(frozen=True, eq=False)
class RingNetwork:
    """A network of rings. ``pred [n, K]`` presynaptic neuron of each neuron (``n``: none) with
    ``weight [n, K]``; ``rings`` the member neurons of each ring in ring order; ``reference [R]``
    the neuron whose falling edge marks each ring's cycle; ``shape`` (rows, cols) for a lattice,
    whose ring ``r`` sits at ``divmod(r, cols)``."""

    pred: np.ndarray
    weight: np.ndarray
    rings: tuple[np.ndarray, ...]
    reference: np.ndarray
    shape: tuple[int, int] | None = None
    sharing: int = 0
    coupling: float = 0.0
    _flat: np.ndarray = field(init=False, repr=False)
    _offsets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_flat", np.concatenate(self.rings))
        object.__setattr__(self, "_offsets",
                           np.concatenate([[0], np.cumsum([len(r) for r in self.rings])[:-1]]))

    @property
    def num_neurons(self) -> int:
        return int(self.pred.shape[0])

    @property
    def num_rings(self) -> int:
        return len(self.rings)

    def ring_sum(self, values: np.ndarray) -> np.ndarray:
        """``[..., R]`` sum of ``values [..., n]`` over each ring's members (shared neurons count
        in every ring they are on)."""
        return np.add.reduceat(values[..., self._flat], self._offsets, axis=-1)


def from_rings(rings: Sequence[Sequence[int]], extra: Sequence[tuple[int, int, float]] = (),
               shape: tuple[int, int] | None = None, sharing: int = 0, coupling: float = 0.0,
               reference: Sequence[int] | None = None) -> RingNetwork:
    """A network from ring member lists (neuron ids ``0..n-1`` in ring order; a neuron may be on
    several rings) plus ``extra`` synapses ``(pre, post, weight)``; ``reference`` the phase
    neuron of each ring (default: its first member)."""
    if len(rings) == 0:
        raise ValueError("rings must hold at least one ring")
    n = 1 + max(max(r) for r in rings if len(r))
    inputs: list[dict[int, float]] = [{} for _ in range(n)]
    for k, ring in enumerate(rings):
        ring = [int(i) for i in ring]
        if len(ring) < 2:
            raise ValueError(f"ring {k} has {len(ring)} neurons; a ring needs at least 2")
        if len(set(ring)) != len(ring):
            raise ValueError(f"ring {k} visits a neuron twice: {ring}")
        if min(ring) < 0:
            raise ValueError(f"ring {k} has a negative neuron id")
        for j, i in enumerate(ring):
            inputs[i][ring[j - 1]] = 1.0
    for pre, post, w in extra:
        inputs[post][pre] = inputs[post].get(pre, 0.0) + float(w)
    missing = [i for i in range(n) if not inputs[i]]
    if missing:
        raise ValueError(f"neurons {missing[:5]} are on no ring (ids must be 0..n-1 without gaps)")
    K = max(len(d) for d in inputs)
    pred = np.full((n, K), n, dtype=np.int64)
    weight = np.zeros((n, K), dtype=np.float64)
    for i, d in enumerate(inputs):
        pred[i, : len(d)] = list(d)
        weight[i, : len(d)] = list(d.values())
    arrs = tuple(np.asarray(r, dtype=np.int64) for r in rings)
    ref = np.array([r[0] for r in arrs]) if reference is None else np.asarray(reference, np.int64)
    if ref.shape != (len(arrs),) or any(int(i) not in set(r.tolist()) for i, r in zip(ref, arrs)):
        raise ValueError("reference must name one member neuron per ring")
    return RingNetwork(pred, weight, arrs, ref, shape, sharing, coupling)


def single_rings(sizes: Sequence[int]) -> RingNetwork:
    """Independent rings of the given sizes (neurons numbered ring after ring)."""
    rings, start = [], 0
    for s in sizes:
        rings.append(list(range(start, start + int(s))))
        start += int(s)
    return from_rings(rings)


@dataclass(frozen=True)
class LatticeConfig:
    """A ``rows × cols`` periodic square lattice of rings of ``ring_size`` neurons. Adjacent rings
    share ``sharing`` neurons (a shared run of consecutive neurons on both rings); ``coupling``
    ε adds weak links instead: each neuron also receives ε times the output of the neuron at the
    same position on each of the four neighbouring rings."""

    rows: int = 100
    cols: int = 100
    ring_size: int = 8
    sharing: int = 1
    coupling: float = 0.0

    def __post_init__(self) -> None:
        check_int_fields(self, ("rows", "cols", "ring_size"), 2)
        check_int_fields(self, ("sharing",), 0)
        if 4 * self.sharing > self.ring_size:
            raise ValueError(f"sharing ({self.sharing}) must be at most ring_size / 4 "
                             f"({self.ring_size} neurons hold four shared runs)")
        if self.coupling < 0:
            raise ValueError(f"coupling must be >= 0, got {self.coupling}")


def lattice(cfg: LatticeConfig) -> RingNetwork:
    """Build the lattice of :class:`LatticeConfig`. Ring positions ``0..N-1``: the run shared with
    the right neighbour starts at 0, the bottom one at N/4, the left one (the right run of the
    left neighbour) at N/2, the top one (the bottom run of the top neighbour) at 3N/4; both rings
    traverse a shared run in the same direction. Each ring's phase is read from its first
    unshared neuron (position 0 when every neuron is shared)."""
    R, C, N, m = cfg.rows, cfg.cols, cfg.ring_size, cfg.sharing
    q = N // 4
    starts = {"right": 0, "bottom": q, "left": 2 * q, "top": 3 * q}
    shared_pos = {p for s in starts.values() for p in range(s, s + m)}
    private = [p for p in range(N) if p not in shared_pos]
    per_ring = len(private) + 2 * m  # private neurons plus the right and bottom runs it owns
    ids = np.empty((R, C, N), dtype=np.int64)
    for r in range(R):
        for c in range(C):
            base = (r * C + c) * per_ring
            for k, p in enumerate(private):
                ids[r, c, p] = base + k
            for k in range(m):
                ids[r, c, starts["right"] + k] = base + len(private) + k
                ids[r, c, starts["bottom"] + k] = base + len(private) + m + k
    for r in range(R):
        for c in range(C):
            for k in range(m):
                ids[r, c, starts["left"] + k] = ids[r, (c - 1) % C, starts["right"] + k]
                ids[r, c, starts["top"] + k] = ids[(r - 1) % R, c, starts["bottom"] + k]
    rings = [ids[r, c] for r in range(R) for c in range(C)]
    ref_pos = private[0] if private else 0  # a neuron of this ring only, where there is one
    reference = [int(ring[ref_pos]) for ring in rings]
    extra: list[tuple[int, int, float]] = []
    if cfg.coupling > 0:
        for r in range(R):
            for c in range(C):
                for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                    nb = ids[(r + dr) % R, (c + dc) % C]
                    extra += [(int(nb[p]), int(ids[r, c, p]), cfg.coupling) for p in range(N)]
    return from_rings(rings, extra, shape=(R, C), sharing=m, coupling=cfg.coupling,
                      reference=reference)


@dataclass
class RingState:
    """Batched state: ``v [B, n]`` voltages, ``low [B, n]`` bool (output ``o = not low``)."""

    v: np.ndarray
    low: np.ndarray


def initial_state(net: RingNetwork, params: NeuronParams = NeuronParams(), batch: int = 1,
                  pulses: int = 1, rng: np.random.Generator | None = None,
                  dtype: type = np.float32) -> RingState:
    """All neurons high at ``v_init`` (times the neuron's total input weight, so a neuron shared by
    two rings starts at rest rather than firing at once) except ``pulses`` evenly spaced neurons
    per ring, low at ``v_low_init``; the first of them is ring position 0, or a random position
    per ring and batch row when ``rng`` is given (random initial phases). Voltages in ``dtype``
    (float32 default; float64 for exact comparisons)."""
    if isinstance(pulses, bool) or not isinstance(pulses, (int, np.integer)) or pulses < 1:
        raise ValueError(f"pulses must be an int >= 1, got {pulses!r}")
    n = net.num_neurons
    in_weight = net.weight.sum(1)  # a neuron on two rings rests at twice the input
    v = np.broadcast_to(params.v_init * in_weight, (batch, n)).astype(dtype)
    low = np.zeros((batch, n), dtype=bool)
    for ring in net.rings:
        N = len(ring)
        if pulses > N // 2:
            raise ValueError(f"pulses ({pulses}) must be at most ring size / 2 ({N // 2})")
        shift = rng.integers(0, N, size=batch) if rng is not None else np.zeros(batch, dtype=int)
        for k in range(pulses):
            pos = (shift + (k * N) // pulses) % N
            low[np.arange(batch), ring[pos]] = True
    v[low] = params.v_low_init
    return RingState(v, low)


@dataclass(frozen=True)
class Trajectory:
    """What :func:`simulate` recorded. ``event_step``/``event_ring`` (and ``event_batch``): when each
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


def reference_step(net: RingNetwork, state: RingState, params: NeuronParams,
                   drive: np.ndarray | float = 0.0) -> None:
    """The model exactly as written, neuron by neuron (slow; for tests): ``u`` from the old
    outputs, ``v ← a·v + (1 − a)·u``, ``d = u − v``, Schmitt trigger."""
    B, n = state.v.shape
    a = params.decay
    drive = np.broadcast_to(np.asarray(drive, dtype=np.float64), (B, n))
    old = ~state.low.copy()
    for b in range(B):
        for i in range(n):
            u = drive[b, i] + sum(w * float(old[b, j]) for j, w in zip(net.pred[i], net.weight[i])
                                  if j < n)
            state.v[b, i] = a * state.v[b, i] + (1 - a) * u
            d = u - state.v[b, i]
            state.low[b, i] = d >= params.high or (d >= params.low and bool(state.low[b, i]))


class Stepper:
    """The vectorised update with preallocated buffers, for a batch of ``batch`` copies.

    Uses ``v ← v + (1 − a)(u − v)`` and ``d = a (u − v)``, so the thresholds are compared with
    ``u − v`` scaled by ``1/a`` (the same model as :func:`reference_step`, in fewer passes)."""

    def __init__(self, net: RingNetwork, params: NeuronParams, batch: int,
                 dtype: type = np.float32) -> None:
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
             params: NeuronParams = NeuronParams(), sample_every: int = 0,
             drive: np.ndarray | None = None, progress: bool = False) -> Trajectory:
    """Run ``steps`` steps from ``state`` (default :func:`initial_state`, modified in place).
    ``drive [B, n]`` is a constant external input; ``sample_every > 0`` records per-ring low counts;
    ``progress`` shows a tqdm bar."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    state = initial_state(net, params) if state is None else state
    if state.v.shape[1] != net.num_neurons:
        raise ValueError(f"state has {state.v.shape[1]} neurons, the network {net.num_neurons}")
    ref = net.reference
    stepper = Stepper(net, params, state.v.shape[0], state.v.dtype.type)
    ev_s, ev_b, ev_r, samples, counts = [], [], [], [], []
    prev = state.low[:, ref].copy()
    ks = range(1, int(steps) + 1)
    if progress:
        from tqdm import tqdm

        ks = tqdm(ks, desc="simulate", mininterval=1.0)
    for k in ks:
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
    cat = (lambda x: np.concatenate(x) if x else np.zeros(0, dtype=np.int64))  # noqa: E731
    R = net.num_rings
    return Trajectory(int(steps), params.dt, cat(ev_s), cat(ev_b), cat(ev_r),
                      np.array(samples, dtype=np.int64),
                      np.stack(counts) if counts else np.zeros((0, state.v.shape[0], R), int),
                      state)


class TorchStepper:
    """:class:`Stepper` in torch (CPU or GPU; the ``torch`` extra). State lives in ``self.v`` /
    ``self.low`` (tensors ``[B, n]``); ``load``/``state`` move it from/to a :class:`RingState`."""

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
        self.v.copy_(self.torch.as_tensor(state.v))
        self.low.copy_(self.torch.as_tensor(state.low))

    def state(self) -> RingState:
        return RingState(self.v.cpu().numpy().copy(), self.low.cpu().numpy().copy())

    def __call__(self, drive: Any = 0.0) -> None:
        self.out[:, : self.n] = (~self.low).to(self.out.dtype)
        u = (self.out[:, self.pred] * self.weight).sum(-1)
        if not (isinstance(drive, float) and drive == 0.0):
            u = u + drive
        diff = u - self.v
        self.v.add_(diff, alpha=self.one_minus_a)
        self.low = (diff >= self.high) | ((diff >= self.lo) & self.low)
