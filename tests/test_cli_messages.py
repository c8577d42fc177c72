"""Every bad input the command line and the library boundary can be given answers with one line
naming the argument and what is allowed (exit 2 at the command line), never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ta_envs.cli import main

torch = pytest.importorskip("torch")


def _run(args, capsys):
    rc = main(args)
    err = capsys.readouterr().err
    return rc, err


@pytest.fixture
def files(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "binary.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    return tmp_path


CASES = [
    (["show", "TemporalFlipFlop-v0", "--kw", "period=1"], "period must be an int >= 2, got 1"),
    (["show", "TemporalFlipFlop-v0", "--kw", "period=2.5"], "period must be an int"),
    (["show", "TemporalFlipFlop-v0", "--seed", "-1"], "--seed must be an int >= 0"),
    (["show", "TemporalFlipFlop-v0", "--kw", "nokey"], "--kw expects key=value"),
    (["show", "{FILES}/binary.json"], "is not UTF-8 text"),
    (["show", "{FILES}/missing.json"], "automaton JSON file not found"),
    (["train", "--seeds", "0", "--out", "{FILES}/t"], "--seeds must be an int >= 1"),
    (["train", "--workers", "0", "--out", "{FILES}/t"], "--workers must be an int >= 1"),
    (["train", "--workers", "-1", "--out", "{FILES}/t"], "--workers must be an int >= 1"),
    (["train", "--task", "FlipFlop-v0", "--kw", "period=3", "--out", "{FILES}/t"],
     "unexpected keyword argument 'period'"),
    (["train", "--hidden", "0", "--out", "{FILES}/t"], "hidden must be an int >= 1"),
    (["train", "--lr", "nan", "--out", "{FILES}/t"], "lr must be a finite number > 0.0"),
    (["train", "--out", "{FILES}/afile"], "--out must be a folder"),
    (["train", "--arch", "mamba", "--init", "orthogonal", "--out", "{FILES}/t"],
     "init/gain do not apply to 'mamba'"),
    (["train", "--model-kw", "bogus=1", "--out", "{FILES}/t"], "not accepted by 'rnn'"),
    (["suite", "--workers", "-3", "--quick", "--out", "{FILES}/s"], "--workers must be an int"),
    (["suite", "--address", "ray://h:1", "--quick", "--out", "{FILES}/s"],
     "address applies to backend 'ray' only"),
    (["suite", "--hidden", "8", "--params", "900", "--quick", "--out", "{FILES}/s"],
     "--hidden or --params"),
    (["suite", "--quick"], "--out is required"),
    (["suite", "compare"], "needs results.json files"),
    (["suite", "compare", "{FILES}/afile"], "is not a suite report"),
    (["suite", "frobnicate", "--out", "{FILES}/s"], "unknown suite action"),
    (["suite", "--tasks", "P=7", "--quick", "--out", "{FILES}/s"], "unknown suite tasks"),
    (["rl", "--seeds", "0", "--out", "{FILES}/r"], "--seeds must be an int >= 1"),
    (["rl", "--core", "nope", "--algo", "recurrent-ppo", "--out", "{FILES}/r"],
     "arch must be one of"),
    (["rings", "lattice", "--sample", "0", "--out", "{FILES}/g"], "sample must be a finite number > 0"),
    (["rings", "lattice", "--coupling", "nan", "--out", "{FILES}/g"],
     "coupling must be a finite number"),
    (["rings", "reservoir", "--tasks", "nope", "--out", "{FILES}/g"], "tasks must be among"),
    (["analyze", "{FILES}/nothing", "--out", "{FILES}/a"], "not a run directory"),
    (["analyze", "--out", "{FILES}/a"], "give run directories"),
    (["demo", "--seed", "-1", "--out", "{FILES}/d"], "seed must be an int >= 0"),
    (["demo", "--iterations", "-1", "--out", "{FILES}/d"], "iterations must be an int >= 1"),
    (["demo", "--out", "{FILES}/afile"], "out must be a folder"),
    (["theory", "nope", "--out", "{FILES}/th"], "experiments must be among"),
    (["study", "timing", "--seeds", "0", "--runs", "{FILES}/r", "--out", "{FILES}/o"],
     "seeds must be an int >= 1"),
    (["study", "timing", "--settings", "P=6", "--runs", "{FILES}/r", "--out", "{FILES}/o"],
     "--settings does not apply to the timing study"),
    (["study", "timing", "--archs", "gru", "--runs", "{FILES}/r", "--out", "{FILES}/o"],
     "--archs does not apply to the timing study"),
    (["study", "controls", "--iterations", "5", "--runs", "{FILES}/r", "--out", "{FILES}/o"],
     "--iterations does not apply to the controls study"),
    (["study", "retrain", "--past-solve", "5", "--runs", "{FILES}/r", "--out", "{FILES}/o"],
     "--past-solve does not apply to the retrain study"),
]


@pytest.mark.parametrize("args, fragment", CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_bad_command_lines_give_one_line_and_exit_2(args, fragment, files, capsys):
    args = [a.replace("{FILES}", str(files)) for a in args]
    rc, err = _run(args, capsys)
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], err


def test_a_diverged_run_is_refused_by_analyze_with_one_line(tmp_path, capsys):
    from baselines.config import TrainConfig
    from baselines.runs import checkpoints
    from baselines.train import train

    train(TrainConfig(task_kwargs={"period": 4}, hidden=4, iterations=2, seq_len=8,
                      eval_size=8, tensorboard=False), tmp_path / "run", progress=False)
    ck = checkpoints(tmp_path / "run")[-1]
    state = torch.load(ck, weights_only=True)
    state["model"] = {k: v * float("nan") for k, v in state["model"].items()}
    from baselines.runs import state_digest

    state["digest"] = state_digest(state)  # as a diverged run would have saved it
    torch.save(state, ck)
    rc, err = _run(["analyze", str(tmp_path / "run"), "--out", str(tmp_path / "a"), "--quiet"],
                   capsys)
    assert rc == 2 and "non-finite weights" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("spec, fragment", [
    ({"edges": None}, "'edges' must be a list, got NoneType"),
    ({"clocks": None}, "'clocks' must be a list, got NoneType"),
    ({"edges": [{"source": "0", "symbol": "a", "target": "0", "resets": "xy"}]},
     "'resets' must be a list of clock names, got str"),
])
def test_malformed_specs_name_the_field(spec, fragment):
    from ta_envs import TimedAutomaton

    base = {"locations": ["0"], "initial": "0", "alphabet": ["a"], "output": {"0": 0},
            "clocks": [{"name": "x", "period": 2}],
            "edges": [{"source": "0", "symbol": "a", "target": "0"}]}
    with pytest.raises((TypeError, ValueError), match=fragment):
        TimedAutomaton.from_dict({**base, **spec})
    assert json.dumps(base)


def test_library_errors_are_usage_errors():
    from ta_envs import UsageError, make_dataset

    ds = make_dataset("TemporalFlipFlop-v0", 2, 3, seed=0)
    for call in (lambda: ds.fixed(2.7), lambda: ds.split(-1), lambda: ds.fixed("5"),
                 lambda: make_dataset("TemporalFlipFlop-v0", 0, 3)):
        with pytest.raises(UsageError):
            call()
    assert np.isfinite(ds.fixed(1).inputs).all()


@pytest.mark.faults
@pytest.mark.parametrize("sig,code", [(2, 130), (15, 143)])
def test_ctrl_c_or_sigterm_prints_one_line_and_exits_128_plus_the_signal(tmp_path, sig, code):
    """Issue 24: Ctrl-C or SIGTERM on train printed a 30-line KeyboardInterrupt traceback."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", "from ta_envs.cli import main; raise "
                             "SystemExit(main())", "train", "--kw", "period=4", "--hidden", "8",
                             "--iterations", "100000", "--seeds", "1", "--quiet", "--out",
                             str(out)], stderr=subprocess.PIPE, env=env,
                            start_new_session=True)  # SIGINT is not ignored in a new session
    metrics = out / "seed_000" / "metrics.jsonl"
    t0 = time.time()
    while time.time() - t0 < 60 and not (metrics.exists() and metrics.read_text().count("\n") > 30):
        time.sleep(0.05)
    proc.send_signal(signal.Signals(sig))
    _, err = proc.communicate(timeout=60)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == code, err.decode()[-2000:]
    assert len(lines) == 1 and "rerun the same command to resume" in lines[0]
    assert "Traceback" not in err.decode()
    assert main(["train", "--kw", "period=4", "--hidden", "8", "--iterations", "40", "--seeds",
                 "1", "--quiet", "--out", str(out)]) == 0  # resumes (and stops at 40... or later)


