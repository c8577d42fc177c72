"""Native-PPO learning study: which tasks each memory core learns from reward, in how many frames,
beside the same core trained supervised (the suite's recipe), with the no-memory and observed-clock
controls. 5 seeds per row.

    python benchmarks/rl_native_study.py --runs runs/rl_native --workers 2

Writes ``benchmarks/results/rl_native.json`` (per row: seeds, solved, frames to solve as median
[IQR] over the solved seeds with the censored count, the supervised twin's iterations and frames
to solve; per seed: everything) and ``benchmarks/results/rl_native_curves.png``. Run directories
go under ``--runs`` (resumed when the command is repeated).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines.config import TrainConfig  # noqa: E402
from baselines.native_ppo import NativePPOConfig, frames_to_solve, train_native  # noqa: E402
from baselines.provenance import provenance  # noqa: E402
from baselines.runs import read_metrics  # noqa: E402
from baselines.suite.protocol import RECIPE  # noqa: E402
from baselines.train import train  # noqa: E402
from baselines.workers import run_jobs  # noqa: E402

TASKS = {  # name: (env id, kwargs, frame budget per seed)
    "P=6": ("TemporalFlipFlop-v0", {"period": 6}, 500_000),
    "P=12": ("TemporalFlipFlop-v0", {"period": 12}, 1_000_000),
    "P=24": ("TemporalFlipFlop-v0", {"period": 24}, 2_000_000),
    "relative tau=5": ("RelativeTimingFlipFlop-v0", {"tau": 5}, 2_000_000),
    "FlipFlop 3 bits": ("FlipFlop-v0", {"n_bits": 3}, 2_000_000),
}
CORES = ("gru", "lstm", "rnn")
#: (row name, task, core, observe_clock, full budget: no early stop)
CONTROLS = (("no memory (mlp)", "P=24", "mlp", False), ("no memory (mlp)", "relative tau=5",
                                                          "mlp", False),
            ("clock observed (gru)", "P=24", "gru", True))
#: The other built-ins with the recurrent interface, on P = 24 (``--extra-cores``).
EXTRA_CORES = ("linear", "lru", "mingru", "mamba")
EXTRA_FRAMES = 1_000_000
SUPERVISED_ITERATIONS = 3000
THRESHOLD = 0.99


def rows_of(seeds: int, scale: float = 1.0, extra: bool = False) -> list[dict[str, Any]]:
    rows = []
    for task, (env_id, kw, budget) in TASKS.items():
        for core in CORES:
            rows.append({"row": core, "task": task, "env_id": env_id, "kwargs": kw, "core": core,
                         "observe_clock": False, "frames": budget,
                         "stop_at": None if task == "P=24" else THRESHOLD})
    for name, task, core, clock in CONTROLS:
        env_id, kw, budget = TASKS[task]
        rows.append({"row": name, "task": task, "env_id": env_id, "kwargs": kw, "core": core,
                     "observe_clock": clock, "frames": budget, "stop_at": None})
    if extra:  # stopped at 0.99: an unsolved seed runs its whole (smaller) budget
        env_id, kw, _ = TASKS["P=24"]
        rows += [{"row": core, "task": "P=24", "env_id": env_id, "kwargs": kw, "core": core,
                  "observe_clock": False, "frames": EXTRA_FRAMES, "stop_at": THRESHOLD,
                  "supervised": False} for core in EXTRA_CORES]
    for r in rows:
        r["seeds"] = list(range(seeds))
        r["frames"] = max(1, int(r["frames"] * scale))
    return rows


def rl_config(row: dict[str, Any], seed: int) -> NativePPOConfig:
    # P = 24 runs train their whole budget and checkpoint every update: the analysis tracks them
    return NativePPOConfig(env_id=row["env_id"], env_kwargs=row["kwargs"], core=row["core"],
                           observe_clock=row["observe_clock"], frames=row["frames"],
                           stop_at=row["stop_at"], seed=seed,
                           framework=row.get("framework", "torch"),
                           eval_every=1 if row["task"] == "P=24" and row["core"] in
                           ("gru", "lstm", "rnn", "mlp") else 5)


def twin_config(row: dict[str, Any], seed: int) -> TrainConfig:
    base = replace(rl_config(row, seed).twin(), **RECIPE)
    its = row.get("supervised_iterations", SUPERVISED_ITERATIONS)
    return replace(base, iterations=its, stop_at_td=THRESHOLD
                   if row["env_id"] != "FlipFlop-v0" else None, checkpoint_every=its, init=None)


def slug(row: dict[str, Any]) -> str:
    t = row["task"].replace(" ", "_").replace("=", "")
    return f"{t}__{row['row'].replace(' ', '_').replace('(', '').replace(')', '')}"


def job(j: tuple[str, dict[str, Any], int, str]) -> str:
    kind, row, seed, run_dir = j
    if kind == "rl":
        train_native(rl_config(row, seed), run_dir, progress=False)
    else:
        train(twin_config(row, seed), run_dir, progress=False)
    return run_dir


def supervised_solved_at(rows: list[dict[str, Any]]) -> int | None:
    for r in rows:
        v = r.get("val_td_acc")
        v = r.get("val_acc") if v is None and "val_acc" in r else v
        if v is not None and v >= THRESHOLD:
            return int(r["it"])
    return None


def quartiles(xs: list[float]) -> dict[str, Any]:
    if not xs:
        return {"n": 0, "median": None, "q1": None, "q3": None}
    a = np.asarray(xs, float)
    return {"n": len(xs), "median": float(np.median(a)), "q1": float(np.percentile(a, 25)),
            "q3": float(np.percentile(a, 75))}


def _seed_entry(row: dict[str, Any], runs: Path, s: int) -> dict[str, Any]:
    """One seed of a row: frames to solve, final evaluation, speed; and its supervised twin."""
    m = read_metrics(runs / slug(row) / f"rl_seed_{s:03d}")
    ev = [r for r in m if "val_acc" in r]
    entry = {"seed": s, "frames_to_solve": frames_to_solve(m, THRESHOLD),
             "frames": m[-1]["frames"], "wall_s": m[-1]["wall_s"],
             "final_td_acc": ev[-1].get("val_td_acc"), "final_ti_acc": ev[-1].get("val_ti_acc"),
             "final_acc": ev[-1]["val_acc"],
             "fps": m[-1]["frames"] / max(m[-1]["wall_s"], 1e-9)}
    sup_dir = runs / slug(row) / f"sup_seed_{s:03d}"
    if sup_dir.exists():
        it = supervised_solved_at(read_metrics(sup_dir))
        T = int(twin_config(row, s).seq_len)
        entry["supervised_iterations_to_solve"] = it
        entry["supervised_frames_to_solve"] = None if it is None else it * RECIPE["batch"] * T
    return entry


def _supervised_summary(row: dict[str, Any], per_seed: list[dict[str, Any]]
                        ) -> dict[str, Any] | None:
    """The supervised twins over seeds (None where a row has no twin: MLP, the clock observed,
    or twins switched off)."""
    if row["core"] == "mlp" or row["observe_clock"] or row.get("supervised") is False:
        return None
    sup = [e.get("supervised_iterations_to_solve") for e in per_seed]
    sup_solved = [x for x in sup if x is not None]
    sup_frames = [e["supervised_frames_to_solve"] for e in per_seed
                  if e.get("supervised_frames_to_solve") is not None]
    return {"seeds": len(sup), "solved": len(sup_solved),
            "iterations_to_solve": quartiles(sup_solved),
            "frames_to_solve": quartiles(sup_frames)}


def summarise(row: dict[str, Any], runs: Path) -> dict[str, Any]:
    """A row over its seeds: frames to solve (median [IQR] over solved, censored counted),
    final accuracy, speed and the supervised twin."""
    per_seed = [_seed_entry(row, runs, s) for s in row["seeds"]]
    solved = [e["frames_to_solve"] for e in per_seed if e["frames_to_solve"] is not None]
    return {"row": row["row"], "task": row["task"], "env_id": row["env_id"],
            "env_kwargs": row["kwargs"], "core": row["core"], "observe_clock": row["observe_clock"],
            "frame_budget": row["frames"], "stop_at": row["stop_at"], "seeds": len(per_seed),
            "solved": len(solved), "censored": len(per_seed) - len(solved),
            "frames_to_solve": quartiles(solved),
            "final_td_acc": quartiles([e["final_td_acc"] for e in per_seed
                                       if e["final_td_acc"] is not None]),
            "final_acc": quartiles([e["final_acc"] for e in per_seed]),
            "fps": quartiles([e["fps"] for e in per_seed]),
            "supervised": _supervised_summary(row, per_seed),
            "per_seed": per_seed}


def _curve_on(grid: np.ndarray, run: Path) -> np.ndarray:
    """A run's evaluation TD accuracy (all-step accuracy without TD steps) against frames,
    interpolated on ``grid`` (held at the last value past the run's end)."""
    m = [r for r in read_metrics(run) if "val_acc" in r]
    c = [(r["frames"], r["val_td_acc"] if r.get("val_td_acc") is not None else r["val_acc"])
         for r in m]
    return np.interp(grid, [f for f, _ in c], [v for _, v in c], right=c[-1][1])


def curves_figure(results: list[dict[str, Any]], runs: Path, path: Path) -> None:
    from baselines.figures import save_figure, subplots

    tasks = list(TASKS)
    fig, axes = subplots(1, len(tasks), figsize=(4 * len(tasks), 3.4), sharey=True)
    colors = {"gru": "tab:blue", "lstm": "tab:orange", "rnn": "tab:green", "mlp": "tab:gray",
              "linear": "tab:brown", "lru": "tab:purple", "mingru": "tab:olive", "mamba": "tab:cyan"}
    for ax, task in zip(axes, tasks):
        for res in (r for r in results if r["task"] == task):
            row = next(x for x in ROWS if x["row"] == res["row"] and x["task"] == task)
            grid = np.linspace(0, row["frames"], 60)
            ys = np.array([_curve_on(grid, runs / slug(row) / f"rl_seed_{s:03d}")
                           for s in row["seeds"]])
            med, q1, q3 = (np.median(ys, 0), np.percentile(ys, 25, 0), np.percentile(ys, 75, 0))
            n = len(ys)
            color = "tab:red" if row["observe_clock"] else colors.get(row["core"], "k")
            ax.plot(grid / 1e6, med, color=color, label=f"{res['row']} (n={n})")
            ax.fill_between(grid / 1e6, q1, q3, color=color, alpha=0.2, lw=0)
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("frames (millions)")
        ax.axhline(THRESHOLD, color="k", ls=":", lw=0.8)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("evaluation TD accuracy (FlipFlop: all bits)\nmedian and IQR over seeds")
    fig.suptitle("native-ppo learning curves (5 seeds per line)", fontsize=10)
    save_figure(fig, path)


ROWS: list[dict[str, Any]] = []


DEFAULT_OUT = str(Path(__file__).resolve().parent / "results" / "rl_native.json")


def parse_args() -> argparse.Namespace:
    """The command line; the rows it selects are set into `ROWS`."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", default="runs/rl_native")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--frames-scale", type=float, default=1.0, help="shrink the budgets (a smoke "
                    "test)")
    ap.add_argument("--supervised-iterations", type=int, default=SUPERVISED_ITERATIONS)
    ap.add_argument("--no-supervised", action="store_true", help="skip the supervised twins")
    ap.add_argument("--extra-cores", action="store_true",
                    help=f"add P = 24 rows for {', '.join(EXTRA_CORES)} (no supervised twin)")
    ap.add_argument("--tasks", nargs="*", default=None, choices=list(TASKS),
                    help="only these tasks' rows (needs --out away from the committed JSON)")
    ap.add_argument("--rows", nargs="*", default=None,
                    help="only these rows, by name: gru, lstm, rnn, 'no memory (mlp)', 'clock "
                         "observed (gru)', ... (needs --out away from the committed JSON)")
    ap.add_argument("--framework", default="torch", choices=["torch", "jax"],
                    help="native-ppo's engine (jax: needs --out away from the committed JSON)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    a = ap.parse_args()
    partial = a.tasks is not None or a.rows is not None or a.framework != "torch"
    if partial and Path(a.out).resolve() == Path(DEFAULT_OUT).resolve():
        ap.error("--tasks/--rows/--framework jax make another table: give --out elsewhere (the "
                 "committed rl_native.json holds every row of the torch engine)")
    ROWS[:] = [r for r in rows_of(a.seeds, a.frames_scale, a.extra_cores)
               if (a.tasks is None or r["task"] in a.tasks)
               and (a.rows is None or r["row"] in a.rows)]
    if not ROWS:
        ap.error("no row has those tasks and names")
    for r in ROWS:
        r["supervised_iterations"] = a.supervised_iterations
        r["framework"] = a.framework
        if a.no_supervised:
            r["supervised"] = False
    return a


def main() -> None:
    a = parse_args()
    runs = Path(a.runs)
    jobs = [("rl", r, s, str(runs / slug(r) / f"rl_seed_{s:03d}")) for r in ROWS for s in r["seeds"]]
    if not a.no_supervised:
        jobs += [("sup", r, s, str(runs / slug(r) / f"sup_seed_{s:03d}")) for r in ROWS
                 if r["core"] != "mlp" and not r["observe_clock"] and r.get("supervised", True)
                 for s in r["seeds"]]
    run_jobs(job, jobs, a.workers, desc="runs")
    results = [summarise(r, runs) for r in ROWS]
    curves_figure(results, runs, Path(a.out).with_name(Path(a.out).stem + "_curves.png"))
    out = {"provenance": provenance(), "threshold": THRESHOLD, "recipe": {
        k: v for k, v in NativePPOConfig(framework=a.framework).to_dict().items()
        if k not in ("env_id", "env_kwargs", "core", "frames", "seed", "observe_clock", "stop_at")},
        "supervised_recipe": {**RECIPE, "iterations": a.supervised_iterations,
                              "stop_at_td": THRESHOLD}, "rows": results}
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    for r in results:
        f = r["frames_to_solve"]
        sup = r["supervised"]
        s = "-" if not sup else f"{sup['solved']}/{sup['seeds']}, {sup['iterations_to_solve']['median']}"
        print(f"{r['task']:16s} {r['row']:22s} solved {r['solved']}/{r['seeds']} "
              f"frames {f['median']} [{f['q1']}, {f['q3']}]  supervised {s}")


if __name__ == "__main__":
    main()
