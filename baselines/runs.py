"""The run directory: its files, their formats, every reader, and the one process that may write.

A run directory holds::

    config.json            the TrainConfig (rewritten atomically)
    metrics.jsonl          append-only, one JSON object per iteration (see baselines.train)
    checkpoints/it_*.pt    model, optimiser and data-stream state (format CHECKPOINT_FORMAT)
    .lock                  who writes here: pid, host, start time; flock'ed while they do
    tensorboard/           optional event files

Guarantees (each tested by causing the fault): every rewrite is temp file + fsync + ``os.replace``
(a crash leaves the old or the new file, never half of one); the metrics log is only appended to,
so a full disk loses no existing line, and a torn last line (a crash mid-write) is dropped with a
warning naming the file; a second writer is refused with a message naming the holder (the lock is
released by the kernel when its holder dies, even by SIGKILL); loading a checkpoint reads tensors
only (``weights_only=True``) and never imports a module the file names.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import pickle
import socket
import sys
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ta_envs import Task
from ta_envs.validation import InvalidValue, UsageError

from .config import RESUMABLE_CHANGES, TrainConfig
from .models import BUILTIN, build_model, head_spec

CHECKPOINT_FORMAT = "ta-envs-checkpoint/1"
#: A native-PPO checkpoint: the same keys (``config`` is the core's supervised twin, so
#: `load_model()` and the analysis read it as is; ``data_rng`` holds the frames done) plus
#: ``rl_config`` (JSON), ``value`` (the value head) and ``sample_rng`` (the action sampler's state).
RL_CHECKPOINT_FORMAT = "ta-envs-rl-checkpoint/1"
CHECKPOINT_KEYS = ("format", "iteration", "config", "model", "optimizer", "data_rng", "wall_s")
RL_CHECKPOINT_KEYS = ("rl_config", "value", "sample_rng")
LOCK_NAME = ".lock"


class RunLockedError(UsageError):
    """Another live process writes this run directory."""


class StorageError(UsageError):
    """A write failed (disk full, file-size limit, permissions); nothing already saved was lost."""


# -- atomic files ---------------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _storage_error(path: Path, err: OSError, what: str) -> StorageError:
    reason = {errno.ENOSPC: "the disk is full", errno.EFBIG: "a file-size limit was hit",
              errno.EDQUOT: "the disk quota is exhausted"}.get(err.errno or 0, err.strerror or str(err))
    return StorageError(f"cannot write {path} ({reason}); {what}")


def atomic_write_bytes(path: str | Path, data: bytes, what: str = "the previous version is kept"
                       ) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder, fsync, ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise _storage_error(path, err, what) from None


def atomic_write_text(path: str | Path, text: str, what: str = "the previous version is kept"
                      ) -> None:
    """`atomic_write_bytes()` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), what)


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    """`atomic_write_text()` of ``json.dumps(obj)`` plus a newline."""
    atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


# -- one writer -----------------------------------------------------------------------------------
class RunLock:
    """An exclusive lock on a run directory (``flock`` on ``.lock``), as a context manager."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    def holder(self) -> str:
        """Who holds (or last held) the lock, as written in the lock file."""
        try:
            info = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return "an unknown process"
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("since", 0)))
        return (f"pid {info.get('pid', '?')} on {info.get('host', '?')} since {started} "
                f"({info.get('cmd', '?')})")

    def __enter__(self) -> RunLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:  # never follow a link: its target would be truncated and overwritten
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise RunLockedError(f"{self.path} is a symbolic link, not a lock file; remove "
                                     "it (nothing it points to was touched) and rerun") from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(f"run directory {self.run_dir} is being written by "
                                 f"{self.holder()}; wait for it to finish or stop it, then rerun "
                                 "to resume") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                "cmd": " ".join(sys.argv)[:200]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


# -- the metrics log ------------------------------------------------------------------------------
def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of an append-only JSON-lines log. A torn last line (no newline, or not JSON: a crash
    mid-write) is dropped with a warning naming the file; a bad line elsewhere is a
    ``ValueError`` naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        lineno = path.read_bytes()[: err.start].count(b"\n") + 1
        raise InvalidValue(f"{path}, line {lineno}: not UTF-8 text (byte {err.object[err.start]:#x} "
                           f"at offset {err.start}); the log is corrupt") from None
    lines = text.split("\n")
    complete = text.endswith("\n") or text == ""
    rows = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        last = i == len(lines) - 1 or (i == len(lines) - 2 and lines[-1] == "")
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not an object")
        except ValueError as err:
            if last:
                warnings.warn(f"{path}: dropped a torn last line ({len(line)} characters: "
                              f"{line[:40]!r}...), left by an interrupted write", stacklevel=2)
                break
            raise InvalidValue(f"{path}, line {i + 1}: not a JSON object ({err}); the log is "
                               "corrupt") from None
        if last and not complete:
            warnings.warn(f"{path}: dropped a torn last line (no newline: {line[:40]!r}...), left "
                          "by an interrupted write", stacklevel=2)
            break
        rows.append(row)
    return rows


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of ``run_dir/metrics.jsonl`` (see `read_jsonl()`)."""
    return read_jsonl(Path(run_dir, "metrics.jsonl"))


