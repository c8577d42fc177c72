"""NeuroGym 2.3.1 ``Dataset`` throughput, run in its own virtualenv (it pins gymnasium 0.29, which
ta-envs cannot share). A small server for interleaved timing: it reads one JSON request per line,
``{"batch": B, "seq_len": T, "min_time": s}``, draws batches of that shape for ``s`` seconds and
answers ``{"seconds_per_call": ..., "version": ...}`` on one line."""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")


def main() -> None:
    import neurogym as ngym

    datasets = {}
    for line in sys.stdin:
        req = json.loads(line)
        key = (req["batch"], req["seq_len"])
        if key not in datasets:
            datasets[key] = ngym.Dataset("PerceptualDecisionMaking-v0", env_kwargs={"dt": 100},
                                         batch_size=key[0], seq_len=key[1])
            datasets[key]()  # warm-up
        ds = datasets[key]
        n, t0 = 0, time.perf_counter()
        while True:
            ds()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= req["min_time"]:
                break
        print(json.dumps({"seconds_per_call": dt / n, "version": ngym.__version__}), flush=True)


if __name__ == "__main__":
    main()
