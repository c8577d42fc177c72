"""Doctest collection over the packages: skip modules whose optional extra is not installed."""

import importlib.util

collect_ignore = ["docs", "benchmarks", ".venv"]
if importlib.util.find_spec("torch") is None:
    collect_ignore += ["ta_envs/torch_data.py", "tests/toy_models.py"]
