"""Worker processes that die with their parent, for running independent jobs in parallel.

`run_parallel()` starts ``workers`` spawned processes that take jobs from a queue and returns
the results in job order. Each worker asks the kernel to kill it when its parent dies
(``PR_SET_PDEATHSIG`` on Linux) and also watches its parent's pid, so a ``kill -9`` of the parent
leaves no orphan appending to a run directory. Ctrl-C in the parent forwards SIGINT to the workers
(a training run then checkpoints its last completed iteration) and waits for them to stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ta_envs.progress import progress
from ta_envs.validation import InvalidValue, check_int

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when ``parent_pid`` is gone: the kernel's parent-death signal where
    available, plus a watchdog thread polling ``getppid``."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def _worker(parent: int, fn: Callable[[Any], Any], jobs: Any, results: Any) -> None:
    die_with_parent(parent)
    while True:
        item = jobs.get()
        if item is None:
            return
        i, job = item
        try:
            results.put((i, True, fn(job)))
        except BaseException as err:  # noqa: BLE001 - sent back to the parent
            try:
                results.put((i, False, err))
            except Exception:  # unpicklable exception: send its text
                results.put((i, False, RuntimeError(traceback.format_exc())))
            if isinstance(err, KeyboardInterrupt):
                return


def _stop(procs: list[Any]) -> None:
    """SIGINT every live worker (training runs checkpoint), wait up to 60 s, then kill."""
    for p in procs:
        if p.is_alive():
            with contextlib.suppress(OSError):
                os.kill(p.pid, signal.SIGINT)
    deadline = time.time() + 60
    for p in procs:
        p.join(max(0.0, deadline - time.time()))
        if p.is_alive():
            p.kill()


def _collect(q_res: Any, procs: list[Any], n: int, desc: str,
             deliver: Callable[[int, Any], None]) -> None:
    """Receive ``n`` results; re-raise a worker's failure; notice when every worker died."""
    done = 0
    while done < n:
        try:
            i, ok, value = q_res.get(timeout=1.0)
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                raise RuntimeError(f"{desc}: every worker died with {n - done} jobs left "
                                   f"(killed?)") from None
            continue
        if not ok:
            raise value
        deliver(i, value)
        done += 1


def run_parallel(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int,
                 desc: str = "jobs", show_progress: bool = True,
                 on_result: Callable[[int, Any], None] | None = None) -> list[Any]:
    """``[fn(job) for job in jobs]`` in ``workers`` processes (in this process when
    ``workers == 1``); results in job order; the first failure is re-raised after the other
    workers are stopped. ``fn`` must be importable (a module-level function)."""
    check_int("workers", workers, 1)
    out: list[Any] = [None] * len(jobs)
    bar = progress(len(jobs), desc, show_progress)

    def deliver(i: int, value: Any) -> None:
        out[i] = value
        bar.update(1)
        if on_result is not None:
            on_result(i, value)

    try:
        if workers == 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                deliver(i, fn(job))
            return out
        ctx = mp.get_context("spawn")
        q_jobs, q_res = ctx.Queue(), ctx.Queue()
        for item in enumerate(jobs):
            q_jobs.put(item)
        procs = [ctx.Process(target=_worker, args=(os.getpid(), fn, q_jobs, q_res), daemon=True)
                 for _ in range(min(workers, len(jobs)))]
        for _ in procs:
            q_jobs.put(None)
        for p in procs:
            p.start()
        try:
            _collect(q_res, procs, len(jobs), desc, deliver)
        except BaseException:
            _stop(procs)
            raise
        for p in procs:
            p.join()
        return out
    finally:
        bar.close()


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int = 1,
             backend: str = "local", address: str | None = None, desc: str = "jobs",
             show_progress: bool = True, on_result: Callable[[int, Any], None] | None = None
             ) -> list[Any]:
    """``[fn(job) for job in jobs]`` on a backend: ``"local"`` (`run_parallel()` with
    ``workers`` processes) or ``"ray"`` (one Ray task per job, one CPU each, on the cluster at
    ``address`` or a local one started and stopped here). Results in job order."""
    if backend == "ray":
        try:
            import ray
        except ImportError:

            raise InvalidValue("backend 'ray' needs the ray extra: pip install 'ta-envs[ray]'") \
                from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        try:
            remote = ray.remote(num_cpus=1)(fn)
            refs = [remote.remote(j) for j in jobs]
            out: list[Any] = [None] * len(jobs)
            index = {r: i for i, r in enumerate(refs)}
            pending = list(refs)
            bar = progress(len(jobs), desc, show_progress)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                i = index[ready[0]]
                out[i] = ray.get(ready[0])
                bar.update(1)
                if on_result is not None:
                    on_result(i, out[i])
            bar.close()
            return out
        finally:
            if started:
                ray.shutdown()

    if address is not None:
        raise InvalidValue("address applies to backend 'ray' only (--backend ray --address ...)")
    if backend != "local":
        raise InvalidValue(f"backend must be 'local' or 'ray', got {backend!r}")
    return run_parallel(fn, jobs, workers, desc=desc, show_progress=show_progress,
                        on_result=on_result)
