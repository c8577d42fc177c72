"""The ``ta-envs`` command line: ``list`` and ``show`` (task inspection); ``train``, ``demo`` and
``suite`` (reference learners and the benchmark suite; ``torch`` extra), ``rl`` (SB3 agents; ``rl``
extra), ``analyze`` (fixed points, orbits, bifurcation; ``analysis`` extra), ``theory`` (linear-RNN
learning dynamics; ``analysis`` extra), ``rings`` (ring oscillators and the reservoir baseline)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .render import timeline
from .simulate import rollout
from .tasks import FACTORIES, Task, make_task


def parse_kw(items: Sequence[str]) -> dict[str, Any]:
    """``["period=12", "state_dependent=true", "automaton=spec.json"]`` -> kwargs; values are read
    as JSON where they parse (numbers, true/false, null, lists), else kept as strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--kw expects key=value, got {item!r}")
        try:
            out[key] = json.loads(val)
        except json.JSONDecodeError:
            out[key] = val
    return out


def _sample_len(task: Task) -> int:
    period = task.params.get("period")
    return int(min(task.episode_length, 2 * period if period else 48))


def _td_pairs(task: Task) -> list[tuple[str, str]]:
    a, comp = task.automaton, task.automaton.compiled
    rows, cols = np.nonzero(comp.time_dependent)
    return sorted({(a.locations[comp.location[c]], a.alphabet[s]) for c, s in zip(rows, cols)})


def _describe(task_id: str, task: Task, seed: int) -> str:
    a = task.automaton
    comp = a.compiled
    lines = [f"{task_id}: {task.rule}", f"params: {dict(task.params)}",
             f"locations: {list(a.locations)} (initial {a.initial!r}; outputs "
             f"{dict(zip(a.locations, a.outputs))})",
             f"alphabet: {list(a.alphabet)}  probs: {[round(p, 4) for p in task.symbol_probs]}",
             "clocks: " + (", ".join(f"{c.name} (period {c.period})" if c.period else
                                     f"{c.name} (unbounded, saturates at {m})"
                                     for c, m in zip(a.clocks, comp.clock_max)) or "none"),
             f"configurations: {comp.num_configs} reachable, {comp.num_minimal} after minimisation",
             f"time-dependent (location, symbol): {_td_pairs(task) or 'none'}",
             f"edges ({len(a.edges)}):"]
    shown = a.edges if len(a.edges) <= 24 else a.edges[:24]
    lines += [f"  {e.describe()}" for e in shown]
    if len(a.edges) > len(shown):
        lines.append(f"  ... {len(a.edges) - len(shown)} more")
    T = _sample_len(task)
    r = rollout(task, task.sample_symbols(np.random.default_rng(seed), (1, T)))
    lines.append(f"sample trace (seed {seed}, {T} steps; D = time-dependent step):")
    lines.append(timeline([a.alphabet[s] for s in r.symbols[0]], list(r.targets[0]),
                          list(r.mask_td[0]), theta=list(r.theta[0])))
    return "\n".join(lines)


#: Subcommands implemented in the extras: (help, module, add-arguments function, run function,
#: whether the run function takes the parsed ``--kw`` task kwargs).
LAZY: dict[str, tuple[str, str, str, str, bool]] = {
    "train": ("train reference learners on a task, many seeds", "baselines.cli",
              "add_train_args", "run_train", True),
    "suite": ("benchmark an architecture on the task ladder", "baselines.cli", "add_suite_args",
              "run_suite_cli", False),
    "rl": ("stable-baselines3 agents on a task, several seeds", "baselines.rl_cli", "add_rl_args",
           "run_rl", True),
    "analyze": ("fixed points, orbits and the bifurcation of trained runs", "analysis.cli",
                "add_analyze_args", "run_analyze", False),
    "theory": ("linear-RNN learning dynamics: the four properties, as figures and numbers",
               "analysis.theory.cli", "add_theory_args", "run_theory", False),
    "rings": ("differentiating ring oscillators: periods, lattices, reservoir baseline",
              "baselines.rings_cli", "add_rings_args", "run_rings", False),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ta-envs", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="registered task ids with their complexity")
    show = sub.add_parser("show", help="an automaton, its configuration count and a sample trace")
    show.add_argument("task", help="registered id or automaton JSON path")
    show.add_argument("--kw", nargs="*", default=[], metavar="K=V", help="task kwargs")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--json", action="store_true", help="print the automaton spec as JSON")
    demo = sub.add_parser("demo", help="one seed of the paper's setting, with report.md")
    demo.add_argument("--out", default="ta_envs_demo")
    demo.add_argument("--seed", type=int, default=2, help="default: a seed showing all phases")
    demo.add_argument("--iterations", type=int, default=2500)
    lazy = {name: sub.add_parser(name, help=spec[0]) for name, spec in LAZY.items()}
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] in LAZY:  # its options live in an extra (imported only when used)
        _, module, add_args, _, _ = LAZY[argv[0]]
        getattr(importlib.import_module(module), add_args)(lazy[argv[0]])
    args = parser.parse_args(argv)

    if args.cmd in LAZY:
        _, module, _, run, with_kw = LAZY[args.cmd]
        fn = getattr(importlib.import_module(module), run)
        try:
            return fn(args, parse_kw(args.kw)) if with_kw else fn(args)
        except (ValueError, TypeError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if args.cmd == "demo":
        from baselines.cli import run_demo

        return run_demo(args.out, seed=args.seed, iterations=args.iterations)

    if args.cmd == "list":
        for task_id in FACTORIES:
            if task_id == "TimedAutomaton-v0":
                print(f"{task_id:28s} any automaton spec (automaton=obj|dict|path.json)")
                continue
            task = make_task(task_id)
            comp = task.automaton.compiled
            print(f"{task_id:28s} |Σ|={len(task.automaton.alphabet):<3d} "
                  f"configs={comp.num_configs:<4d} minimal={comp.num_minimal:<4d} {task.rule}")
        return 0
    try:
        task = make_task(args.task, **parse_kw(args.kw))
    except (ValueError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(task.automaton.to_json())
    else:
        print(_describe(args.task, task, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