class MetricsLog:
    """Appends rows to ``metrics.jsonl``; `truncate_to()` rewrites it atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f: Any = None

    def truncate_to(self, iteration: int) -> list[dict[str, Any]]:
        """Keep the rows with ``it <= iteration`` (a resumed run's history); atomic."""
        rows = read_jsonl(self.path) if self.path.exists() else []
        kept = [r for r in rows if r.get("it", -1) <= iteration]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        if not self.path.exists() or self.path.read_text(encoding="utf-8") != text:
            atomic_write_text(self.path, text, "the log is unchanged")  # also drops a torn tail
        return kept

    def append(self, row: Mapping[str, Any]) -> None:
        """Append one row (buffered; `sync()` makes it durable)."""
        if self._f is None:
            self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        try:
            self._f.write(json.dumps(row) + "\n")
        except OSError as err:
            raise _storage_error(self.path, err, "earlier rows are kept") from None

    def sync(self) -> None:
        """Flush and fsync what was appended."""
        if self._f is not None:
            try:
                self._f.flush()
                os.fsync(self._f.fileno())
            except OSError as err:
                raise _storage_error(self.path, err, "rows up to the last checkpoint are kept") \
                    from None

    def close(self) -> None:
        """Flush (best effort) and close."""
        if self._f is not None:
            try:
                self._f.close()
            except OSError:
                pass
            self._f = None


# -- checkpoints ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint: the iteration it closes, the run's config and the saved state."""

    path: Path
    iteration: int
    config: TrainConfig
    model: dict[str, Any]
    optimizer: dict[str, Any]
    data_rng: dict[str, Any]
    wall_s: float
    init_from: str | None  #: the stored config's init_from (its weights are in this file)
    kind: str = "train"  #: ``"train"`` or ``"native-ppo"`` (whose ``config`` is the core's twin)
    extra: Mapping[str, Any] | None = None  #: native-ppo: rl_config, value, sample_rng, frames


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 over a checkpoint's entries (every key, every tensor's dtype, shape and bytes, every
    plain value), in a fixed order; saved as ``digest`` and verified on load, so a flipped bit in
    the file is an error, never changed weights. (A checksum detects corruption; it does not prove
    who wrote the file.)"""
    h = hashlib.sha256()

    def walk(x: Any) -> None:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(x, Mapping):
            for k in sorted(x, key=str):
                h.update(f"K{k!s}".encode())
                walk(x[k])
        elif isinstance(x, (list, tuple)):
            h.update(f"L{len(x)}".encode())
            for v in x:
                walk(v)
        else:
            h.update(f"V{x!r}".encode())

    walk({k: v for k, v in state.items() if k != "digest"})
    return h.hexdigest()


def _save_state(path: str | Path, state: dict[str, Any]) -> Path:
    state["digest"] = state_digest(state)
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue(), "earlier checkpoints are kept")
    return Path(path)


def checkpoint_path(run_dir: str | Path, iteration: int) -> Path:
    """``run_dir/checkpoints/it_XXXXXXX.pt``."""
    return Path(run_dir, "checkpoints", f"it_{iteration:07d}.pt")


def checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    return sorted(Path(run_dir, "checkpoints").glob("it_*.pt"))


def save_checkpoint(path: str | Path, iteration: int, config: TrainConfig, model: nn.Module,
                    optimizer: torch.optim.Optimizer, data_rng_state: Mapping[str, Any],
                    wall_s: float) -> Path:
    """Write a checkpoint atomically (temp file, fsync, replace), with its digest."""
    return _save_state(path, {"format": CHECKPOINT_FORMAT, "iteration": int(iteration),
                              "config": json.dumps(config.to_dict()), "model": model.state_dict(),
                              "optimizer": optimizer.state_dict(),
                              "data_rng": json.dumps(dict(data_rng_state)),
                              "wall_s": float(wall_s)})


def save_rl_checkpoint(path: str | Path, iteration: int, twin: TrainConfig,
                       rl_config: Mapping[str, Any], core: nn.Module, value: nn.Module,
                       optimizer: torch.optim.Optimizer, sample_rng: torch.Tensor, frames: int,
                       wall_s: float) -> Path:
    """Write a native-PPO checkpoint atomically (see `RL_CHECKPOINT_FORMAT`)."""
    return _save_state(path, {"format": RL_CHECKPOINT_FORMAT, "iteration": int(iteration),
                              "config": json.dumps(twin.to_dict()), "model": core.state_dict(),
                              "optimizer": optimizer.state_dict(),
                              "data_rng": json.dumps({"frames": int(frames)}),
                              "wall_s": float(wall_s), "rl_config": json.dumps(dict(rl_config)),
                              "value": value.state_dict(), "sample_rng": sample_rng})


def load_checkpoint(path: str | Path, config: TrainConfig | None = None) -> Checkpoint:
    """Read a checkpoint (tensors and plain data only; no module is imported). ``ValueError``
    naming the file for a corrupt or foreign file, a missing key, or (with ``config``) a checkpoint
    of a different run.

    Args:
        path: the checkpoint file.
        config: the config of the run that would resume from it (checked to match).

    Returns:
        The checkpoint's iteration, config, model and optimiser state, data stream state and
        training time.

    Raises:
        ValueError: as above.
    """
    path = Path(path)
    state = _read_state(path)
    rl = state["format"] == RL_CHECKPOINT_FORMAT
    init_from, cfg, rng, extra = _stored_config(path, state, rl)
    if config is not None and rl:
        raise InvalidValue(f"checkpoint {str(path)!r} is a native-ppo checkpoint; a training run "
                           "cannot resume from it (start one with init_from=... instead)")
    if config is not None:
        check_same_run(path, cfg.to_dict(), config.to_dict(), RESUMABLE_CHANGES)
    return Checkpoint(path, int(state["iteration"]), cfg, state["model"], state["optimizer"], rng,
                      float(state["wall_s"]), init_from, "native-ppo" if rl else "train", extra)


def _read_state(path: Path) -> dict[str, Any]:
    """A checkpoint file's dict, its format, keys, iteration, tensors and digest checked."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError, ValueError, KeyError,
            IndexError, TypeError, AttributeError) as err:  # torch's reader on foreign bytes
        raise InvalidValue(f"checkpoint {str(path)!r} is corrupt or not a ta-envs checkpoint: "
                           f"{type(err).__name__}: {str(err)[:200]}") from None
    fmt = state.get("format") if isinstance(state, dict) else None
    if fmt not in (CHECKPOINT_FORMAT, RL_CHECKPOINT_FORMAT):
        raise InvalidValue(f"checkpoint {str(path)!r} is not a {CHECKPOINT_FORMAT} or "
                           f"{RL_CHECKPOINT_FORMAT} file")
    rl = fmt == RL_CHECKPOINT_FORMAT
    missing = [k for k in CHECKPOINT_KEYS + (RL_CHECKPOINT_KEYS if rl else ()) if k not in state]
    if missing:
        raise InvalidValue(f"checkpoint {str(path)!r} lacks {missing}; it is damaged")
    it = state["iteration"]
    if not isinstance(it, int) or isinstance(it, bool) or it < 0:
        raise InvalidValue(f"checkpoint {str(path)!r}: 'iteration' must be an int >= 0, got "
                           f"{type(it).__name__} {it!r}")
    for part in ("model",) + (("value",) if rl else ()):
        _check_tensor_map(path, part, state[part])
    if "digest" in state and state["digest"] != state_digest(state):
        raise InvalidValue(f"checkpoint {str(path)!r} is corrupt: its contents do not match the "
                           "digest saved with them (a changed byte); use an earlier checkpoint")
    return state