@pytest.mark.parametrize("kw,match", [
    ({"batch": 100_000_000, "seq_len": 100_000}, r"batch=100000000 x seq_len=100000 needs about"),
    ({"eval_size": 10**9}, r"eval_size=1000000000 x seq_len=96"),
    ({"seed": 2**70}, r"seed must be an int in \[0, 4294967295\]"),
])
def test_train_configs_that_would_take_all_memory_or_overflow_are_refused_first(kw, match):
    """Issue 24: the batch check ran after the iteration-0 evaluation (8.7 GB); seed 2**70
    overflowed deep inside train."""
    from baselines.config import TrainConfig

    with pytest.raises(ValueError, match=match):
        TrainConfig(**kw)


def test_envs_refuse_episodes_that_would_take_all_memory():
    import gymnasium as gym

    with pytest.raises(ValueError, match="episode_length=1000000000 needs about"):
        gym.make("TemporalFlipFlop-v0", episode_length=10**9)
    with pytest.raises(ValueError, match="num_envs=100000 x episode_length=10000"):
        gym.make_vec("TemporalFlipFlop-v0", 100000, vectorization_mode="vector_entry_point",
                     episode_length=10000)


def test_dataset_and_checkpoint_boundaries_answer_in_one_line(tmp_path):
    """Issue 24 messages: a text file to load_checkpoint gave KeyError: 101; sample_into with a
    float64 or read-only array and ds.sample(rng, -1, 5) gave raw numpy errors."""
    import ta_envs
    from baselines.runs import load_checkpoint

    (tmp_path / "text.pt").write_text("hello\n")
    with pytest.raises(ValueError, match=r"text\.pt' is corrupt or not a ta-envs checkpoint"):
        load_checkpoint(tmp_path / "text.pt")
    ds = ta_envs.make_dataset("TemporalFlipFlop-v0", 4, 8, seed=0)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got -1"):
        ds.sample(np.random.default_rng(0), -1, 5)
    b = ds.empty_batch()
    bad = type(b)(**{**b.as_dict(), "inputs": b.inputs.astype(np.float64)})
    with pytest.raises(ValueError, match="batch.inputs must be a float32 array"):
        ds.sample_into(bad)
    ro = ds.empty_batch()
    ro.targets.setflags(write=False)
    with pytest.raises(ValueError, match="batch.targets is read-only"):
        ds.sample_into(ro)
    ok = ds.sample_into(ds.empty_batch())
    ref = next(ta_envs.make_dataset("TemporalFlipFlop-v0", 4, 8, seed=0))
    np.testing.assert_array_equal(ok.targets, ref.targets)  # the stream's first batch


