"""Models behind two protocols, the built-in architectures, and the checks at the boundary.

**Sequence model** (all the suite and ``train`` need)::

    model = Class(input_size=I, hidden_size=H, output_size=O, **model_kw)   # a torch.nn.Module
    out = model(inputs)          # inputs [B, T, I] float -> logits [B, T, O], or (logits, states)

**Recurrent interface** (what the analysis needs, on top)::

    h = model.step(h, x)         # one update: h [B, S], x [B, I] -> [B, S] (real-valued states)
    logits = model.readout(h, x) # [B, S] (+ the step's input [B, I]) -> [B, O]
    h0 = model.initial_state(B)  # [B, S]
    model.state_size             # S

A model may also define ``logits(inputs)``: the same logits without the analysis states, which
training and evaluation then call (`predict()`); the built-in LSTM and Mamba do, because their
states cost extra work (the LSTM's cell, Mamba's conv window). `check_sequence_model()`
refuses a ``logits`` that disagrees with ``forward``.

``forward`` then returns ``(logits, states)`` with ``states[:, t]`` equal to ``step`` iterated from
``initial_state`` (checked to 1e-5). ``readout`` takes the step's input because some models have an
input skip (the LRU's ``D·u``, Mamba's gate); a model without one may define ``readout(h)`` alone
(`readout_of()` calls either form). Complex states are
exposed as real ``[Re, Im]`` halves. `require_recurrent()` checks the interface where an
analysis needs it and names the missing method and the analysis.

Built-ins (short names): ``rnn``, ``gru``, ``lstm``, ``linear`` (`.classic`),
``transformer`` (`.transformer`), ``lru`` (`.lru`), ``mingru`` (`.mingru`) and
``mamba`` (`.mamba`); any other model is ``module:Class``, imported from the current
directory or the path.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ta_envs import Task
from ta_envs.validation import InvalidType, InvalidValue

from .protocols import RecurrentModel as RecurrentModel
from .protocols import SequenceModel as SequenceModel


@dataclass(frozen=True)
class Builtin:
    """A built-in architecture: where it lives, whether it takes ``init``/``gain``, its paper."""

    module: str
    cls: str
    init_options: bool
    recurrent: bool
    paper: str


BUILTIN: dict[str, Builtin] = {
    "rnn": Builtin("baselines.models.classic", "ElmanRNN", True, True, "Elman 1990"),
    "gru": Builtin("baselines.models.classic", "GRU", True, True, "Cho et al. 2014"),
    "lstm": Builtin("baselines.models.classic", "LSTM", True, True, "Hochreiter & Schmidhuber 1997"),
    "linear": Builtin("baselines.models.classic", "LinearRNN", True, True, "Proca et al. 2025"),
    "transformer": Builtin("baselines.models.transformer", "Transformer", False, False,
                           "Vaswani et al. 2017; RoPE: Su et al. 2021"),
    "lru": Builtin("baselines.models.lru", "LRU", False, True, "Orvieto et al. 2023"),
    "mingru": Builtin("baselines.models.mingru", "MinGRU", False, True, "Feng et al. 2024"),
    "mamba": Builtin("baselines.models.mamba", "Mamba", False, True, "Gu & Dao 2023"),
}
RECURRENT_METHODS = ("step", "readout", "initial_state")


class ModelError(InvalidValue):
    """A model that breaks the protocol (wrong signature, shape, dtype; an exception inside)."""


def _is_user(arch: str) -> bool:
    return arch not in BUILTIN


def _check_arch_name(arch: str) -> None:
    if arch in BUILTIN:
        return
    mod, sep, cls = arch.partition(":")
    if not sep or not mod or not cls or not all(p.isidentifier() for p in mod.split(".")) \
            or not cls.isidentifier():
        raise InvalidValue(f"arch must be one of {sorted(BUILTIN)} or 'module:Class', got {arch!r}")


def check_arch_options(arch: str, init: str | None, gain: float | None,
                       model_kw: Mapping[str, Any]) -> None:
    """Refuse options an architecture would not apply, without importing a user module:
    ``init``/``gain`` only for built-ins that take them; ``model_kw`` keys a built-in does not
    accept."""
    _check_arch_name(arch)
    _check_model_kw_keys(model_kw)
    if _is_user(arch):
        if init is not None or gain is not None:
            raise InvalidValue(f"init/gain apply to the built-ins {builtins_with_init()} only; "
                               f"{arch!r} is a user model: pass its own options with model_kw "
                               "(--model-kw key=value)")
        return
    spec = BUILTIN[arch]
    if not spec.init_options and (init is not None or gain is not None):
        raise InvalidValue(f"init/gain do not apply to {arch!r} (it has its own parametrisation); "
                           f"they exist for {builtins_with_init()}")
    accepted = [p for p in inspect.signature(resolve_arch(arch)).parameters
                if p not in RESERVED_KW and p != "self"]
    bad = [k for k in model_kw if k not in accepted]
    if bad:
        raise InvalidValue(f"model_kw {bad} not accepted by {arch!r}; it takes {accepted}")


#: Keyword arguments the model builder sets itself (never through ``model_kw``).
RESERVED_KW = frozenset({"input_size", "hidden_size", "output_size", "generator", "init", "gain"})


def _check_model_kw_keys(model_kw: Mapping[str, Any]) -> None:
    for k in model_kw:
        if not isinstance(k, str) or not k.isidentifier():
            raise InvalidValue(f"model_kw keys must be identifiers, got {k!r}")
    clash = sorted(RESERVED_KW & set(model_kw))
    if clash:
        raise InvalidValue(f"model_kw must not set {clash}: use the dedicated options")


def builtins_with_init() -> list[str]:
    """The built-ins that take ``init`` and ``gain``."""
    return [k for k, v in BUILTIN.items() if v.init_options]


def resolve_arch(arch: str) -> type[nn.Module]:
    """The class of a built-in name or of ``module:Class`` (imported from the current directory
    first, then the path). ``InvalidValue`` naming what failed."""
    _check_arch_name(arch)
    if arch in BUILTIN:
        b = BUILTIN[arch]
        return getattr(importlib.import_module(b.module), b.cls)
    mod_name, _, cls_name = arch.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        cls = getattr(importlib.import_module(mod_name), cls_name)
    except ModuleNotFoundError as err:
        raise InvalidValue(f"arch {arch!r}: cannot import {mod_name!r} ({err}); is {mod_name}.py in "
                           f"the current directory ({cwd}) or on PYTHONPATH?") from None
    except AttributeError:
        raise InvalidValue(f"arch {arch!r}: module {mod_name!r} has no {cls_name!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise InvalidValue(f"arch {arch!r} is not a torch.nn.Module subclass")
    return cls


def build_model(arch: str, input_size: int, hidden_size: int, output_size: int,
                generator: torch.Generator | None = None, init: str | None = None,
                gain: float | None = None, **model_kw: Any) -> nn.Module:
    """Instantiate ``arch`` and check it as a sequence model (and, when it has ``step``, that
    iterating it reproduces ``forward``). A user model draws its initial weights from torch's
    global generator, seeded from ``generator``.

    Args:
        arch: a built-in name (see ``BUILTIN``) or ``module:Class``.
        input_size: input features per step.
        hidden_size: the state width (units per layer).
        output_size: output logits per step.
        generator: the seeded generator the weights are drawn from.
        init: the recurrent weights' initialisation (built-ins that take it).
        gain: its gain.
        **model_kw: further keyword arguments of the architecture.

    Returns:
        The model, checked.

    Raises:
        ValueError: an unknown architecture, options it does not take, or a model that breaks the
            sequence-model contract (the broken part is named).
    """
    check_arch_options(arch, init, gain, model_kw)
    cls = resolve_arch(arch)
    if _is_user(arch):
        if generator is not None:
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
        try:
            model = cls(input_size=input_size, hidden_size=hidden_size, output_size=output_size,
                        **model_kw)
        except TypeError as err:
            try:  # the arguments fit the signature: the error is about a value, not the names
                inspect.signature(cls).bind(input_size=input_size, hidden_size=hidden_size,
                                            output_size=output_size, **model_kw)
            except TypeError:
                raise ModelError(f"{arch}: constructor must accept (input_size=, hidden_size=, "
                                 f"output_size=, **model_kw); calling it raised TypeError: "
                                 f"{err}") from None
            raise ModelError(f"{arch}: a model_kw value was refused: "
                             f"{', '.join(f'{k}={v!r}' for k, v in model_kw.items())} raised "
                             f"TypeError: {err}") from None
    else:
        kw = dict(model_kw)
        if BUILTIN[arch].init_options:
            if init is not None:
                kw["init"] = init
            if gain is not None:
                kw["gain"] = gain
        model = cls(input_size, hidden_size, output_size, generator=generator, **kw)
    check_sequence_model(model, input_size, output_size, name=arch)
    if has_recurrent_interface(model):
        check_step_matches_forward(model, input_size, name=arch)
    return model


def logits_of(out: Any) -> Tensor:
    """The logits of a forward's return value (a tensor, or the first of a tuple)."""
    return out[0] if isinstance(out, tuple) else out


