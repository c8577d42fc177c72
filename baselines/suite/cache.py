"""The suite's run cache: keys that cover everything deciding a result, code included, and
checksummed result files.

A run's key hashes the protocol, the run's full training config (minus fields that cannot change a
number: ``tensorboard``) and the **source of the model**: for a user architecture the file that
defines its class **and every local module it imports, transitively** (a module whose file lies
under the current directory or beside the model's file; installed packages are keyed by their
version through the environment record, not hashed); for a built-in, the package version and the
source of ``baselines/models/``. Editing a model's file or a helper it imports therefore reruns its
runs. ``result.json`` carries a SHA-256 of its own
content; a file that fails the check (corrupt or edited) is discarded with a warning and the run is
redone.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import json
import os
import sys
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

from ta_envs import __version__

from ..config import TrainConfig
from ..models import BUILTIN, resolve_arch
from ..runs import atomic_write_json
from .protocol import CONDITIONS, EVAL_SEQUENCES, PROTOCOL

#: Config fields left out of the cache key (they cannot change a result).
NOT_IN_KEY = ("tensorboard",)


@lru_cache(maxsize=64)
def _file_hash(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_source_hash(arch: str) -> str:
    """SHA-256 (hex, 16 chars) of the code that defines ``arch`` (see the module docstring).

    Args:
        arch: a built-in name or ``module:Class``.

    Returns:
        16 hex characters.

    Raises:
        ValueError: an unknown built-in or a module that cannot be found.
    """
    h = hashlib.sha256()
    if arch in BUILTIN:
        h.update(f"ta-envs {__version__}".encode())
        folder = Path(__file__).resolve().parents[1] / "models"
        files = sorted(folder.glob("*.py"))
    else:
        cls = resolve_arch(arch)
        src = inspect.getsourcefile(cls)
        if src is None:
            raise ValueError(f"cannot find the source file of {arch!r} to key the cache on")
        files = local_sources(Path(src))
    for f in files:
        h.update(f.name.encode())
        h.update(_file_hash(str(f), f.stat().st_mtime_ns).encode())
    return h.hexdigest()[:16]


def _imported_names(path: Path) -> list[tuple[str, int]]:
    """``(module, level)`` of every import statement in a Python file (relative ones keep their
    level)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return []
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, 0) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            out.append((base, node.level))
            out += [(f"{base}.{a.name}" if base else a.name, node.level) for a in node.names]
    return out


def local_sources(src: Path) -> list[Path]:
    """``src`` and the local modules it imports, transitively, sorted: a module counts as local
    when its file lies under the current directory or under ``src``'s folder (never one in the
    interpreter's or site-packages' folders)."""
    roots = [Path(os.getcwd()).resolve(), src.resolve().parent]
    skip = [Path(p).resolve() for p in (sys.prefix, sys.base_prefix)]

    def local(f: Path) -> bool:
        f = f.resolve()
        if any(f.is_relative_to(s) for s in skip) or "site-packages" in f.parts:
            return False
        return any(f.is_relative_to(r) for r in roots)

    seen: set[Path] = set()
    todo = [src.resolve()]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        for name, level in _imported_names(f):
            todo += [c.resolve() for c in _module_files(f, name, level, roots)
                     if c.exists() and local(c)]
    return sorted(seen)


def _module_files(f: Path, name: str, level: int, roots: list[Path]) -> list[Path]:
    """Where the module ``name`` imported by file ``f`` (``level`` dots) may live: relative to
    ``f``'s folder, under one of ``roots``, or (else) where Python finds it."""
    if level:  # relative import: resolve against the file's folder
        base = f.parent
        for _ in range(level - 1):
            base = base.parent
        rel = Path(*name.split(".")) if name else Path()
        return [base / rel.with_suffix(".py"), base / rel / "__init__.py"]
    rel = Path(*name.split("."))
    candidates = [c for r in roots for c in (r / rel.with_suffix(".py"), r / rel / "__init__.py")]
    if any(c.exists() for c in candidates):
        return candidates
    try:
        spec = importlib.util.find_spec(name.split(".")[0])
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin and spec.origin.endswith(".py"):
        return [Path(spec.origin)]
    return candidates


def run_key(config: TrainConfig, source_hash: str) -> str:
    """Cache key of one run: protocol, evaluation, config (see `NOT_IN_KEY`) and model
    source.

    Args:
        config: the run's training config.
        source_hash: `model_source_hash` of its architecture.

    Returns:
        A hex digest naming the run's cache folder.
    """
    cfg = {k: v for k, v in config.to_dict().items() if k not in NOT_IN_KEY}
    blob = json.dumps({"protocol": PROTOCOL, "conditions": CONDITIONS, "eval": EVAL_SEQUENCES,
                       "config": cfg, "source": source_hash}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _digest(result: dict[str, Any]) -> str:
    body = {k: v for k, v in result.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def write_result(path: Path, result: dict[str, Any]) -> dict[str, Any]:
    """Write ``result`` with its checksum (atomically); returns what was written."""
    out = {**result, "checksum": _digest(result)}
    atomic_write_json(path, out, indent=1)
    return out


def read_result(path: Path) -> dict[str, Any] | None:
    """A cached result, or None when absent; a corrupt or edited one is None with a warning."""
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text())
        ok = isinstance(result, dict) and result.get("checksum") == _digest(result)
    except (OSError, ValueError):
        ok = False
    if not ok:
        warnings.warn(f"{path}: the cached result fails its checksum (corrupt or edited); the run "
                      "is redone", stacklevel=2)
        return None
    return result
