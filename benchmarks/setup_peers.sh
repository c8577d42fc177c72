#!/usr/bin/env bash
# A separate virtualenv for peer libraries whose pins clash with ta-envs (NeuroGym 2.3.1 pins
# gymnasium 0.29). Used by benchmarks/bench_data.py --peer-python .venv-peers/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-peers
.venv-peers/bin/pip install -q "torch==2.13.0"  # neurogym imports torch; this is the local CPU build
.venv-peers/bin/pip install -q "neurogym==2.3.1"
