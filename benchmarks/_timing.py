"""Shared timing helpers for the benchmark scripts: thread pinning, repeated timing, tables, JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def pin_threads() -> None:
    """One thread for BLAS/OpenMP and torch (these machines are shared)."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def seconds_per_call(fn: Callable[[], Any], min_time: float) -> float:
    """Calls ``fn`` until ``min_time`` seconds have passed; mean seconds per call."""
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return dt / n


def rate(fn: Callable[[], Any], units_per_call: float, min_time: float = 0.5,
         repeats: int = 5) -> dict[str, float]:
    """Calls ``fn`` repeatedly for ``min_time`` seconds, ``repeats`` times (after one warm-up);
    returns the median and best rate in units per second."""
    fn()
    rates = [units_per_call / seconds_per_call(fn, min_time) for _ in range(repeats)]
    return {"median": statistics.median(rates), "best": max(rates)}


class Remote:
    """A peer timed in another process (its own virtualenv): ``fn(min_time)`` returns its seconds
    per call, measured there; :func:`interleaved` takes it in turn with the local functions."""

    def __init__(self, fn: Callable[[float], float]) -> None:
        self.fn = fn


def interleaved(fns: dict[str, Callable[[], Any] | Remote], rounds: int, min_time: float
                ) -> dict[str, list[float]]:
    """Seconds per call of each function, measured in turn (A, B, A, B, ...), ``rounds`` times,
    so load on a shared machine hits every side alike; compare sides round by round."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for f in fns.values():
        if not isinstance(f, Remote):
            f()
    for _ in range(rounds):
        for k, f in fns.items():
            out[k].append(f.fn(min_time) if isinstance(f, Remote)
                          else seconds_per_call(f, min_time))
    return out


def round_ratio(slow: Sequence[float], fast: Sequence[float]) -> float:
    """Median over rounds of ``slow / fast`` seconds per call (how many times faster ``fast``
    is)."""
    return statistics.median(s / f for s, f in zip(slow, fast))


def exponent(xs: Sequence[float], costs: Sequence[float]) -> float:
    """Slope of log(cost) against log(x): cost ~ x^slope."""
    import numpy as np

    return float(np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(costs, float)),
                            1)[0])


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of ``rows`` with ``columns``; floats get thousands separators."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        return str(v)
    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(columns)]
    line = lambda xs: "| " + " | ".join(x.rjust(w) for x, w in zip(xs, widths)) + " |"  # noqa: E731
    return "\n".join([line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(x) for x in cells])


def write_json(path: str | Path, rows: Sequence[dict[str, Any]], **meta: Any) -> None:
    """Write ``rows`` and ``meta`` with a description of the machine to ``path``."""
    from baselines.provenance import provenance

    meta.setdefault("provenance", provenance())
    out = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "processor": platform.processor() or platform.machine()},
           "rows": list(rows), **meta}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=2) + "\n")
