"""Where a result came from: the ``provenance`` record every results JSON carries.

``provenance()`` returns ``git_commit`` (None outside a git checkout), ``dirty`` (uncommitted
changes to tracked files other than committed results: a study that writes its JSON into
``benchmarks/results`` and then runs the next study is not made by changed code), ``versions``
(python, numpy, torch, gymnasium, ta-envs, and any other
named package that is installed), ``threads`` (torch's intra-op threads), ``platform`` and
``command`` (the command line, or what the caller names); where the process has imported JAX,
also the ``jax`` and ``jaxlib`` versions and ``xla_flags``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("numpy", "torch", "gymnasium", "ta-envs")
#: Tracked paths whose changes are results, not code (``dirty`` ignores them).
RESULT_PATHS = ("benchmarks/results/",)


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


def _cpu() -> str | None:
    """The CPU model and the vector instructions torch uses (float results, and so per-seed
    trajectories, can differ between machines that differ here)."""
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                         None)
    except OSError:
        model = platform.processor() or None
    torch = sys.modules.get("torch")
    isa = torch.backends.cpu.get_cpu_capability() if torch is not None else None
    parts = [p for p in (model, isa and f"torch {isa}") if p]
    return ", ".join(parts) or None


def provenance(command: str | None = None, packages: Sequence[str] = ()) -> dict[str, Any]:
    """The provenance record of a result made now, by ``command`` (default: this process's
    command line); ``packages``: further distributions whose versions decide the result."""
    threads = None
    if "torch" in sys.modules:
        threads = int(sys.modules["torch"].get_num_threads())
    status = _git("status", "--porcelain", "--untracked-files=no")
    # porcelain lines are "XY PATH"; _git strips the output, so the first line may have lost
    # its leading blank: the path is what follows the two status letters
    changed = None if status is None else [
        line for line in status.splitlines()
        if not line[2:].lstrip().strip('"').startswith(RESULT_PATHS)]
    jax = ("jax", "jaxlib") if "jax" in sys.modules else ()  # this process computed with JAX
    out = {"git_commit": _git("rev-parse", "HEAD"),
           "dirty": None if changed is None else bool(changed),
           "versions": {"python": platform.python_version(),
                        **{p: _version(p) for p in (*PACKAGES, *jax, *packages)}},
           "threads": threads, "platform": platform.platform(), "cpu": _cpu(),
           "command": command if command is not None else " ".join(sys.argv)}
    if jax:  # XLA's threads are set by its flags, read once per process
        out["xla_flags"] = os.environ.get("XLA_FLAGS")
    return out


def with_provenance(result: dict[str, Any], command: str | None = None) -> dict[str, Any]:
    """``result`` with its ``provenance`` record (made now) added."""
    return {**result, "provenance": provenance(command)}


def record_run(run_dir: str | Path) -> None:
    """Append this process's provenance to ``run_dir/provenance.jsonl``: one line per start or
    resume of a run, so a run continued at another commit says so."""
    p = Path(run_dir, "provenance.jsonl")
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a", encoding="utf-8") as f:
        f.write(json.dumps(provenance()) + "\n")


def run_commits(run_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """The commits (and dirty flags) recorded by the runs' ``provenance.jsonl``: ``commits`` (sorted
    unique), ``mixed`` (more than one), ``unrecorded`` (runs without a record)."""
    records: list[dict[str, Any] | None] = []
    for d in run_dirs:
        p = Path(d, "provenance.jsonl")
        if not p.exists():
            records.append(None)
            continue
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return commits_of(records)


def code_hash(*paths: str | Path) -> str:
    """SHA-256 (hex, 16 chars) of the Python source under ``paths`` (files, or folders whose
    ``*.py`` files count, recursively; relative paths are from the repository root), with each
    file's path: a cache keyed on it is redone when that code changes."""
    h = hashlib.sha256()
    for p in paths:
        p = Path(p) if Path(p).is_absolute() else ROOT / p
        if not p.exists():
            raise ValueError(f"code_hash: {p} does not exist")
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p]:
            h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def cache_key(config: Any, code: str) -> str:
    """SHA-256 (hex, 16 chars) of a JSON-able ``config`` (key order ignored) and a `code_hash`."""
    text = json.dumps(config, sort_keys=True, default=repr) + code
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def commits_of(records: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """`run_commits`'s summary for provenance ``records`` held in a results file rather than in
    run folders (None: a part made before provenance existed)."""
    got = [r for r in records if r]
    commits = sorted({str(r.get("git_commit")) for r in got})
    return {"commits": commits, "mixed": len(commits) > 1,
            "dirty": any(bool(r.get("dirty")) for r in got),
            "unrecorded": len(records) - len(got)}
