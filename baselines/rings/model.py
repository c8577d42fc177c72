"""Networks of differentiating neurons: single rings, arbitrary ring graphs and 2-D lattices of
rings (DelMastro et al. 2025; Yeung et al. 2025).

Each neuron (time constant 1, step ``dt``) has an input ``u`` (weighted sum of its presynaptic
outputs plus an external drive), a capacitor voltage ``v ← a·v + (1 − a)·u`` with ``a = exp(−dt)``,
a derivative signal ``d = u − v`` and a binary output from an inverting Schmitt trigger,
``o ← 1 − [d ≥ high or (d ≥ low and o = 0)]`` (high = 0.49, low = 0.2). Updates are synchronous.
In a ring, neuron i receives neuron i−1's output with weight 1; a low (o = 0) neuron is a pulse
that travels around the ring. A neuron on several rings sums its distinct predecessors.

Units: time in neuron time constants; ``steps`` are simulation steps of ``dt``.

This module holds the model itself: neuron constants, networks of rings (single rings, ring
graphs, lattices), the batched state, its initial value and the neuron-by-neuron reference update.
The simulators are in [`baselines.rings.spiking`][baselines.rings.spiking].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
        """Per-step membrane decay factor exp(-dt/tau)."""
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
        """Total neurons over all rings."""
        return int(self.pred.shape[0])

    @property
    def num_rings(self) -> int:
        """Number of rings."""
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
        ring = _checked_ring(k, ring)
        for j, i in enumerate(ring):
            inputs[i][ring[j - 1]] = 1.0
    for pre, post, w in extra:
        inputs[post][pre] = inputs[post].get(pre, 0.0) + float(w)
    missing = [i for i in range(n) if not inputs[i]]
    if missing:
        raise ValueError(f"neurons {missing[:5]} are on no ring (ids must be 0..n-1 without gaps)")
    pred, weight = _padded_inputs(inputs)
    arrs = tuple(np.asarray(r, dtype=np.int64) for r in rings)
    ref = _references(arrs, reference)
    return RingNetwork(pred, weight, arrs, ref, shape, sharing, coupling)


def _references(rings: tuple[np.ndarray, ...], reference: Sequence[int] | None) -> np.ndarray:
    """Each ring's phase neuron: ``reference`` checked, or each ring's first member."""
    if reference is None:
        return np.array([r[0] for r in rings])
    ref = np.asarray(reference, np.int64)
    if ref.shape != (len(rings),) or any(int(i) not in set(r.tolist()) for i, r in zip(ref, rings)):
        raise ValueError("reference must name one member neuron per ring")
    return ref


def _checked_ring(k: int, ring: Sequence[int]) -> list[int]:
    out = [int(i) for i in ring]
    if len(out) < 2:
        raise ValueError(f"ring {k} has {len(out)} neurons; a ring needs at least 2")
    if len(set(out)) != len(out):
        raise ValueError(f"ring {k} visits a neuron twice: {out}")
    if min(out) < 0:
        raise ValueError(f"ring {k} has a negative neuron id")
    return out


def _padded_inputs(inputs: list[dict[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """``(pred [n, K], weight [n, K])``: each neuron's presynaptic ids and weights, padded with
    id ``n`` and weight 0 to the largest in-degree ``K``."""
    n = len(inputs)
    K = max(len(d) for d in inputs)
    pred = np.full((n, K), n, dtype=np.int64)
    weight = np.zeros((n, K), dtype=np.float64)
    for i, d in enumerate(inputs):
        pred[i, : len(d)] = list(d)
        weight[i, : len(d)] = list(d.values())
    return pred, weight


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
    """Build the lattice of `LatticeConfig`. Ring positions ``0..N-1``: the run shared with
    the right neighbour starts at 0, the bottom one at N/4, the left one (the right run of the
    left neighbour) at N/2, the top one (the bottom run of the top neighbour) at 3N/4; both rings
    traverse a shared run in the same direction. Each ring's phase is read from its first
    unshared neuron (position 0 when every neuron is shared)."""
    R, C, N, m = cfg.rows, cfg.cols, cfg.ring_size, cfg.sharing
    q = N // 4
    starts = {"right": 0, "bottom": q, "left": 2 * q, "top": 3 * q}
    shared_pos = {p for s in starts.values() for p in range(s, s + m)}
    private = [p for p in range(N) if p not in shared_pos]
    ids = _lattice_ids(R, C, N, m, starts, private)
    rings = [ids[r, c] for r in range(R) for c in range(C)]
    ref_pos = private[0] if private else 0  # a neuron of this ring only, where there is one
    reference = [int(ring[ref_pos]) for ring in rings]
    extra = _neighbour_links(ids, cfg.coupling) if cfg.coupling > 0 else []
    return from_rings(rings, extra, shape=(R, C), sharing=m, coupling=cfg.coupling,
                      reference=reference)


def _lattice_ids(R: int, C: int, N: int, m: int, starts: dict[str, int], private: list[int]
                 ) -> np.ndarray:
    """``[R, C, N]`` neuron id at each ring position: each ring owns its private neurons and its
    right and bottom shared runs; its left and top runs are its neighbours' right and bottom."""
    per_ring = len(private) + 2 * m  # private neurons plus the right and bottom runs it owns
    ids = np.empty((R, C, N), dtype=np.int64)
    base = (np.arange(R)[:, None] * C + np.arange(C)[None, :]) * per_ring
    for k, p in enumerate(private):
        ids[:, :, p] = base + k
    for k in range(m):
        ids[:, :, starts["right"] + k] = base + len(private) + k
        ids[:, :, starts["bottom"] + k] = base + len(private) + m + k
    for k in range(m):
        ids[:, :, starts["left"] + k] = np.roll(ids[:, :, starts["right"] + k], 1, axis=1)
        ids[:, :, starts["top"] + k] = np.roll(ids[:, :, starts["bottom"] + k], 1, axis=0)
    return ids


def _neighbour_links(ids: np.ndarray, coupling: float) -> list[tuple[int, int, float]]:
    """Weak links: each neuron receives ``coupling`` times the neuron at its position on each of
    the four neighbouring rings (periodic), in the order right, left, down, up."""
    R, C, N = ids.shape
    extra: list[tuple[int, int, float]] = []
    for r in range(R):
        for c in range(C):
            for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                nb = ids[(r + dr) % R, (c + dc) % C]
                extra += [(int(nb[p]), int(ids[r, c, p]), coupling) for p in range(N)]
    return extra


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
    v: np.ndarray = np.broadcast_to(params.v_init * in_weight, (batch, n)).astype(dtype)
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
