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


def rate(fn: Callable[[], Any], units_per_call: float, min_time: float = 0.5,
         repeats: int = 5) -> dict[str, float]:
    """Calls ``fn`` repeatedly for ``min_time`` seconds, ``repeats`` times (after one warm-up);
    returns the median and best rate in units per second."""
    fn()
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        rates.append(n * units_per_call / dt)
    return {"median": statistics.median(rates), "best": max(rates)}


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
    out = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "processor": platform.processor() or platform.machine()},
           "rows": list(rows), **meta}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(out, indent=2) + "\n")
