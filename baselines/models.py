"""Reference recurrent models behind one protocol the training and analysis code rely on.

Protocol (also what a user architecture given as ``module:Class`` must satisfy)::

    model = Class(input_size=I, hidden_size=H, output_size=O)    # a torch.nn.Module
    logits, states = model(inputs)      # inputs [B, T, I] -> logits [B, T, O], states [B, T, S]
    h = model.step(h, x)                # one recurrent update: h [B, S], x [B, I] -> [B, S]
    logits = model.readout(h)           # [B, S] -> [B, O]
    h0 = model.initial_state(B)         # [B, S]
    model.state_size                    # S (H, or 2H for the LSTM's [h, c])

``states[:, t]`` must equal ``step`` iterated from ``initial_state`` (checked by
:func:`check_model`). Output heads: one logit per binary target channel (BCE), ``K`` logits for a
K-class target (CE); see :func:`head_size`.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from ta_envs.checks import check_ints


@runtime_checkable
class RecurrentModel(Protocol):
    state_size: int

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]: ...
    def step(self, h: Tensor, x: Tensor) -> Tensor: ...
    def readout(self, h: Tensor) -> Tensor: ...
    def initial_state(self, batch_size: int) -> Tensor: ...


def _uniform_(params: list[Tensor], bound: float, generator: torch.Generator | None) -> None:
    with torch.no_grad():
        for p in params:
            p.uniform_(-bound, bound, generator=generator)


class _Base(nn.Module):
    """Common pieces: a linear readout from (the h part of) the state and a zero initial state."""

    state_size: int

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        check_ints((("input_size", input_size), ("hidden_size", hidden_size),
                    ("output_size", output_size)), 1)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.state_size = hidden_size
        self.head = nn.Linear(hidden_size, output_size)

    def readout(self, h: Tensor) -> Tensor:
        return self.head(h[..., : self.hidden_size])

    def initial_state(self, batch_size: int) -> Tensor:
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
                 init: str = "default", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True, nonlinearity="tanh")
        _init_recurrent(self, self.rnn, init, gain, generator)

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        states, _ = self.rnn(inputs, None if h0 is None else h0[None].contiguous())
        return self.head(states), states

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        r = self.rnn
        return torch.tanh(x @ r.weight_ih_l0.T + r.bias_ih_l0 + h @ r.weight_hh_l0.T + r.bias_hh_l0)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.rnn.weight_hh_l0


class GRU(_Base):
    """``torch.nn.GRU`` with PyTorch's gate equations; ``step`` reproduces one update exactly."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 init: str = "default", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.rnn = nn.GRU(input_size, hidden_size, batch_first=True)
        _init_recurrent(self, self.rnn, init, gain, generator)

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        states, _ = self.rnn(inputs, None if h0 is None else h0[None].contiguous())
        return self.head(states), states

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        r, H = self.rnn, self.hidden_size
        gi = x @ r.weight_ih_l0.T + r.bias_ih_l0
        gh = h @ r.weight_hh_l0.T + r.bias_hh_l0
        reset = torch.sigmoid(gi[..., :H] + gh[..., :H])
        update = torch.sigmoid(gi[..., H : 2 * H] + gh[..., H : 2 * H])
        new = torch.tanh(gi[..., 2 * H :] + reset * gh[..., 2 * H :])
        return (1 - update) * new + update * h

    @property
    def recurrent_weight(self) -> Tensor:
        return self.rnn.weight_hh_l0


