"""The 3-D subspace in which a trained network keeps time, and the rings of ``t mod P`` in it.

Basis (orthonormalised in this order): the input direction (the leading principal direction of
``F(h0, x_s) − F(h0, x̄)`` over the symbols s, i.e. ``x_a − x_b`` through the input weights for two
symbols), then Re and Im of the eigenvector of the recurrent matrix (W_hh; the candidate/cell block
for a GRU/LSTM) whose eigenvalue has the largest modulus among the complex ones.

`subspace_test()` projects held-out states onto it and fits the same least-squares linear
readout (one-vs-rest, on ``[z, 1]``) to the projection and to the full state; it reports TD and TI
accuracy of both next to the model's own readout. In the (Re, Im) plane it measures the rings:
for every output state and time of day ``k = t mod P`` (from the task's periodic clock) the
centroid, and the *phase locking* ``R = |mean exp(i(θ − m·2πk/P))|`` maximised over the winding
``m = ±1..±P/2``: 1 when the angle θ of the state turns by exactly ``m·2π/P`` per step (a ring
traversed ``|m|`` times per period).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from baselines.models import recurrent_block, require_recurrent
from ta_envs import Task, make_dataset
from ta_envs.validation import InvalidValue

from .state_readout import lsq_accuracy


@dataclass(frozen=True)
class SubspaceResult:
    """Accuracy of the readout restricted to a subspace, with its controls."""
    basis: np.ndarray  #: [3, S] orthonormal rows: input direction, Re v, Im v
    eigenvalue: complex  #: the complex eigenvalue whose eigenvector spans the plane
    accuracy: dict[str, dict[str, float]]  #: {"projection"|"full_state"|"model": {"td","ti"}}
    period: int | None  #: P of the task's periodic clock (None: no rings measured)
    phase_locking: dict[int, float]  #: output state -> R in [0, 1]
    winding: dict[int, int]  #: output state -> m, turns of the plane per period (sign: direction)
    ring_radius: dict[int, float]  #: output state -> mean centroid radius in the plane
    centroids: dict[int, np.ndarray]  #: output state -> [P, 2] centroid of each time of day
    projected: np.ndarray  #: [N, 3] projected held-out states (a subsample, for figures)
    time_of_day: np.ndarray  #: [N] t mod P of those states (-1 without a periodic clock)
    state: np.ndarray  #: [N] their target output

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"eigenvalue": {"abs": abs(self.eigenvalue),
                               "arg": float(abs(np.angle(self.eigenvalue)))},
                "accuracy": self.accuracy, "period": self.period,
                "phase_locking": {str(k): v for k, v in self.phase_locking.items()},
                "winding": {str(k): v for k, v in self.winding.items()},
                "ring_radius": {str(k): v for k, v in self.ring_radius.items()}}


def subspace_basis(model: torch.nn.Module, task: Task) -> tuple[np.ndarray, complex]:
    """``([3, S] orthonormal basis, eigenvalue)``; ``ValueError`` when the model has no square
    recurrent matrix or it has no complex eigenvalue."""
    require_recurrent(model, "subspace_basis")
    W = recurrent_block(model)
    if W is None:
        raise InvalidValue(f"{type(model).__name__} has no square recurrent matrix "
                         "(recurrent_weight); the subspace needs one")
    ev, vec = np.linalg.eig(W.double().cpu().numpy())
    cplx = np.flatnonzero(np.abs(ev.imag) > 1e-9)
    if len(cplx) == 0:
        raise InvalidValue("the recurrent matrix has no complex eigenvalue: no rotation plane")
    k = cplx[np.argmax(np.abs(ev[cplx]))]
    obs = torch.as_tensor(np.array(task.obs_table), dtype=torch.float32)
    rec = require_recurrent(model, "subspace_test")
    with torch.no_grad():
        h0 = rec.initial_state(len(obs)).float()
        drive = rec.step(h0, obs).double().numpy()
    drive = drive - drive.mean(0)
    d_in = np.linalg.svd(drive, full_matrices=False)[2][0]
    q, _ = np.linalg.qr(np.stack([d_in, vec[:, k].real, vec[:, k].imag], 1))
    return q.T, complex(ev[k])


def phase_locking(theta: np.ndarray, time_of_day: np.ndarray, period: int) -> tuple[float, int]:
    """``(R, m)``: ``R = max_m |mean exp(i(θ − m·2πk/P))|`` over windings ``m = ±1 .. ±P/2``, in
    [0, 1], and the maximising ``m``. ``R = 1`` when the angle ``θ`` (radians) turns by exactly
    ``m·2π/P`` per time of day ``k``, whatever its offset (``m = ±1``: once around per period)."""
    k = np.asarray(time_of_day, dtype=np.float64)
    th = np.asarray(theta, dtype=np.float64)
    if th.shape != k.shape or th.ndim != 1 or len(th) == 0:
        raise InvalidValue(f"theta and time_of_day must be equal-length 1-D arrays, got {th.shape} "
                         f"and {k.shape}")
    best = (-1.0, 0)
    for m in range(1, max(1, period // 2) + 1):
        for sgn in (1, -1):
            R = float(abs(np.mean(np.exp(1j * (th - sgn * m * 2 * np.pi * k / period)))))
            if R > best[0] + 1e-12:
                best = (R, sgn * m)
    return best


def held_out_states(model: torch.nn.Module, task: Task, *, seq_len: int = 96,
                    batch_size: int = 128, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """A training and a test batch drawn with ``seed``: per split ``[states [N, S], targets [N],
    TD mask [N], logits [N, O], clocks [N, X]]`` (steps of all sequences flattened)."""
    data = make_dataset(task, batch_size=batch_size, seq_len=seq_len, seed=seed)
    out: dict[str, list[np.ndarray]] = {}
    for split in ("train", "test"):
        b = next(data)
        with torch.no_grad():
            logits, states = model(torch.as_tensor(b.inputs))
        out[split] = [states.double().reshape(-1, states.shape[-1]).numpy(), b.targets.reshape(-1),
                      b.mask_td.reshape(-1), logits.reshape(len(b.targets.reshape(-1)), -1).numpy(),
                      b.clocks.reshape(-1, b.clocks.shape[-1])]
    return out


def projection_controls(model: torch.nn.Module, task: Task, *, projections: int = 50,
                        seq_len: int = 96, seed: int = 0) -> dict[str, float]:
    """The same least-squares readout as `subspace_test()` on random 3-D projections
    (orthonormal, ``projections`` draws: median and quartiles of TD accuracy) and on the top 3
    principal components of the training states (``pca_td``)."""
    require_recurrent(model, "projection_controls")
    out = held_out_states(model, task, seq_len=seq_len, seed=seed)
    (h_tr, y_tr, _, _, _), (h_te, y_te, td_te, _, _) = out["train"], out["test"]
    classes = int(max(y_tr.max(), y_te.max())) + 1
    rng = np.random.default_rng(seed)

    def td(basis: np.ndarray) -> float:
        ok = lsq_accuracy(h_tr @ basis.T, y_tr, h_te @ basis.T, y_te, classes)
        return float(ok[td_te].mean())

    rand = [td(np.linalg.qr(rng.normal(size=(h_tr.shape[1], 3)))[0].T) for _ in range(projections)]
    centred = h_tr - h_tr.mean(0)
    pcs = np.linalg.svd(centred, full_matrices=False)[2][:3]
    q1, med, q3 = np.percentile(rand, [25, 50, 75])
    return {"random_td_median": float(med), "random_td_q1": float(q1), "random_td_q3": float(q3),
            "pca_td": td(pcs)}


def subspace_test(model: torch.nn.Module, task: Task, *, seq_len: int = 96, batch_size: int = 128,
                  seed: int = 0, keep: int = 4000) -> SubspaceResult:
    """Project held-out states (a training and a test batch drawn with ``seed``) onto the basis,
    compare readouts and measure the rings (see the module docstring)."""
    if task.target_channels is not None:
        raise InvalidValue("subspace_test needs a single-target task (not FlipFlop-v0)")
    basis, lam = subspace_basis(model, task)
    out = held_out_states(model, task, seq_len=seq_len, batch_size=batch_size, seed=seed)
    (h_tr, y_tr, _, _, _), (h_te, y_te, td_te, lg_te, clk_te) = out["train"], out["test"]
    classes = int(max(y_tr.max(), y_te.max())) + 1
    acc: dict[str, dict[str, float]] = {}
    model_pred = (lg_te[:, 0] > 0).astype(int) if lg_te.shape[1] == 1 else lg_te.argmax(1)
    for name, ok in (("projection", lsq_accuracy(h_tr @ basis.T, y_tr, h_te @ basis.T, y_te,
                                                   classes)),
                     ("full_state", lsq_accuracy(h_tr, y_tr, h_te, y_te, classes)),
                     ("model", model_pred == y_te)):
        acc[name] = {"td": float(ok[td_te].mean()) if td_te.any() else float("nan"),
                     "ti": float(ok[~td_te].mean()) if (~td_te).any() else float("nan")}
    z = h_te @ basis.T
    periodic = [i for i, c in enumerate(task.automaton.clocks) if c.period is not None]
    period = task.automaton.clocks[periodic[0]].period if periodic else None
    tod = clk_te[:, periodic[0]] if periodic else np.full(len(z), -1)
    locking: dict[int, float] = {}
    winding: dict[int, int] = {}
    radius: dict[int, float] = {}
    cents: dict[int, np.ndarray] = {}
    if period:
        theta = np.arctan2(z[:, 2], z[:, 1])
        for s in np.unique(y_te):
            sel = y_te == s
            c = np.array([z[sel & (tod == k), 1:].mean(0) if (sel & (tod == k)).any()
                          else [np.nan, np.nan] for k in range(period)])
            locking[int(s)], winding[int(s)] = phase_locking(theta[sel], tod[sel], period)
            cents[int(s)] = c
            radius[int(s)] = float(np.nanmean(np.linalg.norm(c - np.nanmean(c, 0), axis=1)))
    pick = np.random.default_rng(seed).permutation(len(z))[:keep]
    return SubspaceResult(basis, lam, acc, period, locking, winding, radius, cents, z[pick], tod[pick],
                          y_te[pick])