def _check_tensor_map(path: Path, part: str, value: Any) -> None:
    bad = [k for k, v in (value.items() if isinstance(value, Mapping) else [])
           if not isinstance(v, torch.Tensor)]
    if not isinstance(value, Mapping) or bad:
        raise InvalidValue(f"checkpoint {str(path)!r}: {part!r} must map names to tensors"
                           + (f"; {bad[:3]} are not tensors" if bad else ""))


def _stored_config(path: Path, state: Mapping[str, Any], rl: bool
                   ) -> tuple[Any, TrainConfig, dict[str, Any], dict[str, Any] | None]:
    """``(init_from, config, data stream state, native-PPO extras)`` from a checkpoint."""
    try:
        stored = json.loads(state["config"])
        init_from = stored.get("init_from")
        stored["init_from"] = None  # the weights are in the checkpoint itself
        cfg = TrainConfig.from_dict(stored)
        rng = json.loads(state["data_rng"])
        extra = None
        if rl:
            extra = {"rl_config": json.loads(state["rl_config"]), "value": state["value"],
                     "sample_rng": state["sample_rng"], "frames": int(rng["frames"])}
    except (TypeError, ValueError, KeyError) as err:
        raise InvalidValue(f"checkpoint {str(path)!r} has an unreadable config: {err}") from None
    return init_from, cfg, rng, extra


