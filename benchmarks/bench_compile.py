"""Compiling automata: build time against size, the bound, and minimisation.

    python benchmarks/bench_compile.py

Builds (compile + validation) ``TemporalFlipFlop-v0`` at P = 20,000 (a schedule: no scan) and
relative-timing automata of growing size up to about 10^6 configurations, times the minimal
configuration count (Hopcroft partition refinement, computed on first use), and shows that
automata above ``max_configs`` are refused at once with the count named. One thread. Prints a
Markdown table and writes ``benchmarks/results/bench_compile.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import exponent, table, write_json  # noqa: E402

from ta_envs import make_task  # noqa: E402
from ta_envs.validation import UsageError  # noqa: E402

CASES = [("TemporalFlipFlop-v0", {"period": 20000}),
         ("RelativeTimingFlipFlop-v0", {"tau": 50, "period": 100}),
         ("RelativeTimingFlipFlop-v0", {"tau": 150, "period": 300}),
         ("RelativeTimingFlipFlop-v0", {"tau": 500, "period": 1000})]
REFUSED = [("RelativeTimingFlipFlop-v0", {"tau": 10**6, "period": 10**6}),
           ("TemporalFlipFlop-v0", {"period": 10**9, "state_dependent": True})]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_compile.json"))
    a = p.parse_args()
    rows = []
    for tid, kw in CASES:
        t0 = time.perf_counter()
        comp = make_task(tid, **kw).automaton.compiled
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        minimal = comp.num_minimal
        mini = time.perf_counter() - t0
        rows.append({"automaton": f"{tid} {kw}", "configurations": comp.num_configs,
                     "build s": build, "minimal": minimal, "minimise s": mini,
                     "schedule (no scan)": comp.schedule is not None})
    for tid, kw in REFUSED:
        t0 = time.perf_counter()
        try:
            n = make_task(tid, **kw).automaton.compiled.num_configs
            msg = f"built ({n:,} configurations)"
        except UsageError as err:
            msg = str(err).split(";")[0]
        rows.append({"automaton": f"{tid} {kw}", "refused in s": time.perf_counter() - t0,
                     "message": msg})
    built = [r for r in rows if "build s" in r]
    print(table(built, ["automaton", "configurations", "build s", "minimal", "minimise s",
                        "schedule (no scan)"]))
    print()
    print(table([r for r in rows if "refused in s" in r], ["automaton", "refused in s",
                                                             "message"]))
    general = [r for r in built if not r["schedule (no scan)"]]
    e_b = exponent([r["configurations"] for r in general], [r["build s"] for r in general])
    e_m = exponent([r["configurations"] for r in general], [r["minimise s"] for r in general])
    print(f"\nbuild ~ configs^{e_b:.2f}, minimise ~ configs^{e_m:.2f} (general automata)")
    write_json(a.out, rows, scaling_exponent_build=e_b, scaling_exponent_minimise=e_m,
               goal="period=20000 builds in under 2 s; about 10^6 configurations in under 10 s")


if __name__ == "__main__":
    main()
