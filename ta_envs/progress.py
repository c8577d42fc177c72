"""One progress helper for long work: a tqdm bar when tqdm is installed, else plain lines on stderr.

``progress(total, desc, enabled)`` returns an object with ``update(n=1)``, ``set_postfix(**kw)``,
``write(line)`` and ``close()`` (also a context manager); with ``enabled=False`` every call does
nothing, so library code can always call it.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kw: Any) -> None:
        pass

    def write(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Lines(_Silent):
    """Fallback without tqdm: a line with count, rate and ETA at most every 2 s."""

    def __init__(self, total: int | None, desc: str, initial: int) -> None:
        self.total, self.desc, self.n = total, desc, initial
        self.t0 = self.last = time.perf_counter()
        self.start = initial
        self.post = ""

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.last >= 2.0 or (self.total is not None and self.n >= self.total):
            self.last = now
            rate = (self.n - self.start) / max(now - self.t0, 1e-9)
            eta = ""
            if self.total is not None and rate > 0:
                eta = f", ETA {(self.total - self.n) / rate:.0f} s"
            of = f"/{self.total}" if self.total is not None else ""
            print(f"{self.desc}: {self.n}{of} ({rate:.1f}/s{eta}){self.post}", file=sys.stderr)

    def set_postfix(self, **kw: Any) -> None:
        self.post = " " + " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in kw.items())

    def write(self, line: str) -> None:
        print(line, file=sys.stderr)


def progress(total: int | None, desc: str, enabled: bool = True, initial: int = 0,
             unit: str = "it", leave: bool = True) -> Any:
    """A progress reporter over ``total`` units (``None``: unknown), starting at ``initial``."""
    if not enabled:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Lines(total, desc, initial)
    return tqdm(total=total, desc=desc, initial=initial, unit=unit, leave=leave)


def iterate(items: Any, desc: str, enabled: bool = True, total: int | None = None) -> Any:
    """Yield from ``items`` while reporting progress."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    bar = progress(total, desc, enabled)
    try:
        for x in items:
            yield x
            bar.update(1)
    finally:
        bar.close()
