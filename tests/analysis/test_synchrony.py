"""Ring-oscillator measures and experiments: phases, order, correlation length, domains,
defects, the period law, locking of shared-neuron lattices, and the rings command."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("scipy")

from analysis.rings.synchrony import (  # noqa: E402
    correlation_length,
    domains,
    local_order,
    neighbour_locking,
    order_parameter,
    phase_correlation,
    ring_periods,
    ring_phases,
    staggered,
)
from baselines.rings import (  # noqa: E402
    LatticeConfig,
    initial_state,
    lattice,
    simulate,
    single_rings,
)


def test_one_pulse_ring_period_follows_the_linear_law():
    sizes = list(range(2, 9))
    tr = simulate(single_rings(sizes), 20000)
    P = ring_periods(tr.event_step, tr.event_ring, len(sizes), tr.dt)
    law = 1.26 * np.array(sizes) + 0.27
    np.testing.assert_allclose(P, law, rtol=0.03)


def test_shared_neurons_sum_both_rings_and_neighbouring_rings_phase_lock():
    net = lattice(LatticeConfig(rows=12, cols=12, ring_size=8, sharing=1))
    assert net.num_neurons == 144 * 6  # 4 private + the right and bottom shared neurons per ring
    two = np.nonzero((net.pred < net.num_neurons).sum(1) == 2)[0]
    assert len(two) == 2 * 144  # the first neuron of each shared run has two predecessors
    tr = simulate(net, 40000, initial_state(net, rng=np.random.default_rng(0)))
    th = ring_phases(tr.event_step, tr.event_ring, net.num_rings, np.array([35000]))[0]
    strength, angle = neighbour_locking(th.reshape(12, 12))
    # locked, in phase or in antiphase (which one depends on the start)
    assert strength > 0.8 and min(abs(angle), abs(abs(angle) - np.pi)) < 0.3
    alone = simulate(lattice(LatticeConfig(rows=12, cols=12, ring_size=8, sharing=0)), 40000,
                     initial_state(lattice(LatticeConfig(12, 12, 8, 0)),
                                   rng=np.random.default_rng(0)))
    th0 = ring_phases(alone.event_step, alone.event_ring, 144, np.array([35000]))[0]
    assert neighbour_locking(th0.reshape(12, 12))[0] < 0.3  # without sharing: no locking


def test_phases_from_events_are_linear_between_cycle_starts():
    ev_s = np.array([100, 300, 500, 50, 150])
    ev_r = np.array([0, 0, 0, 1, 1])
    th = ring_phases(ev_s, ev_r, 2, np.array([100, 200, 450, 100, 600]))
    np.testing.assert_allclose(th[:3, 0], [0.0, np.pi, 1.5 * np.pi])
    assert np.isnan(th[4, 0])  # after the last event
    np.testing.assert_allclose(th[3, 1], np.pi)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31), st.floats(-10, 10))
def test_order_parameters_are_in_unit_interval_and_ignore_a_global_shift(seed, shift):
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, size=(5, 6)) * rng.uniform(0, 1)
    for f in (lambda t: order_parameter(t.ravel()), local_order):
        a, b = f(theta), f(theta + shift)
        assert 0.0 <= a <= 1.0 + 1e-12
        assert a == pytest.approx(b, abs=1e-12)
    np.testing.assert_allclose(np.exp(1j * staggered(staggered(theta))), np.exp(1j * theta),
                               atol=1e-12)


@pytest.mark.parametrize("xi", [3.0, 8.0])
def test_correlation_length_of_a_field_with_known_xi(xi):
    """Separable random-walk phases: ``θ = A_row + B_col`` with steps of variance σ² give
    ``⟨cos(θ_x − θ_{x+r})⟩ = exp(−r σ²/2)``, i.e. ξ = 2/σ²."""
    rng = np.random.default_rng(0)
    sigma = np.sqrt(2.0 / xi)
    L = 400
    A = np.cumsum(rng.normal(scale=sigma, size=(200, L)), axis=1)  # 200 independent fields
    B = np.cumsum(rng.normal(scale=sigma, size=(200, L)), axis=1)
    est = []
    for a, b in zip(A[:20], B[:20]):
        C = phase_correlation(a[:, None] + b[None, :], int(3 * xi), periodic=False)
        est.append(correlation_length(C))
    assert np.median(est) == pytest.approx(xi, rel=0.1)


def test_domains_and_walls_of_a_two_domain_field():
    L = 10
    theta = np.zeros((L, L))
    theta[:, 5:] = np.pi
    d = domains(theta)
    assert sorted(d.sizes.tolist()) == [50, 50]
    assert d.wall_fraction == pytest.approx(2 * L / (2 * L * L))
    assert set(np.unique(d.labels[:, :5])) != set(np.unique(d.labels[:, 5:]))


def test_rings_cli_writes_results_and_reuses_them(tmp_path):
    import json

    from ta_envs.cli import main

    args = ["rings", "lattice", "--rows", "6", "--cols", "6", "--sharing", "0", "1",
            "--duration", "80", "--sample", "5", "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    run = json.loads((tmp_path / "lattice_m1.json").read_text())
    assert run["config"]["sharing"] == 1 and len(run["xi"]) == len(run["times"])
    assert (tmp_path / "lattice.png").stat().st_size > 10_000
    stamp = (tmp_path / "lattice_m1.json").stat().st_mtime_ns
    assert main(args) == 0
    assert (tmp_path / "lattice_m1.json").stat().st_mtime_ns == stamp
    assert main(["rings", "reservoir", "--tasks", "periodic P=6", "--rings", "16", "--train",
                 "32", "--hold", "20", "--quiet", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "reservoir.json").read_text())
    assert 0.5 < res["runs"]["periodic P=6/seed0"]["test"]["td"] <= 1.0
    assert main(["rings", "reservoir", "--tasks", "nope", "--out", str(tmp_path)]) == 2


def test_defects_find_a_vortex_antivortex_pair():
    from analysis.rings.synchrony import defects

    L = 24
    y, x = np.mgrid[0:L, 0:L]
    theta = np.arctan2(y - 8.5, x - 6.5) - np.arctan2(y - 15.5, x - 17.5)
    w = defects(theta)
    assert np.abs(w).sum() == 2 and w.sum() == 0  # one vortex, one antivortex
    assert w[8, 6] == 1 and w[15, 17] == -1
    assert np.abs(defects(np.full((L, L), 1.3))).sum() == 0