def test_more_boundaries_answer_in_one_line(tmp_path, capsys, monkeypatch):
    """Issue 24 messages: --model-kw depth=abc blamed the signature; --device cuda failed after a
    progress bar; --out /proc/forbidden printed a traceback; a 5,000-digit integer or deep nesting
    in an automaton file did not name the file; a non-UTF-8 byte in metrics.jsonl named no file;
    hand-built checkpoints with a bad iteration or non-tensor entries gave raw errors."""
    from baselines.runs import load_checkpoint, read_metrics

    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    rc, err = _run(["train", "--arch", "toy_models:Deep", "--model-kw", "depth=abc", "--out",
                    str(tmp_path / "m"), "--iterations", "2", "--quiet"], capsys)
    assert rc == 2 and "a model_kw value was refused: depth='abc'" in err
    if not torch.cuda.is_available():
        rc, err = _run(["train", "--device", "cuda", "--out", str(tmp_path / "c"), "--quiet"],
                       capsys)
        assert rc == 2 and "CUDA is not available" in err and not (tmp_path / "c" / "seed_000"
                                                                    ).exists()
    rc, err = _run(["train", "--out", "/proc/forbidden", "--quiet"], capsys)
    assert rc == 2 and "cannot be created" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "big.json").write_text('{"locations": [' + "9" * 5000 + "]}")
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    for f in ("big.json", "deep.json"):
        rc, err = _run(["show", str(tmp_path / f)], capsys)
        assert rc == 2 and f in err and len(err.strip().splitlines()) == 1
    run = tmp_path / "r"
    run.mkdir()
    (run / "metrics.jsonl").write_bytes(b'{"it": 0}\n{"it": 1, "x": "\xff"}\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl, line 2: not UTF-8"):
        read_metrics(run)
    from baselines.config import TrainConfig
    from baselines.runs import checkpoints
    from baselines.train import train

    train(TrainConfig(task_kwargs={"period": 4}, hidden=4, iterations=2, seq_len=8, eval_size=8),
          tmp_path / "t", progress=False)
    good = torch.load(checkpoints(tmp_path / "t")[-1], weights_only=True)
    good.pop("digest")
    for change, match in (({"iteration": -3}, "'iteration' must be an int >= 0"),
                          ({"iteration": "7"}, "'iteration' must be an int >= 0"),
                          ({"model": {"w": [1, 2]}}, "'model' must map names to tensors")):
        torch.save({**good, **change}, tmp_path / "h.pt")
        with pytest.raises(ValueError, match=match):
            load_checkpoint(tmp_path / "h.pt")
