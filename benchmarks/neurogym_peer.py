"""NeuroGym 2.3.1 ``Dataset`` throughput, run in its own virtualenv (it pins gymnasium 0.29, which
ta-envs cannot share). Prints one JSON line: batches/s for each requested shape."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import rate  # noqa: E402  (sets OMP_NUM_THREADS=1)

warnings.filterwarnings("ignore")


def main() -> None:
    import neurogym as ngym

    shapes = json.loads(sys.argv[1])
    min_time = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    out = []
    for batch, seq in shapes:
        ds = ngym.Dataset("PerceptualDecisionMaking-v0", env_kwargs={"dt": 100},
                          batch_size=batch, seq_len=seq)
        r = rate(ds, 1.0, min_time=min_time, repeats=3)
        out.append({"batch": batch, "seq_len": seq, **r})
    print(json.dumps({"version": ngym.__version__, "rows": out}))


if __name__ == "__main__":
    main()