def check_same_run(path: str | Path, stored: Mapping[str, Any], mine: Mapping[str, Any],
                   resumable: Sequence[str]) -> None:
    """``InvalidValue`` naming every field (other than ``resumable`` ones) in which a checkpoint's
    stored config differs from the config of the run that would resume from it."""
    diff = sorted(k for k in stored if stored[k] != mine.get(k) and k not in resumable)
    if diff:
        raise InvalidValue(f"checkpoint {str(path)!r} belongs to a different run: fields {diff} "
                           "differ (" + ", ".join(f"{k}: {stored[k]!r} != {mine.get(k)!r}"
                                                  for k in diff) + ")")


def make_model(config: TrainConfig, task: Task | None = None,
               generator: torch.Generator | None = None) -> nn.Module:
    """A freshly initialised model for ``config`` (imports a user architecture)."""
    task = config.make_task() if task is None else task
    out, _ = head_spec(task)
    return build_model(config.arch, int(task.obs_table.shape[1]), config.hidden, out,
                       generator=generator, init=config.init, gain=config.gain,
                       **config.model_kw)


def load_weights(model: nn.Module, state: Mapping[str, Any], source: str | Path) -> None:
    """``model.load_state_dict(state)`` with a one-line ``ValueError`` naming ``source``."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()
        detail = " ".join(x.strip() for x in first[:3])[:300]
        raise InvalidValue(f"weights in {str(source)!r} do not fit the model "
                           f"{type(model).__name__}: {detail}") from None


def load_model(checkpoint: str | Path, arch: str | None = None
               ) -> tuple[nn.Module, Task, TrainConfig]:
    """The trained model (eval mode, on CPU), its task and config from one checkpoint file.

    A checkpoint of a built-in architecture loads as is. One of a user architecture
    (``module:Class``) would import that module, so the caller must name it: ``arch`` equal to the
    stored name (``--arch`` on the command line); otherwise ``ValueError`` says how.

    Args:
        checkpoint: a checkpoint file (``checkpoints/it_*.pt``).
        arch: the user architecture ``module:Class`` it was made with (built-ins: leave None).

    Returns:
        ``(model, task, config)``.

    Raises:
        ValueError: a corrupt or foreign file, or a user architecture not named by ``arch``.
    """
    ck = load_checkpoint(checkpoint)
    cfg = replace(ck.config, device="cpu")

    if cfg.arch not in BUILTIN:
        if arch is None:
            raise InvalidValue(f"checkpoint {str(checkpoint)!r} holds the user architecture "
                               f"{cfg.arch!r}; loading it imports that module, so name it: "
                               f"load_model(path, arch={cfg.arch!r}) or --arch {cfg.arch}")
        if arch != cfg.arch:
            raise InvalidValue(f"checkpoint {str(checkpoint)!r} holds {cfg.arch!r}, not {arch!r}")
    elif arch is not None and arch != cfg.arch:
        raise InvalidValue(f"checkpoint {str(checkpoint)!r} holds {cfg.arch!r}, not {arch!r}")
    bad = [k for k, v in ck.model.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise InvalidValue(f"checkpoint {str(checkpoint)!r} has non-finite weights ({bad[0]}...): "
                           "the run diverged; analyse an earlier checkpoint")
    task = cfg.make_task()
    model = make_model(cfg, task)
    load_weights(model, ck.model, checkpoint)
    return model.eval(), task, cfg


def remove_checkpoints(paths: Iterable[Path]) -> None:
    """Delete checkpoint files (a fresh start in an old directory)."""
    for p in paths:
        p.unlink(missing_ok=True)
