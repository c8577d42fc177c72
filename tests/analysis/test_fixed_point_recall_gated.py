"""Recall on gated networks: with default settings the finder returns every fixed point that a
long independent multi-start search finds from the same 1,024 initial states, saddles included, on
a 64-unit GRU and a 64-unit LSTM trained on the 3-bit flip-flop (Adam, 3,000 iterations; weights
shipped in ``tests/data``). The reference is written here, not by the finder: plain Adam on
q = ½‖F(h) − h‖² for 3,000 steps, then Newton with the model's step Jacobian (checked against
autograd in ``test_fixed_points.py``). The search takes minutes per network, so its roots are
shipped beside the weights (``*_roots.npy``; regenerate with ``python
tests/analysis/test_fixed_point_recall_gated.py``) and every run checks that each shipped root is a
fixed point of the shipped network (residual < 1e-10) before asking the finder for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from analysis.fixed_points import find_fixed_points, sample_states  # noqa: E402
from baselines.models.classic import GRU, LSTM  # noqa: E402
from ta_envs import make_dataset, make_task  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"
pytestmark = pytest.mark.slow  # the finder on 1,024 states of a 64-unit gated network
NETWORKS = {"flipflop_gru64.npz": GRU, "flipflop_lstm64.npz": LSTM}


def trained(cls: type[torch.nn.Module], name: str) -> torch.nn.Module:
    model = cls(3, 64, 3)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(DATA / name).items()})
    model = model.double().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def long_search(model: torch.nn.Module, h0: torch.Tensor, steps: int = 3000) -> np.ndarray:
    """Distinct roots of F(h) = h (residual < 1e-10) reached from ``h0`` by Adam then Newton."""
    u = torch.zeros(len(h0), 3, dtype=torch.float64)
    h = h0.clone().requires_grad_(True)
    opt = torch.optim.Adam([h], lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((model.step(h, u) - h) ** 2).sum()).backward()
        opt.step()
    x = h.detach()
    eye = torch.eye(x.shape[1], dtype=x.dtype)
    for _ in range(40):
        with torch.no_grad():
            f = model.step(x, u)
        dx = torch.linalg.lstsq(model.step_jacobian(x, u) - eye, (f - x)[..., None]).solution[..., 0]
        x = torch.nan_to_num(x - dx, nan=10.0).clamp(-10, 10)
    with torch.no_grad():
        r = (model.step(x, u) - x).norm(dim=1)
    uniq: list[np.ndarray] = []
    for p in x[r < 1e-10].numpy():
        if all(np.abs(p - q).max() > 1e-6 for q in uniq):
            uniq.append(p)
    return np.array(uniq)


def initial_states(model: torch.nn.Module) -> np.ndarray:
    """The 1,024 states both searches start from (visited states plus noise, seeded)."""
    batch = next(make_dataset(make_task("FlipFlop-v0"), 64, 100, seed=1))
    return np.asarray(sample_states(model, batch.inputs, 1024, noise=0.01,
                                    generator=torch.Generator().manual_seed(0)))


def roots_path(name: str) -> Path:
    return DATA / name.replace(".npz", "_roots.npy")


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_the_default_finder_misses_no_point_on_gated_networks(name):
    model = trained(NETWORKS[name], name)
    h0 = initial_states(model)
    ref = np.load(roots_path(name))
    with torch.no_grad():  # each shipped root is a fixed point of this network
        x = torch.as_tensor(ref)
        assert (model.step(x, torch.zeros(len(x), 3, dtype=x.dtype)) - x).norm(dim=1).max() < 1e-10
    fp = find_fixed_points(model, np.zeros((1, 3)), h0)
    assert len(ref) >= 20  # 8 stable corners of the cube and their saddles
    missed = [p for p in ref if np.abs(fp.points - p).max(1).min() > 1e-6]
    assert not missed, f"{len(missed)} of {len(ref)} missed; found {len(fp)}"
    assert (fp.stability == "stable").sum() == 8 and (fp.stability == "saddle").sum() >= 12


if __name__ == "__main__":  # regenerate the shipped roots of the long search (minutes each)
    for name, cls in NETWORKS.items():
        net = trained(cls, name)
        roots = long_search(net, torch.as_tensor(initial_states(net), dtype=torch.float64))
        np.save(roots_path(name), roots)
        print(f"{name}: {len(roots)} roots -> {roots_path(name)}")
