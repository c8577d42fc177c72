"""Where a result came from: the ``provenance`` record every results JSON carries.

``provenance()`` returns ``git_commit`` (None outside a git checkout), ``dirty`` (uncommitted
changes to tracked files), ``versions`` (python, numpy, torch, gymnasium, ta-envs, and any other
named package that is installed), ``threads`` (torch's intra-op threads), ``platform`` and
``command`` (the command line, or what the caller names).
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("numpy", "torch", "gymnasium", "ta-envs")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def provenance(command: str | None = None, packages: Sequence[str] = ()) -> dict[str, Any]:
    """The provenance record of a result made now, by ``command`` (default: this process's
    command line); ``packages``: further distributions whose versions decide the result."""
    threads = None
    if "torch" in sys.modules:
        threads = int(sys.modules["torch"].get_num_threads())
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": _git("rev-parse", "HEAD"),
            "dirty": None if status is None else bool(status),
            "versions": {"python": platform.python_version(),
                         **{p: _version(p) for p in (*PACKAGES, *packages)}},
            "threads": threads, "platform": platform.platform(),
            "command": command if command is not None else " ".join(sys.argv)}