class LSTM(_Base):
    """``torch.nn.LSTM``; the state is ``[h, c]`` (size 2H), so fixed points live in the full state.

    ``forward`` runs the fused LSTM for ``h_t`` and recovers ``c_t`` exactly from the gates (which
    depend only on ``x_t`` and the known ``h_{t-1}``)."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 init: str = "default", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.state_size = 2 * hidden_size
        self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        _init_recurrent(self, self.rnn, init, gain, generator)

    def _gates(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        r, H = self.rnn, self.hidden_size
        g = x @ r.weight_ih_l0.T + r.bias_ih_l0 + h @ r.weight_hh_l0.T + r.bias_hh_l0
        return (torch.sigmoid(g[..., :H]), torch.sigmoid(g[..., H : 2 * H]),
                torch.tanh(g[..., 2 * H : 3 * H]), torch.sigmoid(g[..., 3 * H :]))

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        B, T, _ = inputs.shape
        H = self.hidden_size
        state0 = self.initial_state(B) if h0 is None else h0
        h_init, c_init = state0[:, :H], state0[:, H:]
        hs, _ = self.rnn(inputs, (h_init[None].contiguous(), c_init[None].contiguous()))
        prev_h = torch.cat([h_init[:, None], hs[:, :-1]], dim=1)
        i, f, g, _ = self._gates(prev_h, inputs)
        cs, c = [], c_init
        for t in range(T):
            c = f[:, t] * c + i[:, t] * g[:, t]
            cs.append(c)
        return self.head(hs), torch.cat([hs, torch.stack(cs, dim=1)], dim=-1)

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        H = self.hidden_size
        i, f, g, o = self._gates(h[..., :H], x)
        c = f * h[..., H:] + i * g
        return torch.cat([o * torch.tanh(c), c], dim=-1)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.rnn.weight_hh_l0


class LinearRNN(_Base):
    """``h_t = W h_{t-1} + F x_t`` (no bias, no nonlinearity), readout ``H h_t``: the model of the
    linear-RNN learning-dynamics theory. ``init="orthogonal"``: W orthogonal × gain; default W, F
    ~ U(-1/√H, 1/√H)."""

    def __init__(self, input_size: int, hidden_size: int = 64, output_size: int = 1, *,
                 init: str = "default", gain: float = 1.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, output_size)
        self.W = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.F = nn.Parameter(torch.empty(hidden_size, input_size))
        bound = 1 / math.sqrt(hidden_size)
        _uniform_([self.W, self.F, self.head.weight, self.head.bias], bound, generator)
        if init == "orthogonal":
            with torch.no_grad():
                nn.init.orthogonal_(self.W, gain=gain, generator=generator)
        elif init != "default":
            raise ValueError(f"init must be 'default' or 'orthogonal', got {init!r}")

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        fx = inputs @ self.F.T
        h = self.initial_state(inputs.shape[0]) if h0 is None else h0
        hs = []
        for t in range(inputs.shape[1]):
            h = h @ self.W.T + fx[:, t]
            hs.append(h)
        states = torch.stack(hs, dim=1)
        return self.head(states), states

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        return h @ self.W.T + x @ self.F.T

    @property
    def recurrent_weight(self) -> Tensor:
        return self.W


def _init_recurrent(model: _Base, rnn: nn.RNNBase, init: str, gain: float,
                    generator: torch.Generator | None) -> None:
    """PyTorch's default U(-1/√H, 1/√H) for every weight, drawn from ``generator``; with
    ``init="orthogonal"`` each H x H block of W_hh is orthogonal × ``gain``."""
    if init not in ("default", "orthogonal"):
        raise ValueError(f"init must be 'default' or 'orthogonal', got {init!r}")
    bound = 1 / math.sqrt(model.hidden_size)
    _uniform_(list(rnn.parameters()) + list(model.head.parameters()), bound, generator)
    if init == "orthogonal":
        H = model.hidden_size
        with torch.no_grad():
            w = rnn.weight_hh_l0
            for k in range(w.shape[0] // H):
                nn.init.orthogonal_(w[k * H : (k + 1) * H], gain=gain, generator=generator)


BUILTIN: dict[str, type[nn.Module]] = {"rnn": ElmanRNN, "gru": GRU, "lstm": LSTM,
                                       "linear": LinearRNN}


def resolve_arch(arch: str) -> type[nn.Module]:
    """A built-in name (``rnn``, ``gru``, ``lstm``, ``linear``) or ``module:Class``."""
    if arch in BUILTIN:
        return BUILTIN[arch]
    if ":" not in arch:
        raise ValueError(f"unknown arch {arch!r}; use one of {sorted(BUILTIN)} or 'module:Class'")
    mod_name, _, cls_name = arch.partition(":")
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"arch {arch!r}: cannot import {cls_name!r} from {mod_name!r} ({err})") \
            from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"arch {arch!r} is not a torch.nn.Module subclass")
    return cls


def build_model(arch: str, input_size: int, hidden_size: int, output_size: int,
                generator: torch.Generator | None = None, **kwargs: Any) -> nn.Module:
    """Instantiate ``arch`` and check it against the protocol."""
    cls = resolve_arch(arch)
    if arch in BUILTIN:
        model = cls(input_size, hidden_size, output_size, generator=generator, **kwargs)
    else:
        if generator is not None:  # a user model draws its init from torch's global RNG
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
        model = cls(input_size=input_size, hidden_size=hidden_size, output_size=output_size,
                    **kwargs)
    check_model(model, input_size, output_size, name=arch)
    return model


def check_model(model: Any, input_size: int, output_size: int, name: str = "model") -> None:
    """Raise ``TypeError`` naming what is missing or wrong if ``model`` breaks the protocol."""
    missing = [m for m in ("forward", "step", "readout", "initial_state") if
               not callable(getattr(model, m, None))]
    if not isinstance(model, nn.Module):
        raise TypeError(f"{name}: must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(getattr(model, "state_size", None), int):
        missing.append("state_size")
    if missing:
        raise TypeError(f"{name}: the model protocol needs methods forward, step, readout, "
                        f"initial_state and an int attribute state_size; missing {missing}")
    B, T, S = 2, 3, model.state_size
    with torch.no_grad():
        x = torch.zeros(B, T, input_size)
        x[:, :, 0] = 1.0
        h0 = model.initial_state(B)
        out = model(x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{name}: forward must return (logits, states)")
        logits, states = out
        for what, got, want in (("initial_state(B)", tuple(h0.shape), (B, S)),
                                ("forward logits", tuple(logits.shape), (B, T, output_size)),
                                ("forward states", tuple(states.shape), (B, T, S))):
            if got != want:
                raise TypeError(f"{name}: {what} has shape {got}, expected {want}")
        h = h0
        for t in range(T):
            h = model.step(h, x[:, t])
            if tuple(h.shape) != (B, S):
                raise TypeError(f"{name}: step(h, x) returned shape {tuple(h.shape)}, expected "
                                f"{(B, S)}")
            if not torch.allclose(h, states[:, t], atol=1e-5, rtol=1e-4):
                raise TypeError(f"{name}: step() iterated from initial_state() does not reproduce "
                                f"forward()'s states at t={t}")
        if tuple(model.readout(h).shape) != (B, output_size):
            raise TypeError(f"{name}: readout(h) must return shape {(B, output_size)}")
        if not torch.allclose(model.readout(states[:, -1]), logits[:, -1], atol=1e-5, rtol=1e-4):
            raise TypeError(f"{name}: readout(states) does not reproduce forward()'s logits")
