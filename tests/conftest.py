"""Test session setup: one torch thread (deterministic and fast on the 2-core CI machines), and
SB3's default logger folder inside pytest's temporary directory (a bare ``model.learn`` otherwise
leaves an ``SB3-<date>`` folder in the system's temp directory per call)."""

from __future__ import annotations

import os

import pytest

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the core suite needs only numpy + gymnasium
    pass


@pytest.fixture(autouse=True, scope="session")
def _sb3_logs_in_pytest_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["SB3_LOGDIR"] = str(tmp_path_factory.mktemp("sb3_logs"))
