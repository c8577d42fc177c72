"""The ``ta-envs`` command line.

``list`` and ``show`` (task inspection) live here. Every other subcommand is found through the
entry-point group ``ta_envs.commands`` (declared in ``pyproject.toml``; the same lazy
``module:attr`` idea as ``gym.register``): each entry names a `Command`, whose module is
imported only when that subcommand (or ``--help``) needs it. Another package can add commands the
same way.

A [`UsageError`][ta_envs.validation.UsageError] (a bad argument, a busy run directory, a full disk) is
printed as one line and exits 2; Ctrl-C or SIGTERM prints one line (what was saved, the command to
resume) and exits 130 or 143; any other exception is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import numpy as np

from .catalog import FACTORIES, make_task
from .closed_loop import interval_reproduction
from .render import timeline
from .simulate import rollout
from .tasks import Task
from .validation import Interrupted, InvalidValue, UsageError, check_int

GROUP = "ta_envs.commands"


@dataclass(frozen=True)
class Command:
    """A subcommand: its help line, how it adds its arguments, and what it runs (``run(args)``
    returns the exit status)."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def parse_kw(items: Sequence[str], what: str = "--kw") -> dict[str, Any]:
    """``["period=12", "state_dependent=true", "automaton=spec.json"]`` -> kwargs; values are read
    as JSON where they parse (numbers, true/false, null, lists), else kept as strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise InvalidValue(f"{what} expects key=value, got {item!r}")
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


def describe(task_id: str, task: Task, seed: int) -> str:
    """The text ``ta-envs show`` prints: rule, spec, configuration counts and a sample trace."""
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


def _run_list(args: argparse.Namespace) -> int:
    for task_id in FACTORIES:
        if task_id == "TimedAutomaton-v0":
            print(f"{task_id:28s} any automaton spec (automaton=obj|dict|path.json)")
            continue
        task = make_task(task_id)
        comp = task.automaton.compiled
        print(f"{task_id:28s} |Σ|={len(task.automaton.alphabet):<3d} "
              f"configs={comp.num_configs:<4d} minimal={comp.num_minimal:<4d} {task.rule}")
    rsg = interval_reproduction().automaton
    comp = rsg.compiled
    print(f"{'IntervalReproduction-v0':28s} |Σ|={len(rsg.alphabet):<3d} "
          f"configs={comp.num_configs:<4d} minimal={comp.num_minimal:<4d} closed loop: "
          "cue|action; go exactly the ready-set interval after set")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    check_int("--seed", args.seed, 0)
    task = make_task(args.task, **parse_kw(args.kw))
    print(task.automaton.to_json() if args.json else describe(args.task, task, args.seed))
    return 0


def _add_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", help="registered id or automaton JSON path")
    p.add_argument("--kw", nargs="*", default=[], metavar="K=V", help="task kwargs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the automaton spec as JSON")


CORE: dict[str, Command] = {
    "list": Command("registered task ids with their complexity", lambda p: None, _run_list),
    "show": Command("an automaton, its configuration count and a sample trace", _add_show,
                    _run_show),
}


def commands() -> dict[str, Any]:
    """Subcommand name -> `Command` or (not yet loaded) entry point."""
    found: dict[str, Any] = dict(CORE)
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def _load(name: str, entry: Any) -> Command:
    cmd = entry if isinstance(entry, Command) else entry.load()
    if not isinstance(cmd, Command):
        raise TypeError(f"entry point {name!r} of {GROUP} is not a ta_envs.cli.Command")
    return cmd


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for a usage error)."""
    from . import __version__

    argv = list(sys.argv[1:] if argv is None else argv)
    table = commands()
    parser = argparse.ArgumentParser(prog="ta-envs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"ta-envs {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    listing = wanted not in table  # --help or a typo: load every command for its help line
    loaded: dict[str, Command] = {}
    for name, entry in table.items():
        if listing or name == wanted:
            loaded[name] = _load(name, entry)
            p = sub.add_parser(name, help=loaded[name].help, description=loaded[name].help)
            loaded[name].add_arguments(p)
        else:
            sub.add_parser(name)
    args = parser.parse_args(argv)
    old = _on_sigterm()
    try:
        return loaded[args.cmd].run(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        signum = getattr(err, "signum", signal.SIGINT)
        name = signal.Signals(signum).name
        print(f"interrupted ({name}): the work completed so far is saved (runs checkpoint their "
              f"last finished iteration); rerun the same command to resume: ta-envs "
              f"{' '.join(argv)}", file=sys.stderr)
        return 128 + int(signum)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _on_sigterm() -> Any:
    """Turn SIGTERM into `Interrupted` (like Ctrl-C) while a command runs (main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    return signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":  # ``python -m ta_envs.cli``: run the importable module's main
    from ta_envs.cli import main as _main

    raise SystemExit(_main())
