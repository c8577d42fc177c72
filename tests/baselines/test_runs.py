"""The run-directory contract under faults caused for real: SIGINT and SIGKILL at random moments,
a second writer, a parent killed under its workers, a torn log line, a full disk (RLIMIT_FSIZE),
checkpoints that name modules, corrupt files."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from baselines.config import TrainConfig  # noqa: E402
from baselines.runs import (  # noqa: E402
    RunLock,
    RunLockedError,
    atomic_write_text,
    checkpoints,
    load_checkpoint,
    load_model,
    read_jsonl,
    read_metrics,
    state_digest,
)
from baselines.train import train  # noqa: E402

pytestmark = pytest.mark.faults
TINY = dict(task_kwargs={"period": 4}, hidden=16, batch=16, seq_len=16, eval_every=5,
            eval_size=32, checkpoint_every=10)
RUNNER = """
import json, sys
import torch
torch.set_num_threads(1)
from baselines.config import TrainConfig
from baselines.train import train
train(TrainConfig.from_dict(json.loads(sys.argv[1])), sys.argv[2], progress=False)
"""


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def _weights(run):
    return load_checkpoint(checkpoints(run)[-1]).model


def _same_run(a, b):
    assert _strip(read_metrics(a)) == _strip(read_metrics(b))
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _start(cfg, run, **kw):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", RUNNER, json.dumps(cfg.to_dict()), str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kw)


def _wait_rows(run, n, proc, timeout=60.0):
    path = Path(run, "metrics.jsonl")
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            return False
        if path.exists() and path.read_text().count("\n") >= n:
            return True
        time.sleep(0.01)
    raise AssertionError(f"{path} did not reach {n} rows")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    cfg = TrainConfig(**TINY, iterations=400, seed=3)
    run = tmp_path_factory.mktemp("ref") / "run"
    train(cfg, run, progress=False)
    return cfg, run


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_signal_at_a_random_moment_then_resume_reproduces_the_run(sig, reference, tmp_path):
    cfg, ref = reference
    rng = random.Random(sig)
    for trial in range(2):  # six random cuts over the three signals
        run = tmp_path / f"cut{trial}"
        proc = _start(cfg, run)
        if _wait_rows(run, rng.randint(20, 250), proc):
            time.sleep(rng.uniform(0, 0.01))  # inside an iteration or between two
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        if sig != signal.SIGKILL and proc.returncode not in (0,):
            assert b"Interrupted" in err or proc.returncode == -sig
            rows = read_metrics(run)
            # the interrupt checkpointed the last completed iteration: nothing logged beyond it
            last_ck = load_checkpoint(checkpoints(run)[-1]).iteration
            assert rows[-1]["it"] == last_ck
        train(cfg, run, progress=False)  # resume
        _same_run(run, ref)


def test_a_second_writer_is_refused_naming_the_holder(reference, tmp_path):
    cfg, ref = reference
    run = tmp_path / "run"
    proc = _start(cfg, run)
    try:
        assert _wait_rows(run, 5, proc)
        with pytest.raises(RunLockedError, match=f"pid {proc.pid} "):
            train(cfg, run, progress=False)
        with pytest.raises(RunLockedError, match="being written by"):
            with RunLock(run):
                pass
    finally:
        proc.kill()
        proc.wait()
    train(cfg, run, progress=False)  # the kernel released the dead holder's lock
    _same_run(run, ref)


@pytest.mark.slow
def test_workers_die_with_their_parent(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = tmp_path / "sweep"
    parent = subprocess.Popen(
        [sys.executable, "-m", "ta_envs.cli", "train", "--kw", "period=4", "--hidden", "16",
         "--iterations", "100000", "--seeds", "2", "--workers", "2", "--no-tensorboard",
         "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.time()
        while time.time() - t0 < 90:
            if all(Path(out, f"seed_00{i}", "metrics.jsonl").exists() for i in range(2)):
                break
            time.sleep(0.2)
        children = _children(parent.pid)
        assert len(children) >= 2
    finally:
        parent.kill()
        parent.wait()
    t0 = time.time()
    while time.time() - t0 < 15 and any(_alive(p) for p in children):
        time.sleep(0.2)
    assert not any(_alive(p) for p in children), "orphaned workers kept running"
    sizes = [Path(out, f"seed_00{i}", "metrics.jsonl").stat().st_size for i in range(2)]
    time.sleep(1.0)
    assert sizes == [Path(out, f"seed_00{i}", "metrics.jsonl").stat().st_size for i in range(2)]


def _children(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_torn_last_log_line_is_dropped_with_a_warning(reference, tmp_path):
    cfg, ref = reference
    run = tmp_path / "run"
    train(TrainConfig(**{**cfg.to_dict(), "iterations": 200}), run, progress=False)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"it": 201, "loss": 0.69')  # a write cut short by a crash
    with pytest.warns(UserWarning, match=r"metrics\.jsonl: dropped a torn last line"):
        train(cfg, run, progress=False)
    _same_run(run, ref)
    (run / "metrics.jsonl").write_text('{"it": 0}\nnot json\n{"it": 1}\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl, line 2"):
        read_metrics(run)


@pytest.mark.slow
def test_a_full_disk_fails_clearly_and_loses_no_history(reference, tmp_path):
    cfg, ref = reference
    run = tmp_path / "run"
    train(TrainConfig(**{**cfg.to_dict(), "iterations": 100}), run, progress=False)
    before = (run / "metrics.jsonl").read_text()
    limit = len(before.encode()) + 3000  # room for a few more rows, not for the run

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cli = [sys.executable, "-m", "ta_envs.cli", "train", "--kw", "period=4", "--hidden", "16",
           "--batch", "16", "--seq-len", "16", "--eval-every", "5", "--eval-size", "32",
           "--checkpoint-every", "10", "--iterations", "400", "--first-seed", "3",
           "--no-tensorboard", "--out", str(tmp_path / "cli")]
    ok = subprocess.run(cli[:-1] + [str(tmp_path / "cli")], env=env, capture_output=True,
                        timeout=120, preexec_fn=small_disk)
    assert ok.returncode == 2
    line = ok.stderr.decode().strip().splitlines()[-1]
    assert line.startswith("error: cannot write") and "file-size limit" in line
    proc = _start(cfg, run, preexec_fn=small_disk)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    after = (run / "metrics.jsonl").read_text()
    assert after.startswith(before)  # every row that existed is still there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a torn last row may be left: it is dropped
        train(cfg, run, progress=False)
    _same_run(run, ref)
    assert not list(run.glob("**/*.tmp"))


def test_atomic_rewrite_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("old content\n")
    code = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))\n"
            "from baselines.runs import atomic_write_text\n"
            f"atomic_write_text({str(path)!r}, 'x' * 10000)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert res.returncode != 0 and b"StorageError" in res.stderr
    assert path.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
    atomic_write_text(path, "new\n")
    assert path.read_text() == "new\n"


def test_loading_a_checkpoint_never_imports_what_it_names(reference, tmp_path):
    _, ref = reference
    state = torch.load(checkpoints(ref)[-1], weights_only=True)
    cfg = json.loads(state["config"])
    cfg["arch"] = "this:Nope"  # importing `this` prints the Zen of Python
    state["config"] = json.dumps(cfg)
    state["digest"] = state_digest(state)  # a consistent file: the loader itself must not import
    bad = tmp_path / "bad.pt"
    torch.save(state, bad)
    sys.modules.pop("this", None)
    ck = load_checkpoint(bad)
    assert ck.config.arch == "this:Nope" and "this" not in sys.modules
    with pytest.raises(ValueError, match=r"arch='this:Nope'\) or --arch this:Nope"):
        load_model(bad)
    assert "this" not in sys.modules


def test_damaged_checkpoints_give_one_line_naming_the_file(reference, tmp_path):
    _, ref = reference
    good = torch.load(checkpoints(ref)[-1], weights_only=True)
    good.pop("digest")  # hand-built checkpoints carry no digest (loaded as before)
    no_model = {k: v for k, v in good.items() if k != "model"}
    torch.save(no_model, tmp_path / "a.pt")
    with pytest.raises(ValueError, match=r"a\.pt.*lacks \['model'\]"):
        load_checkpoint(tmp_path / "a.pt")
    wrong = dict(good)
    wrong["model"] = {k: v[..., :1] if v.dim() else v for k, v in good["model"].items()}
    torch.save(wrong, tmp_path / "b.pt")
    with pytest.raises(ValueError, match=r"weights in .*b\.pt.* do not fit") as err:
        load_model(tmp_path / "b.pt")
    assert "\n" not in str(err.value)
    (tmp_path / "c.pt").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(tmp_path / "c.pt")
    assert read_jsonl(ref / "metrics.jsonl")[0]["it"] == 0


def test_a_symlinked_lock_is_refused_and_its_target_untouched(tmp_path):
    """Issue 24, item 9: the lock file was followed through a symlink and its target truncated."""
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(target)
    with pytest.raises(RunLockedError, match="symbolic link"):
        with RunLock(run):
            pass
    assert target.read_text() == "keep me\n"


def test_a_flipped_bit_in_tensor_data_is_caught_on_load(reference, tmp_path):
    """Issue 24, item 6: a one-bit flip in a checkpoint's weights loaded as changed weights."""
    import shutil

    _, run = reference
    src = checkpoints(run)[-1]
    ck = load_checkpoint(src)
    weight = ck.model["rnn.weight_hh_l0"].numpy().tobytes()
    data = bytearray(src.read_bytes())
    at = data.find(weight)
    assert at > 0
    data[at + len(weight) // 2] ^= 0x01
    bad = tmp_path / "it_bad.pt"
    shutil.copy(src, bad)
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="do not match the digest"):
        load_checkpoint(bad)
    with pytest.raises(ValueError, match="do not match the digest"):
        load_model(bad)
