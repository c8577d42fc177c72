"""The period of a one-pulse ring of differentiating neurons, derived from the model.

In a ring with one low neuron, neuron i goes low one step after its input (neuron i−1's output)
rises, i.e. when neuron i−1 returns high; the pulse therefore moves on by one neuron per low
phase, and the period is ``P = N · t_low``. In continuous time (time constant 1) the low phase
lasts while ``d = u − v`` stays at or above ``low``: with ``u = 1`` and ``v`` relaxing from the value
``v0`` it had when the input rose, ``d(t) = (1 − v0) e^{−t}``, so

    t_low = ln((1 − v0) / low).

``v0`` is where ``v`` got to while the input was low (neuron i−1's low phase, ``t_low``):
``v0 = v_before · e^{−t_low}``, and ``v_before`` is where ``v`` got to while the input was high since
neuron i's own previous low phase ended at ``v = 1 − low``, ``P − 2 t_low`` earlier:
``v_before = 1 − low · e^{−(P − 2 t_low)}``. With ``P = N t_low`` this is one equation in
``t_low``; its root with ``1 − v0 ≥ high`` (the rise does trigger the neuron) gives the period.
For large N, ``v_before → 1`` and ``t_low → ln((1 + sqrt(1 − 4·low)) / (2·low))`` (1.2859 for
low = 0.2), so ``P ≈ 1.286 N``; for small N the shorter high phase leaves ``v_before`` lower and
the low phase longer. The straight line ``1.26 N + 0.27`` quoted earlier is the least-squares line
through this curve for N = 2..8, not a separate law. The simulation with step ``dt`` agrees with
the derivation to within about one step per neuron (each hand-off is quantised to steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from baselines.rings import NeuronParams
from ta_envs.validation import InvalidValue, check_int


def _gap(t: np.ndarray, n: int, low: float) -> np.ndarray:
    v_before = 1.0 - low * np.exp(-(n - 2) * t)
    return np.log((1.0 - v_before * np.exp(-t)) / low) - t


def low_phase(n: int, params: NeuronParams | None = None) -> float:
    """Duration (time constants) of each neuron's low phase in a one-pulse ring of ``n >= 2``
    neurons (the derivation in the module docstring)."""
    from scipy.optimize import brentq

    check_int("n", n, 2)
    p = params or NeuronParams()
    ts = np.linspace(1e-3, 20.0, 4000)
    g = _gap(ts, n, p.low)
    for i in np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0):
        t = brentq(_gap, ts[i], ts[i + 1], args=(n, p.low), xtol=1e-14)
        v0 = (1.0 - p.low * np.exp(-(n - 2) * t)) * np.exp(-t)
        if 1.0 - v0 >= p.high:
            return float(t)
    raise InvalidValue(f"no self-consistent low phase for n={n} with low={p.low}, "
                       f"high={p.high}: the ring does not carry a pulse")


def ring_period(n: int, params: NeuronParams | None = None) -> float:
    """Derived period (time constants) of a one-pulse ring of ``n`` neurons: ``n · low_phase``."""
    return n * low_phase(n, params)


def asymptotic_low_phase(params: NeuronParams | None = None) -> float:
    """``lim_{N→∞} t_low = ln((1 + sqrt(1 − 4·low)) / (2·low))`` (needs ``low < 1/4``)."""
    p = params or NeuronParams()
    if p.low >= 0.25:
        raise InvalidValue(f"the large-ring limit needs low < 0.25, got {p.low}")
    return float(np.log((1.0 + np.sqrt(1.0 - 4.0 * p.low)) / (2.0 * p.low)))


@dataclass(frozen=True)
class PeriodResult:
    """One-pulse ring period (time units) per ring size, simulated and derived
    ([`analysis.rings.period`][analysis.rings.period]), the least-squares line ``period = slope · N +
    intercept``
    through the simulated periods, and the large-ring limit of the low phase (the slope the
    derivation approaches)."""

    sizes: np.ndarray
    periods: np.ndarray
    slope: float
    intercept: float
    derived: np.ndarray | None = None
    limit_slope: float | None = None
    dt: float | None = None
