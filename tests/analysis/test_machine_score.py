"""The machine score on constructed networks with known answers: a network whose state is the
task's minimal machine scores 1; a network that is right at the training length by counting from
the start (a clock that saturates) scores far below 1 on 4x sequences; an untrained one is low."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from analysis.machine import machine_score  # noqa: E402
from baselines.models import build_model  # noqa: E402
from ta_envs import Task, make_dataset, make_task  # noqa: E402


class ExactMachine(torch.nn.Module):
    """State = one-hot of the minimal machine's state; a step is the minimal transition."""

    def __init__(self, task: Task) -> None:
        super().__init__()
        comp = task.automaton.compiled
        cls, M = comp.minimal_class, comp.num_minimal
        first = np.full(M, -1)
        first[cls[::-1]] = np.arange(len(cls))[::-1]
        self.register_buffer("delta", torch.as_tensor(cls[comp.next_config[first]]))
        self.M, self.state_size, self.start = M, M, int(cls[0])
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def initial_state(self, batch_size: int) -> torch.Tensor:
        h = torch.zeros(batch_size, self.M)
        h[:, self.start] = 1
        return h

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        nxt = self.delta[h.argmax(1), x.argmax(1)]
        return torch.nn.functional.one_hot(nxt, self.M).to(h.dtype)

    def readout(self, h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        return torch.zeros(len(h), 2, dtype=h.dtype)


class SaturatingClock(torch.nn.Module):
    """TemporalFlipFlop solved by counting steps from the start: state = (bit, min(t, T)). Right
    for the first T steps; after T the count saturates and the time of day is lost."""

    def __init__(self, period: int, horizon: int) -> None:
        super().__init__()
        self.P, self.T = period, horizon
        self.state_size = 2 + horizon + 1
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def initial_state(self, batch_size: int) -> torch.Tensor:
        h = torch.zeros(batch_size, self.state_size)
        h[:, 0] = 1
        h[:, 2] = 1
        return h

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        bit, t = h[:, :2].argmax(1), h[:, 2:].argmax(1)
        theta = ((t % self.P) >= self.P // 2).long()
        is_a = x[:, 0] > 0.5  # symbol a (one-hot index 0)
        new_bit = torch.where(is_a, theta, torch.zeros_like(bit))
        new_t = torch.clamp(t + 1, max=self.T)
        F = torch.nn.functional.one_hot
        return torch.cat([F(new_bit, 2), F(new_t, self.T + 1)], 1).to(h.dtype)

    def readout(self, h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        return torch.nn.functional.one_hot(h[:, :2].argmax(1), 2).to(h.dtype)


@pytest.mark.parametrize("task", [make_task("TemporalFlipFlop-v0", period=6),
                                  make_task("RelativeTimingFlipFlop-v0", tau=3),
                                  make_task("WordProblem-v0", group="S3", period=4),
                                  make_task("RandomAutomaton-v0", configurations=20, seed=2)])
def test_a_network_that_is_the_minimal_machine_scores_one(task):
    res = machine_score(ExactMachine(task), task, batch=32, seed=1)
    assert res.score == 1.0 and res.represented == 1.0 and res.transitions == 1.0
    assert res.num_minimal == task.automaton.compiled.num_minimal


def test_counting_from_the_start_is_right_at_1x_but_not_the_machine():
    task = make_task("TemporalFlipFlop-v0", period=6)  # episode 24 steps
    net = SaturatingClock(6, 24)
    b = next(make_dataset(task, batch_size=16, seq_len=24, seed=0))
    h, outs = net.initial_state(16), []
    for t in range(24):
        h = net.step(h, torch.as_tensor(b.inputs[:, t]))
        outs.append(net.readout(h).argmax(1).numpy())
    assert (np.stack(outs, 1) == b.targets).all()  # perfect at the training length
    res = machine_score(net, task, batch=32, seed=1)  # 4x: 96 steps
    assert res.score < 0.5 and res.represented < 0.5
    short = machine_score(net, task, batch=32, length=24, seed=1)
    assert short.score > 0.9  # within its horizon it does implement the machine


def test_an_untrained_network_does_not_score_high():
    task = make_task("TemporalFlipFlop-v0", period=6)
    gru = build_model("gru", 2, 16, 2, generator=torch.Generator().manual_seed(0))
    res = machine_score(gru, task, batch=32, seed=1)
    assert res.score < 0.5
    d = res.to_dict()
    assert len(d["recall"]) == res.num_minimal == 6 and 0 <= d["score"] <= 1


@pytest.mark.slow
def test_a_trained_flip_flop_network_represents_every_state():
    from pathlib import Path

    from baselines.models.classic import ElmanRNN

    data = Path(__file__).resolve().parents[1] / "data" / "flipflop_rnn64.npz"
    net = ElmanRNN(3, 64, 3)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in np.load(data).items()})
    res = machine_score(net, make_task("FlipFlop-v0"), batch=32, seed=0)
    assert res.num_minimal == 8 and res.represented == 1.0  # the 8 corners of the cube
    assert res.score > 0.9