def predict(model: Any, inputs: Tensor, chunk: int | None = None) -> Tensor:
    """Logits ``[B, T, O]`` of ``inputs [B, T, I]``: ``model.logits(inputs)`` where the model
    defines it (no analysis states), else the logits of ``model(inputs)``; ``chunk``: at most
    that many sequences per call (the same logits, smaller intermediates)."""
    fast = getattr(model, "logits", None)
    f = fast if callable(fast) else (lambda x: logits_of(model(x)))
    if chunk is None or chunk >= len(inputs):
        return f(inputs)
    return torch.cat([f(inputs[i : i + chunk]) for i in range(0, len(inputs), chunk)])


def eval_chunk(model: Any) -> int | None:
    """The model's optional ``eval_chunk`` (sequences per evaluation call; None: all in one).
    ``ModelError`` unless it is a positive int or None."""
    chunk = getattr(model, "eval_chunk", None)
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ModelError(f"{type(model).__name__}.eval_chunk must be a positive int or None, "
                         f"got {chunk!r}")
    return chunk


def check_sequence_model(model: Any, input_size: int, output_size: int, name: str = "model",
                         task: str | None = None) -> None:
    """``ModelError`` (one line naming the model, the task and what was expected) unless
    ``model(inputs [2, 3, I])`` returns finite float logits ``[2, 3, O]``."""
    where = f"{name}" + (f" on {task}" if task else "")
    if not isinstance(model, nn.Module):
        raise InvalidType(f"{where}: must be a torch.nn.Module, got {type(model).__name__}")
    p = next(model.parameters(), None)
    dev = p.device if p is not None else torch.device("cpu")
    dtype = p.dtype if p is not None and p.is_floating_point() else torch.float32
    x = torch.zeros(2, 3, input_size, device=dev, dtype=dtype)
    x[:, :, 0] = 1.0
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as err:  # the user's forward: report it on one line
        raise ModelError(f"{where}: forward(inputs [2, 3, {input_size}]) raised "
                         f"{type(err).__name__}: {err}") from None
    logits = logits_of(out)
    if not isinstance(logits, Tensor):
        raise ModelError(f"{where}: forward must return logits [B, T, {output_size}] or (logits, "
                         f"states), got {type(logits).__name__}")
    if tuple(logits.shape) != (2, 3, output_size):
        raise ModelError(f"{where}: forward logits have shape {tuple(logits.shape)}, expected "
                         f"(2, 3, {output_size}) for inputs [2, 3, {input_size}]")
    if not logits.is_floating_point():
        raise ModelError(f"{where}: forward logits must be floating point, got {logits.dtype}")
    if not torch.isfinite(logits).all():
        raise ModelError(f"{where}: forward returned non-finite logits on a plain input")
    fast = getattr(model, "logits", None)
    if callable(fast):
        x = torch.rand(2, 5, input_size, generator=torch.Generator().manual_seed(0)).to(x)
        try:
            with torch.no_grad():
                same = torch.allclose(fast(x), logits_of(model(x)), atol=1e-5, rtol=1e-4)
        except Exception as err:
            raise ModelError(f"{where}: logits(inputs [2, 5, {input_size}]) raised "
                             f"{type(err).__name__}: {err}") from None
        if not same:
            raise ModelError(f"{where}: logits(inputs) must return forward's logits (training "
                             "and evaluation call it in place of forward); it does not")
    eval_chunk(model)


