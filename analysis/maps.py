"""The recurrent map ``h -> F(h, u)`` of a model, in float64, and its Jacobians.

Every dynamical analysis (fixed points, orbits, tracking, the mechanism classifier) works on a step
function ``step(h [N, S], u [N, I]) -> [N, S]``: a model's ``step`` (the recurrent interface; the
model is copied to float64 and frozen) or any callable.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from baselines.models import require_recurrent
from ta_envs.validation import InvalidType

StepFn = Callable[[Tensor, Tensor], Tensor]


class ModelMap:
    """A model's float64 step as a function, with its closed-form Jacobian when the model has one
    (an optional ``step_jacobian(h, x) -> [B, S, S]`` method; the classic cells define it), and
    ``fast_speed``: the float32 speed and its gradient in closed form when the model has an
    optional ``step_speed_grad(h, x) -> (q [B], dq/dh [B, S])`` (the tanh RNN, GRU and LSTM), else
    None."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model: Any = model  # a torch module with the recurrent interface (as_step checks)
        self.jacobian = getattr(model, "step_jacobian", None)
        self._fast: torch.nn.Module | None = None
        has = callable(getattr(model, "step_speed_grad", None))
        self.fast_speed: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]] | None = (
            self._fast_speed if has else None)

    def __call__(self, h: Tensor, x: Tensor) -> Tensor:
        """Map a batch of states ``h`` (n, H) under inputs ``x`` (n, I) to F(h, x) (n, H)."""
        return self.model.step(h, x)

    def _float32(self) -> Any:
        """A float32 copy of the model, made once."""
        if self._fast is None:
            self._fast = copy.deepcopy(self.model).float()
        return self._fast

    def fast(self, h: Tensor, x: Tensor) -> Tensor:
        """The same step in float32 (for the coarse search; results are polished in float64)."""
        return self._float32().step(h, x)

    def _fast_speed(self, h: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(q [n], dq/dh [n, H])`` of ``q = ½‖F(h, x) − h‖²`` in float32, in closed form."""
        return self._float32().step_speed_grad(h, x)


def as_step(model_or_step: Any, analysis: str = "this analysis") -> StepFn:
    """A float64 step function from a model with the recurrent interface or a callable.
    ``TypeError`` naming the missing method and the analysis that needs it."""
    if isinstance(model_or_step, torch.nn.Module):
        require_recurrent(model_or_step, analysis)
        m = copy.deepcopy(model_or_step).double().eval()
        for p in m.parameters():
            p.requires_grad_(False)
        return ModelMap(m)
    if callable(model_or_step):
        return model_or_step

    raise InvalidType(f"{analysis} needs a model with the recurrent interface or a callable "
                      f"step(h, x), got {type(model_or_step).__name__}")


def jacobians(step: StepFn, u: Tensor, h: Tensor) -> Tensor:
    """``[P, S, S]`` Jacobians ``dF/dh`` at each ``(h [P, S], u [P, I])`` pair (forward mode:
    several times faster than reverse mode for these square Jacobians)."""
    closed = getattr(step, "jacobian", None)
    if closed is not None:
        with torch.no_grad():
            return closed(h, u)
    f = lambda hh, uu: step(hh[None], uu[None])[0]  # noqa: E731
    return torch.func.vmap(torch.func.jacfwd(f, argnums=0))(h, u)
