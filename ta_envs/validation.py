"""One validation layer for every package: argument checks with one message shape.

A caller's mistake raises `InvalidValue` (a ``ValueError``) or `InvalidType` (a
``TypeError``), both `UsageError`. The message names the argument, what is allowed and what
was given: ``"period must be an int >= 2, got 1"``. The command line prints a ``UsageError`` as one
line and exits 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """A mistake in what the caller asked for (bad value, bad type, a busy run directory...)."""


class InvalidValue(UsageError, ValueError):
    """An argument of the right type with a value that is not allowed."""


class InvalidType(UsageError, TypeError):
    """An argument of the wrong type."""


class Interrupted(KeyboardInterrupt):
    """Work stopped by a signal (``signum``: SIGINT for Ctrl-C, or SIGTERM) after saving what it
    had completed; the command line prints one line and exits ``128 + signum``."""

    def __init__(self, signum: int = 2) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = int(signum)


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" in [{minimum}, {maximum}]"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def is_int(v: Any) -> bool:
    """True for Python and NumPy integers, False for ``bool`` (``True`` is not a count)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and \
        type(v).__name__ != "bool_"


def check_int(name: str, v: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``v`` as an ``int``; ``InvalidType`` unless an integer (a float such as 2.0 or 2.7, a string,
    a bool are refused), ``InvalidValue`` outside ``[minimum, maximum]``."""
    if not is_int(v):
        raise InvalidType(f"{name} must be an int{_range_text(minimum, maximum)}, got "
                          f"{type(v).__name__} {v!r}")
    n = int(v)
    if (minimum is not None and n < minimum) or (maximum is not None and n > maximum):
        raise InvalidValue(f"{name} must be an int{_range_text(minimum, maximum)}, got {n}")
    return n


def check_float(name: str, v: Any, minimum: float | None = None, maximum: float | None = None,
                *, above: float | None = None, below: float | None = None) -> float:
    """``v`` as a finite ``float`` (ints accepted, bools refused) with ``minimum <= v <= maximum``
    and ``above < v < below`` where given."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise InvalidType(f"{name} must be a number, got {type(v).__name__} {v!r}")
    f = float(v)
    bounds = [(">=", minimum, f >= (minimum or 0.0)), (">", above, f > (above or 0.0)),
              ("<=", maximum, f <= (maximum or 0.0)), ("<", below, f < (below or 0.0))]
    given = [(op, b, ok) for op, b, ok in bounds if b is not None]
    if not math.isfinite(f) or not all(ok for _, _, ok in given):
        parts = " and ".join(f"{op} {b}" for op, b, _ in given)
        raise InvalidValue(f"{name} must be a finite number{' ' + parts if parts else ''}, "
                           f"got {v!r}")
    return f


def check_prob(name: str, v: Any) -> float:
    """A probability in [0, 1]."""
    return check_float(name, v, 0.0, 1.0)


def check_bool(name: str, v: Any) -> bool:
    """``v`` as a ``bool`` (Python or NumPy); ints and strings are refused."""
    if not (isinstance(v, bool) or type(v).__name__ == "bool_"):
        raise InvalidType(f"{name} must be a bool, got {type(v).__name__} {v!r}")
    return bool(v)


def check_str(name: str, v: Any) -> str:
    """``v`` as a non-empty ``str``."""
    if not isinstance(v, str):
        raise InvalidType(f"{name} must be a string, got {type(v).__name__} {v!r}")
    if not v:
        raise InvalidValue(f"{name} must be a non-empty string")
    return v


def check_choice(name: str, v: Any, choices: Sequence[Any]) -> Any:
    """``v`` if it is one of ``choices``."""
    if v not in choices:
        raise InvalidValue(f"{name} must be one of {list(choices)}, got {v!r}")
    return v


def check_seed(name: str, v: Any) -> int:
    """A seed: an int >= 0."""
    return check_int(name, v, 0)


def check_optional(check: Any, name: str, v: Any, *args: Any, **kwargs: Any) -> Any:
    """``None`` passes; anything else goes through ``check(name, v, *args, **kwargs)``."""
    return None if v is None else check(name, v, *args, **kwargs)


def check_int_fields(owner: Any, names: Iterable[str], minimum: int | None = None,
                     maximum: int | None = None) -> None:
    """`check_int()` on the attributes ``names`` of ``owner`` (a config dataclass)."""
    for n in names:
        check_int(n, getattr(owner, n), minimum, maximum)


def check_out_dir(name: str, path: Any) -> Any:
    """``path`` as a ``pathlib.Path`` of a folder, created if it does not exist yet (a file, or a
    path that cannot be created, is refused in one line)."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise InvalidType(f"{name} must be a folder path, got {type(path).__name__} {path!r}")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InvalidValue(f"{name} must be a folder (or a new path), but {str(p)!r} is a file")
    try:  # made now, so a path that cannot be written is one line here, not a traceback later
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidValue(f"{name} {str(p)!r} cannot be created ({err.strerror or err}); choose "
                           "another path") from None
    return p


def check_kwargs(owner: str, given: Iterable[str], allowed: Sequence[str]) -> None:
    """``InvalidType`` for the first keyword argument not in ``allowed``, worded as Python's own
    (``got an unexpected keyword argument 'x'``) so that clients which retry without an optional
    keyword (TorchRL's ``frameskip``, SB3's ``render_mode``) recognise it."""
    for k in given:
        if k not in allowed:
            raise InvalidType(f"{owner} got an unexpected keyword argument {k!r}; allowed: "
                              f"{', '.join(allowed) or 'none'}")


#: Default bound on the bytes one call may allocate for per-step arrays (override with the
#: environment variable ``TA_ENVS_MAX_BYTES``).
DEFAULT_MAX_BYTES = 4 << 30


def max_bytes() -> int:
    """The allocation bound in force: ``TA_ENVS_MAX_BYTES`` if set, else 4 GiB."""
    env = os.environ.get("TA_ENVS_MAX_BYTES")
    if env is None:
        return DEFAULT_MAX_BYTES
    try:
        return check_int("TA_ENVS_MAX_BYTES", int(env), 1)
    except ValueError:
        raise InvalidValue(f"TA_ENVS_MAX_BYTES must be an int >= 1, got {env!r}") from None


def check_bytes(what: str, nbytes: float, fix: str) -> None:
    """Refuse work whose per-step arrays would take ``nbytes`` above `max_bytes()`, before
    allocating: ``what`` names the arguments and their values, ``fix`` says what to lower."""
    limit = max_bytes()
    if nbytes > limit:
        raise InvalidValue(f"{what} needs about {nbytes / 2**30:.1f} GiB of per-step arrays, over "
                           f"the {limit / 2**30:.1f} GiB bound (TA_ENVS_MAX_BYTES); {fix}")
