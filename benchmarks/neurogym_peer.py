"""NeuroGym 2.3.1 ``Dataset`` throughput, run in its own virtualenv (it pins gymnasium 0.29, which
ta-envs cannot share). Prints one JSON line: batches/s for each requested shape."""

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

    shapes = json.loads(sys.argv[1])
    min_time = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    out = []
    for batch, seq in shapes:
        ds = ngym.Dataset("PerceptualDecisionMaking-v0", env_kwargs={"dt": 100},
                          batch_size=batch, seq_len=seq)
        ds()
        rates = []
        for _ in range(3):
            n, t0 = 0, time.perf_counter()
            while True:
                ds()
                n += 1
                dt = time.perf_counter() - t0
                if dt >= min_time:
                    break
            rates.append(n / dt)
        rates.sort()
        out.append({"batch": batch, "seq_len": seq, "median": rates[1], "best": rates[-1]})
    print(json.dumps({"version": ngym.__version__, "rows": out}))


if __name__ == "__main__":
    main()
