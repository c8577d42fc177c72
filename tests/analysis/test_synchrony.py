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
    NeuronParams,
    initial_state,
    lattice,
    simulate,
    single_rings,
)


@pytest.mark.parametrize("dt", [0.01, 0.002])
def test_one_pulse_ring_period_matches_its_derivation(dt):
    """The simulated period is the derived N · t_low to within about one step per neuron, and the
    large-ring limit of t_low is the closed form."""
    from analysis.rings.period import asymptotic_low_phase, low_phase, ring_period

    sizes = list(range(2, 9))
    params = NeuronParams(dt=dt)
    tr = simulate(single_rings(sizes), int(200 / dt), params=params)
    P = ring_periods(tr.event_step, tr.event_ring, len(sizes), tr.dt)
    derived = np.array([ring_period(n, params) for n in sizes])
    assert np.all(np.abs(P - derived) <= dt * (np.array(sizes) + 2)), (P, derived)
    assert abs(low_phase(200) - asymptotic_low_phase()) < 1e-9
    assert abs(asymptotic_low_phase() - np.log((1 + np.sqrt(0.2)) / 0.4)) < 1e-12


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

    args = ["rings", "lattice", "--rows", "6", "--cols", "6", "--ring-size", "8", "--sharing", "0",
            "1", "--coupling", "0.05", "--kuramoto", "0.1", "--duration", "80", "--sample", "5",
            "--seeds", "2", "--quiet", "--out", str(tmp_path)]
    assert main(args) == 0
    setting = tmp_path / "lattice_rings_m1.json"
    runs = json.loads(setting.read_text())["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    assert runs[0]["config"]["sharing"] == 1 and len(runs[0]["xi"]) == len(runs[0]["times"])
    summary = json.loads((tmp_path / "lattice_summary.json").read_text())
    assert set(summary["settings"]) == {"rings_m0", "rings_m1", "rings_m0_eps0.05",
                                        "kuramoto_K0.1"}
    assert summary["settings"]["rings_m1"]["n"] == 2
    assert len(summary["provenance"]["git_commit"]) == 40
    assert summary["run_commits"]["commits"] == [summary["provenance"]["git_commit"]]
    assert summary["run_commits"]["unrecorded"] == 0
    assert (tmp_path / "lattice.png").stat().st_size > 10_000
    stamp = setting.stat().st_mtime_ns
    assert main(args) == 0  # the same sweep: every setting reused
    assert setting.stat().st_mtime_ns == stamp
    # a longer run is another result: the saved setting is not reused for it
    longer = [a if a != "80" else "120" for a in args]
    assert main(longer) == 0
    assert json.loads(setting.read_text())["runs"][0]["times"][-1] > runs[0]["times"][-1]
    # a file saved before settings were keyed (a bare list) is made again, not trusted
    setting.write_text(json.dumps(runs))
    assert main(args) == 0
    assert isinstance(json.loads(setting.read_text()), dict)

    res_args = ["rings", "reservoir", "--tasks", "periodic P=6", "--benchmarks", "--rows", "2",
                "--cols", "2", "--ring-size", "8", "--sharing", "1", "--drive", "1",
                "--esn-scaling", "0.5", "--seeds", "1", "--train", "32", "--hold", "20",
                "--quiet", "--out", str(tmp_path)]
    assert main(res_args) == 0
    res = json.loads((tmp_path / "reservoir.json").read_text())["runs"]
    ring = "rings m=1 drive=1/periodic P=6/seed0"
    assert set(res) == {ring, "esn units=48 scaling=0.5/periodic P=6/seed0"}  # 2 x 24 + 1
    assert all(0.0 <= r["value"] <= 1.0 for r in res.values())
    summary = json.loads((tmp_path / "reservoir_summary.json").read_text())
    assert set(summary["jobs"]) == {"periodic P=6"} and summary["seeds"] == [0]
    assert summary["run_commits"]["commits"] == [summary["provenance"]["git_commit"]]
    # another hold changes the ring reservoir (not the echo-state network): only it is redone
    assert main([a if a != "20" else "10" for a in res_args]) == 0
    again = json.loads((tmp_path / "reservoir.json").read_text())["runs"]
    assert again[ring]["key"] != res[ring]["key"]
    esn = "esn units=48 scaling=0.5/periodic P=6/seed0"
    assert again[esn]["provenance"] == res[esn]["provenance"]
    # a sweep over fewer seeds summarises its own runs only
    assert main([a if a != "1" or i != res_args.index("--seeds") + 1 else "2"
                 for i, a in enumerate(res_args)]) == 0
    assert json.loads((tmp_path / "reservoir_summary.json").read_text())["jobs"][
        "periodic P=6"][ring.split("/")[0]]["n"] == 2
    assert main(res_args) == 0
    assert json.loads((tmp_path / "reservoir_summary.json").read_text())["jobs"][
        "periodic P=6"][ring.split("/")[0]]["n"] == 1
    assert main(["rings", "reservoir", "--tasks", "nope", "--out", str(tmp_path)]) == 2


def test_seeds_run_side_by_side_exactly_as_alone():
    """Batch row b of a multi-seed lattice run is the run with seed b alone."""
    from analysis.rings.lattices import ring_lattice_runs

    cfg = LatticeConfig(rows=4, cols=4, ring_size=8, sharing=1)
    both = ring_lattice_runs(cfg, 40.0, 4.0, [3, 4])
    alone = ring_lattice_runs(cfg, 40.0, 4.0, [4])[0]
    assert both[1].seed == alone.seed == 4
    for key in ("times", "xi", "lock", "defects", "snapshots"):
        np.testing.assert_array_equal(getattr(both[1], key), getattr(alone, key))
    assert not np.array_equal(both[0].snapshots, alone.snapshots)


@pytest.mark.parametrize("phi0,d_omega,coupling", [(0.3, 1.0, 0.2), (2.5, 0.3, 0.5),
                                                   (3.0, 0.2, 0.3), (1.0, -1.5, 0.3)])
@pytest.mark.slow
def test_kuramoto_stepper_matches_the_two_oscillator_solution(phi0, d_omega, coupling):
    """Two oscillators as a 1 x 2 torus (each is the other's left and right neighbour, so the
    lattice coupling K acts as 2K) against the closed form, drifting and locking."""
    from baselines.rings.kuramoto import lattice_velocity, rk4, two_oscillator_difference

    dt, T = 0.005, 40.0  # RK4: error 5e-11 at this step (dt^4 scaling), 1e-12 at 0.002
    t = np.arange(0, T + dt / 2, dt)
    theta = np.array([[0.0, phi0]])
    omega = np.array([[0.0, d_omega]])
    phi = [phi0]
    for _ in range(len(t) - 1):
        theta = rk4(theta, lambda x: lattice_velocity(x, omega, coupling / 2), dt)
        phi.append(theta[0, 1] - theta[0, 0])
    exact = two_oscillator_difference(phi0, d_omega, coupling, t)
    exact += 2 * np.pi * np.round((phi0 - exact[0]) / (2 * np.pi))
    np.testing.assert_allclose(np.array(phi), exact, atol=1e-9)
    locked = abs(d_omega) < 2 * coupling
    drift = exact[-1] - exact[3 * len(t) // 4]
    assert (abs(drift) < 1e-3) == locked


def test_defects_find_a_vortex_antivortex_pair():
    from analysis.rings.synchrony import defects

    L = 24
    y, x = np.mgrid[0:L, 0:L]
    theta = np.arctan2(y - 8.5, x - 6.5) - np.arctan2(y - 15.5, x - 17.5)
    w = defects(theta)
    assert np.abs(w).sum() == 2 and w.sum() == 0  # one vortex, one antivortex
    assert w[8, 6] == 1 and w[15, 17] == -1
    assert np.abs(defects(np.full((L, L), 1.3))).sum() == 0