def readout_of(model: Any, h: Tensor, x: Tensor | None) -> Tensor:
    """``model.readout(h, x)``, or ``model.readout(h)`` for a readout without the input
    argument."""
    try:
        params = inspect.signature(model.readout).parameters
    except (TypeError, ValueError):
        return model.readout(h, x)
    takes_x = len(params) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params.values())
    return model.readout(h, x) if takes_x else model.readout(h)


def has_recurrent_interface(model: Any) -> bool:
    """Whether ``model`` has ``step``, ``readout``, ``initial_state`` and an int ``state_size``."""
    return all(callable(getattr(model, m, None)) for m in RECURRENT_METHODS) and \
        isinstance(getattr(model, "state_size", None), int)


def require_recurrent(model: Any, analysis: str) -> RecurrentModel:
    """``model`` typed as a `RecurrentModel`; ``InvalidType`` naming what ``analysis`` needs
    that it lacks."""
    missing = [m for m in RECURRENT_METHODS if not callable(getattr(model, m, None))]
    if not isinstance(getattr(model, "state_size", None), int):
        missing.append("state_size (an int)")
    if missing:
        raise InvalidType(f"{analysis} needs the recurrent interface (step(h, x), readout(h, x), "
                          f"initial_state(B), state_size): {type(model).__name__} lacks "
                          f"{', '.join(missing)}. It iterates the state update itself, so a "
                          "forward-only model cannot be analysed this way.")
    recurrent: RecurrentModel = model
    return recurrent


