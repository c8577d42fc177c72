"""The classic recurrent networks: the paper's Elman RNN, GRU, LSTM and the linear RNN of the
learning-dynamics theory. Each implements the recurrent interface (``step``, ``readout``,
``initial_state``, ``state_size``) and takes ``init`` ("default": PyTorch's U(-1/sqrt(H), 1/sqrt(H));
"orthogonal": each H x H block of the recurrent matrix orthogonal times ``gain``).

- Elman 1990, *Finding structure in time* (``rnn``: tanh);
- Cho et al. 2014, *Learning phrase representations using RNN encoder-decoder* (``gru``);
- Hochreiter & Schmidhuber 1997, *Long short-term memory* (``lstm``; state ``[h, c]``);
- Proca et al. 2025, *Learning dynamics in linear recurrent neural networks* (``linear``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ta_envs.validation import check_choice, check_float, check_int

from .scan import sequential


def _uniform_(params: Sequence[Tensor], bound: float, generator: torch.Generator | None) -> None:
    with torch.no_grad():
        for p in params:
            p.uniform_(-bound, bound, generator=generator)


def _p(module: nn.Module, name: str) -> Tensor:
    """A parameter of a torch recurrent module by name (typed: torch resolves these at runtime)."""
    value = getattr(module, name)
    assert isinstance(value, Tensor)
    return value


class _Base(nn.Module):
    """Common pieces: a linear readout from (the h part of) the state and a zero initial state."""

    state_size: int

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("output_size", output_size)):
            check_int(name, v, 1)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.state_size = hidden_size
        self.head = nn.Linear(hidden_size, output_size)

    def readout(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """Logits ``[B, O]`` from the state ``[B, S]`` (``x`` is not used)."""
        return self.head(h[..., : self.hidden_size])

    def initial_state(self, batch_size: int) -> Tensor:
        """The zero state ``[B, S]``."""
        p = next(self.parameters())
        return torch.zeros(batch_size, self.state_size, dtype=p.dtype, device=p.device)

    @property
    def recurrent_weight(self) -> Tensor | None:
        """The hidden-to-hidden matrix whose spectral radius training logs (None if none)."""
        return None


class ElmanRNN(_Base):
    """``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)``; the paper's network.

    ``init="default"`` is PyTorch's U(-1/√H, 1/√H); ``init="orthogonal"`` draws W_hh orthogonal
    times ``gain`` (the other weights keep the default). Forward runs ``torch.nn.RNN`` (the faster
    of it and a Python loop; see ``benchmarks/bench_train.py``)."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 init: str = "orthogonal", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True, nonlinearity="tanh")
        _init_recurrent(self, self.rnn, init, gain, generator)

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, H])`` from ``h0`` (zeros if None)."""
        states, _ = self.rnn(inputs, None if h0 is None else h0[None].contiguous())
        return self.head(states), states

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One update ``h [B, H], x [B, I] -> [B, H]``."""
        r = self.rnn
        return torch.tanh(x @ _p(r, "weight_ih_l0").T + _p(r, "bias_ih_l0")
                          + h @ _p(r, "weight_hh_l0").T + _p(r, "bias_hh_l0"))

    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """``[B, H, H]`` Jacobian of `step()` in ``h``: ``diag(1 − h'²) W_hh``."""
        hn = self.step(h, x)
        return (1 - hn**2)[..., :, None] * _p(self.rnn, "weight_hh_l0")

    def step_speed_grad(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(q [B], dq/dh [B, H])`` of the speed ``q = ½‖step(h, x) − h‖²``, in closed form:
        ``dq/dh = W_hhᵀ((1 − h'²) ⊙ r) − r`` with ``r = h' − h``."""
        hn = self.step(h, x)
        res = hn - h
        return 0.5 * (res**2).sum(-1), ((1 - hn**2) * res) @ _p(self.rnn, "weight_hh_l0") - res

    @property
    def recurrent_weight(self) -> Tensor:
        """The hidden-to-hidden weights (all gate blocks stacked)."""
        return _p(self.rnn, "weight_hh_l0")


class GRU(_Base):
    """``torch.nn.GRU`` with PyTorch's gate equations; ``step`` reproduces one update exactly."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 init: str = "orthogonal", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        _init_recurrent(self, self.rnn, init, gain, generator)

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, H])`` from ``h0`` (zeros if None)."""
        states, _ = self.rnn(inputs, None if h0 is None else h0[None].contiguous())
        return self.head(states), states

    def _gates(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(gh [B, 3H], σ(reset, update) [B, 2H], new [B, H])`` of one update (PyTorch's GRU
        equations), shared by `step()` and its closed-form derivatives."""
        r, H = self.rnn, self.hidden_size
        gi = x @ _p(r, "weight_ih_l0").T + _p(r, "bias_ih_l0")
        gh = h @ _p(r, "weight_hh_l0").T + _p(r, "bias_hh_l0")
        rz = torch.sigmoid(gi[..., : 2 * H] + gh[..., : 2 * H])
        new = torch.tanh(torch.addcmul(gi[..., 2 * H :], rz[..., :H], gh[..., 2 * H :]))
        return gh, rz, new

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One update ``h [B, H], x [B, I] -> [B, H]`` (PyTorch's GRU equations)."""
        _, rz, new = self._gates(h, x)
        update = rz[..., self.hidden_size :]
        return (1 - update) * new + update * h

    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """``[B, H, H]`` Jacobian of `step()` in ``h``, in closed form."""
        H, W = self.hidden_size, _p(self.rnn, "weight_hh_l0")
        gh, rz, new = self._gates(h, x)
        reset, update = rz[..., :H], rz[..., H:]
        d_reset = (reset * (1 - reset))[..., :, None] * W[:H]
        d_update = (update * (1 - update))[..., :, None] * W[H : 2 * H]
        d_new = (1 - new**2)[..., :, None] * (reset[..., :, None] * W[2 * H :]
                                                + gh[..., 2 * H :, None] * d_reset)
        eye = torch.eye(H, dtype=h.dtype, device=h.device)
        return ((1 - update)[..., :, None] * d_new + (h - new)[..., :, None] * d_update
                + update[..., :, None] * eye)

    def step_speed_grad(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(q [B], dq/dh [B, H])`` of the speed ``q = ½‖step(h, x) − h‖²``, in closed form
        (``(J − I)ᵀ r`` with ``r = step(h, x) − h``, one matrix product through the gates)."""
        H = self.hidden_size
        gh, rz, new = self._gates(h, x)
        reset, update = rz[..., :H], rz[..., H:]
        step = new - h
        res = (1 - update) * step
        a = (1 - update) * res
        d_new = a - a * new * new  # (1 − n²) ⊙ (1 − z) ⊙ r
        d = torch.cat([rz * (1 - rz) * torch.cat([gh[..., 2 * H :] * d_new, -step * res], dim=-1),
                       reset * d_new], dim=-1)
        return 0.5 * (res * res).sum(-1), d @ _p(self.rnn, "weight_hh_l0") - a

    @property
    def recurrent_weight(self) -> Tensor:
        """The hidden-to-hidden weights (all gate blocks stacked)."""
        return _p(self.rnn, "weight_hh_l0")


class LSTM(_Base):
    """``torch.nn.LSTM``; the state is ``[h, c]`` (size 2H), so fixed points live in the full state.

    ``forward`` runs the fused LSTM for ``h_t`` and recovers ``c_t`` exactly from the gates (which
    depend only on ``x_t`` and the known ``h_{t-1}``); the returned states are detached (they are
    for analysis, and the logits carry the gradient)."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 init: str = "orthogonal", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.state_size = 2 * hidden_size
        self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        _init_recurrent(self, self.rnn, init, gain, generator)

    def _gates(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        r, H = self.rnn, self.hidden_size
        g = (x @ _p(r, "weight_ih_l0").T + _p(r, "bias_ih_l0")
             + h @ _p(r, "weight_hh_l0").T + _p(r, "bias_hh_l0"))
        return (torch.sigmoid(g[..., :H]), torch.sigmoid(g[..., H : 2 * H]),
                torch.tanh(g[..., 2 * H : 3 * H]), torch.sigmoid(g[..., 3 * H :]))

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, 2H])``: the fused LSTM's ``h`` and the cell ``c``."""
        H = self.hidden_size
        state0 = self.initial_state(len(inputs)) if h0 is None else h0
        h_init, c_init = state0[:, :H], state0[:, H:]
        hs = self._hidden(inputs, state0)
        with torch.no_grad():  # the states are for analysis: c_t costs no autograd graph
            prev_h = torch.cat([h_init[:, None], hs[:, :-1]], dim=1)
            i, f, g, _ = self._gates(prev_h, inputs)
            cs = sequential(f, i * g, c_init.detach())
            states = torch.cat([hs.detach(), cs], dim=-1)
        return self.head(hs), states

    def _hidden(self, inputs: Tensor, state0: Tensor) -> Tensor:
        """The fused LSTM's ``h_t [B, T, H]`` from the state ``[h, c] [B, 2H]``."""
        H = self.hidden_size
        hs, _ = self.rnn(inputs, (state0[None, :, :H].contiguous(),
                                  state0[None, :, H:].contiguous()))
        return hs

    def logits(self, inputs: Tensor) -> Tensor:
        """``forward``'s logits ``[B, T, O]`` alone (the fused LSTM, no cell states)."""
        return self.head(self._hidden(inputs, self.initial_state(len(inputs))))

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One update of ``[h, c] [B, 2H]`` with input ``x [B, I]``."""
        _, _, _, o, _, cn, tc = self._step_parts(h, x)
        return torch.cat([o * tc, cn], dim=-1)

    def _step_parts(self, s: Tensor, x: Tensor) -> tuple[Tensor, ...]:
        """``(i, f, g, o, c, c', tanh c')`` of one update of ``s = [h, c]``."""
        H = self.hidden_size
        i, f, g, o = self._gates(s[..., :H], x)
        c = s[..., H:]
        cn = f * c + i * g
        return i, f, g, o, c, cn, torch.tanh(cn)

    def step_jacobian(self, s: Tensor, x: Tensor) -> Tensor:
        """``[B, 2H, 2H]`` Jacobian of `step()` in ``[h, c]``, in closed form."""
        H = self.hidden_size
        W = _p(self.rnn, "weight_hh_l0")
        i, f, g, o, c, cn, tc = self._step_parts(s, x)
        col = lambda v: v[..., :, None]  # noqa: E731
        dc_dh = (col(g * i * (1 - i)) * W[:H] + col(c * f * (1 - f)) * W[H : 2 * H]
                 + col(i * (1 - g * g)) * W[2 * H : 3 * H])
        do = o * (1 - tc * tc)
        dh_dh = col(tc * o * (1 - o)) * W[3 * H :] + col(do) * dc_dh
        top = torch.cat([dh_dh, torch.diag_embed(do * f)], dim=-1)
        return torch.cat([top, torch.cat([dc_dh, torch.diag_embed(f)], dim=-1)], dim=-2)

    def step_speed_grad(self, s: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(q [B], dq/ds [B, 2H])`` of the speed ``q = ½‖step(s, x) − s‖²``, in closed form
        (``(J − I)ᵀ r``: the adjoint of ``c'`` through the four gates, one matrix product)."""
        H = self.hidden_size
        i, f, g, o, c, cn, tc = self._step_parts(s, x)
        r_h, r_c = o * tc - s[..., :H], cn - c
        a = o * (1 - tc * tc) * r_h + r_c  # adjoint of c'
        d = torch.cat([g * i * (1 - i) * a, c * f * (1 - f) * a, i * (1 - g * g) * a,
                       tc * o * (1 - o) * r_h], dim=-1)
        q = 0.5 * ((r_h * r_h).sum(-1) + (r_c * r_c).sum(-1))
        return q, torch.cat([d @ _p(self.rnn, "weight_hh_l0") - r_h, f * a - r_c], dim=-1)

    @property
    def recurrent_weight(self) -> Tensor:
        """The hidden-to-hidden weights (all gate blocks stacked)."""
        return _p(self.rnn, "weight_hh_l0")


class LinearRNN(_Base):
    """``h_t = W h_{t-1} + F x_t`` (no bias, no nonlinearity), readout ``H h_t``: the model of the
    linear-RNN learning-dynamics theory. ``init="orthogonal"``: W orthogonal × gain; default W, F
    ~ U(-1/√H, 1/√H)."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 init: str = "orthogonal", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.W = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.F = nn.Parameter(torch.empty(hidden_size, input_size))
        bound = 1 / math.sqrt(hidden_size)
        _uniform_([self.W, self.F, self.head.weight, self.head.bias], bound, generator)
        check_choice("init", init, ("default", "orthogonal"))
        if init == "orthogonal":
            with torch.no_grad():
                nn.init.orthogonal_(self.W, gain=check_float("gain", gain, above=0.0),
                                    generator=generator)

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(logits [B, T, O], states [B, T, H])`` from ``h0`` (zeros if None)."""
        fx = inputs @ self.F.T
        h = self.initial_state(inputs.shape[0]) if h0 is None else h0
        hs = []
        for t in range(inputs.shape[1]):
            h = h @ self.W.T + fx[:, t]
            hs.append(h)
        states = torch.stack(hs, dim=1)
        return self.head(states), states

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One update ``h [B, H], x [B, I] -> W h + F x``."""
        return h @ self.W.T + x @ self.F.T

    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """``[B, H, H]``: ``W`` for every state."""
        return self.W.expand(h.shape[0], -1, -1)

    @property
    def recurrent_weight(self) -> Tensor:
        """``W``."""
        return self.W


def _init_recurrent(model: _Base, rnn: nn.RNNBase, init: str, gain: float,
                    generator: torch.Generator | None) -> None:
    """PyTorch's default U(-1/√H, 1/√H) for every weight, drawn from ``generator``; with
    ``init="orthogonal"`` each H x H block of W_hh is orthogonal × ``gain``."""
    check_choice("init", init, ("default", "orthogonal"))
    check_float("gain", gain, above=0.0)
    bound = 1 / math.sqrt(model.hidden_size)
    _uniform_(list(rnn.parameters()) + list(model.head.parameters()), bound, generator)
    if init == "orthogonal":
        H = model.hidden_size
        with torch.no_grad():
            w = _p(rnn, "weight_hh_l0")
            for k in range(w.shape[0] // H):
                nn.init.orthogonal_(w[k * H : (k + 1) * H], gain=gain, generator=generator)
