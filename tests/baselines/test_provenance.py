"""Provenance: every results JSON records where it came from; runs remember each commit that
touched them, and a mix is reported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from baselines.provenance import (  # noqa: E402
    cache_key,
    code_hash,
    provenance,
    record_run,
    run_commits,
)


def test_the_record_names_commit_versions_threads_platform_and_command():
    p = provenance(command="ta-envs study timing")
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          cwd=__import__("pathlib").Path(__file__).parent).stdout.strip()
    assert p["git_commit"] == (head or None)
    assert isinstance(p["dirty"], bool) or p["dirty"] is None
    assert p["versions"]["torch"] == torch.__version__ and p["versions"]["numpy"]
    assert p["versions"]["ta-envs"] and p["versions"]["gymnasium"]
    assert p["threads"] == torch.get_num_threads() and p["platform"]
    assert p["command"] == "ta-envs study timing"


def test_a_process_that_computed_with_jax_records_jax_and_xla_flags():
    pytest.importorskip("jax")
    code = ("import json, os; os.environ['XLA_FLAGS'] = '--xla_cpu_multi_thread_eigen=false'; "
            "from baselines.provenance import provenance; a = provenance(); import jax; "
            "b = provenance(); print(json.dumps([a, b]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = json.loads(out.stdout)
    assert "jax" not in before["versions"] and "xla_flags" not in before
    import importlib.metadata as md

    assert after["versions"]["jax"] == md.version("jax")
    assert after["xla_flags"] == "--xla_cpu_multi_thread_eigen=false"


def test_runs_made_at_different_commits_are_reported_as_mixed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    record_run(a)
    record_run(b)
    same = run_commits([a, b])
    assert not same["mixed"] and same["unrecorded"] == 0 and len(same["commits"]) == 1
    rec = json.loads((b / "provenance.jsonl").read_text())
    rec["git_commit"] = "0" * 40  # b was resumed at another commit
    with (b / "provenance.jsonl").open("a") as f:
        f.write(json.dumps(rec) + "\n")
    mixed = run_commits([a, b, tmp_path / "c"])
    assert mixed["mixed"] and "0" * 40 in mixed["commits"] and mixed["unrecorded"] == 1


def test_a_code_hash_follows_every_source_file_and_a_cache_key_its_config(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    (pkg / "notes.txt").write_text("not code")
    first = code_hash(pkg)
    (pkg / "notes.txt").write_text("edited")
    assert code_hash(pkg) == first  # only Python source counts
    (pkg / "sub" / "b.py").write_text("y = 3\n")  # a nested file
    assert code_hash(pkg) != first
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    assert code_hash(pkg) == first
    (pkg / "sub" / "b.py").rename(pkg / "c.py")  # the same bytes under another name
    assert code_hash(pkg) != first
    with pytest.raises(ValueError, match="does not exist"):
        code_hash(tmp_path / "missing")
    assert cache_key({"a": 1, "b": [2, 3]}, "h") == cache_key({"b": [2, 3], "a": 1}, "h")
    assert cache_key({"a": 1}, "h") != cache_key({"a": 1.5}, "h")
    assert cache_key({"a": 1}, "h") != cache_key({"a": 1}, "other code")


def test_training_and_the_suite_write_provenance(tmp_path):
    from baselines.config import TrainConfig
    from baselines.suite import SuiteConfig, run_suite
    from baselines.train import train

    train(TrainConfig(task_kwargs={"period": 4}, hidden=4, iterations=2, seq_len=8, eval_size=8),
          tmp_path / "run", progress=False)
    train(TrainConfig(task_kwargs={"period": 4}, hidden=4, iterations=4, seq_len=8, eval_size=8),
          tmp_path / "run", progress=False)  # a resume adds a line
    assert (tmp_path / "run" / "provenance.jsonl").read_text().count("\n") == 2
    rep = run_suite(SuiteConfig(hidden=4, seeds=1, quick=True, mechanism=False,
                                tasks=("periodic P=6",)), tmp_path / "s", show_progress=False)
    on_disk = json.loads((tmp_path / "s" / "results.json").read_text())
    assert on_disk["provenance"]["versions"]["torch"] == torch.__version__
    assert rep["provenance"]["git_commit"] == on_disk["provenance"]["git_commit"]
    # the threads a report names are those its runs trained with, not this process's: rerun
    # from the cache (no training here) in a process set to 2 threads
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        again = run_suite(SuiteConfig(hidden=4, seeds=1, quick=True, mechanism=False,
                                      tasks=("periodic P=6",)), tmp_path / "s",
                          show_progress=False)
    finally:
        torch.set_num_threads(before)
    assert again["environment"]["machine"].endswith(", 1 torch thread(s) per run")


@pytest.mark.parametrize("status, dirty", [
    (" M benchmarks/results/analysis/timing.json", False),  # a study wrote its result
    ("M benchmarks/results/a.json\n M benchmarks/results/b.json", False),  # as _git strips it
    ("M  analysis/study.py", True),  # staged
    (" M benchmarks/results/a.json\n M baselines/train.py", True),  # and code changed too
    (" M analysis/study.py", True),
    ("", False),
])
def test_dirty_means_changed_code_not_written_results(monkeypatch, status, dirty):
    import baselines.provenance as prov

    def fake_git(*args: str) -> str | None:
        return status if args[0] == "status" else "abc"

    monkeypatch.setattr(prov, "_git", fake_git)
    assert prov.provenance()["dirty"] is dirty
