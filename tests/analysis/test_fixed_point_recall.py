"""Recall: with default settings the finder returns every fixed point that a long independent
multi-start search finds from the same initial states (saddles included), on a 64-unit tanh RNN
trained on the 3-bit flip-flop (weights shipped in ``tests/data``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from analysis.fixed_points import find_fixed_points, sample_states  # noqa: E402
from baselines.models.classic import ElmanRNN  # noqa: E402
from ta_envs import make_dataset, make_task  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "flipflop_rnn64.npz"


def trained_rnn() -> ElmanRNN:
    model = ElmanRNN(3, 64, 3)
    state = {k: torch.from_numpy(v) for k, v in np.load(DATA).items()}
    model.load_state_dict(state)
    return model.double().eval()


def long_search(model: ElmanRNN, h0: torch.Tensor, steps: int = 3000) -> np.ndarray:
    """Independent reference: plain Adam on q = ½‖F(h) − h‖² from every state for ``steps``
    steps, then Newton on every state, keeping the distinct roots with residual < 1e-10."""
    W, b = model.rnn.weight_hh_l0.detach(), (model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0).detach()
    h = h0.clone().requires_grad_(True)
    opt = torch.optim.Adam([h], lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        q = 0.5 * ((torch.tanh(h @ W.T + b) - h) ** 2).sum()
        q.backward()
        opt.step()
    x = h.detach()
    eye = torch.eye(W.shape[0], dtype=x.dtype)
    for _ in range(30):  # Newton on F(h) - h = 0
        f = torch.tanh(x @ W.T + b)
        J = (1 - f**2)[:, :, None] * W[None] - eye
        x = x - torch.linalg.solve(J, (f - x)[..., None])[..., 0]
        x = torch.nan_to_num(x, nan=10.0).clamp(-10, 10)
    r = (torch.tanh(x @ W.T + b) - x).norm(dim=1)
    roots = x[r < 1e-10].numpy()
    uniq: list[np.ndarray] = []
    for p in roots:
        if all(np.abs(p - u).max() > 1e-6 for u in uniq):
            uniq.append(p)
    return np.array(uniq)


@pytest.mark.slow
def test_the_default_finder_misses_no_point_a_long_search_finds():
    model = trained_rnn()
    task = make_task("FlipFlop-v0")
    batch = next(make_dataset(task, 64, 100, seed=1))
    h0 = sample_states(model, batch.inputs, 1024, noise=0.01,
                       generator=torch.Generator().manual_seed(0))
    zero = np.zeros((1, 3))  # the flip-flop's constant input: no pulse
    ref = long_search(model, h0)
    fp = find_fixed_points(model, zero, h0)
    assert len(ref) >= 20  # a trained 3-bit flip-flop: 8 stable corners and their saddles
    missed = [p for p in ref if np.abs(fp.points - p).max(1).min() > 1e-6]
    assert not missed, f"{len(missed)} of {len(ref)} missed; found {len(fp)}"
    assert (fp.stability == "saddle").sum() >= 9 and (fp.stability == "stable").sum() == 8