def check_step_matches_forward(model: Any, input_size: int, name: str = "model",
                               atol: float = 1e-5) -> None:
    """``ModelError`` unless ``step`` iterated from ``initial_state`` reproduces ``forward``'s
    states and ``readout`` its logits (random inputs, ``atol``)."""
    require_recurrent(model, "the suite's protocol check")
    B, T, S = 2, 5, model.state_size
    g = torch.Generator().manual_seed(0)
    p = next(model.parameters())
    x = torch.rand(B, T, input_size, generator=g).to(device=p.device, dtype=p.dtype)
    try:
        with torch.no_grad():
            out = model(x)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise ModelError(f"{name}: a model with step() must return (logits, states) from "
                                 "forward")
            logits, states = out
            h0 = model.initial_state(B)
            if tuple(h0.shape) != (B, S) or tuple(states.shape) != (B, T, S):
                raise ModelError(f"{name}: initial_state(B) has shape {tuple(h0.shape)} and forward "
                                 f"states {tuple(states.shape)}; expected ({B}, {S}) and "
                                 f"({B}, {T}, {S})")
            h = h0
            for t in range(T):
                h = model.step(h, x[:, t])
                if tuple(h.shape) != (B, S):
                    raise ModelError(f"{name}: step(h, x) returned shape {tuple(h.shape)}, "
                                     f"expected {(B, S)}")
                if not torch.allclose(h, states[:, t], atol=atol, rtol=1e-4):
                    raise ModelError(f"{name}: step() iterated from initial_state() does not "
                                     f"reproduce forward()'s states at t={t}")
                r = readout_of(model, h, x[:, t])
                if not torch.allclose(r, logits[:, t], atol=atol, rtol=1e-4):
                    raise ModelError(f"{name}: readout(states[:, t], x[:, t]) does not reproduce "
                                     f"forward()'s logits at t={t}")
    except ModelError:
        raise
    except Exception as err:
        raise ModelError(f"{name}: step/readout raised {type(err).__name__}: {err}") from None


def head_spec(task: Task) -> tuple[int, str]:
    """``(output_size, loss)``: one logit per binary channel with BCE, else K logits with CE."""
    if task.target_channels is not None:
        if task.target_channels.max() > 1:
            raise InvalidValue(f"task {task.name}: multi-class target channels are not supported")
        return int(task.target_channels.shape[1]), "bce"
    K = task.automaton.num_classes
    return (1, "bce") if K == 2 else (K, "ce")


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (complex ones count twice)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters()
               if p.requires_grad)


def recurrent_block(model: nn.Module) -> Tensor | None:
    """The square recurrent matrix ``[H, H]``: W_hh for Elman/linear networks, the candidate block
    for a GRU, the cell block for an LSTM (``None`` for models without one)."""
    w = getattr(model, "recurrent_weight", None)
    if w is None:
        return None
    H = w.shape[1]
    block = w[2 * H : 3 * H] if w.shape[0] in (3 * H, 4 * H) else w  # GRU candidate / LSTM cell
    return block.detach() if block.shape[0] == block.shape[1] else None


def spectral_radius(model: nn.Module) -> float | None:
    """Largest eigenvalue modulus of `recurrent_block()` (None without one)."""
    block = recurrent_block(model)
    if block is None:
        return None
    return float(torch.linalg.eigvals(block.double().cpu()).abs().max())


def width_for_budget(arch: str, budget: int, input_size: int, output_size: int,
                     model_kw: Mapping[str, Any] | None = None, max_width: int = 4096
                     ) -> tuple[int, int]:
    """``(hidden_size, parameters)``: the largest width whose parameter count is at most
    ``budget`` (widths the architecture refuses, e.g. not a multiple of its heads, are skipped)."""
    kw = dict(model_kw or {})
    cls = resolve_arch(arch)

    def count(h: int) -> int | None:
        try:
            m = (cls(input_size, h, output_size, **kw) if not _is_user(arch) else
                 cls(input_size=input_size, hidden_size=h, output_size=output_size, **kw))
        except (ValueError, TypeError):
            return None
        return count_parameters(m)

    best: tuple[int, int] | None = None
    lo, hi = 1, max_width
    while lo <= hi:  # parameter counts grow with width: bisect, then scan down for a valid width
        mid = (lo + hi) // 2
        c = count(mid)
        probe = mid
        while c is None and probe > lo:
            probe -= 1
            c = count(probe)
        if c is not None and c <= budget:
            best = (probe, c)
            lo = mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise InvalidValue(f"no width of {arch!r} fits a budget of {budget:,} parameters")
    return best
