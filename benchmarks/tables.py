"""Markdown tables of the committed results, read from the JSON in ``benchmarks/results``.

The documentation pages hold markers such as ``<!-- table: timing_offsets -->``; the MkDocs hook
(``docs/hooks.py``) replaces each with the table of that name, so every number on the results
pages comes from the JSON next to its figure. ``python benchmarks/tables.py NAME`` prints one.
Standard library only (the docs build needs nothing else).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _load(rel: str) -> Any:
    path = RESULTS / rel
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the command that makes it (see the page)")
    return json.loads(path.read_text())


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v:
            return "-"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 100:
            return f"{v:.0f}"
        return f"{v:.{digits}g}"
    return str(v)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in r) + " |"
            for r in rows]
    return "\n".join(out)


def _spread(s: dict[str, Any] | None, digits: int = 3) -> str:
    """``median [q1, q3]`` (or ``[min, max]``) of a stats dict."""
    if not s or s.get("n", 1) == 0 or "median" not in s:
        return "-"
    lo, hi = (s["q1"], s["q3"]) if "q1" in s else (s["min"], s["max"])
    return f"{_fmt(s['median'], digits)} [{_fmt(lo, digits)}, {_fmt(hi, digits)}]"


def _censored(values: Sequence[Any], budget: int) -> str:
    """A time that not every seed reaches: ``median [IQR]`` over the seeds that reach it, how many
    are censored at ``budget``, and the median over all seeds with the censored ones counted as
    later than the budget (``> budget`` when they are the majority)."""
    got = sorted(float(v) for v in values if v is not None)
    n, k = len(values), len(got)
    if not k:
        return f"none of {n} within {budget:,}"
    inner = _spread(_stats(got))
    allv = got + [float("inf")] * (n - k)
    mid = _stats(allv)
    overall = "> budget" if mid is None or mid["median"] == float("inf") else _fmt(mid["median"])
    return (f"{inner} over {k} of {n}; {n - k} censored at {budget:,}; median over all {n}: "
            f"{overall}")


def _provenance(d: dict[str, Any]) -> str:
    """One line: the commit and command that made a results JSON, and its runs' commits."""
    p = d.get("provenance")
    if not p:
        return "Provenance: not recorded (made before provenance existed)."
    commit = (p.get("git_commit") or "unknown")[:7]
    words = str(p.get("command", "?")).split(" ")
    command = " ".join([words[0].rsplit("/", 1)[-1], *words[1:]])  # the program, not its path
    text = (f"Made at commit `{commit}`{' (uncommitted changes)' if p.get('dirty') else ''} by "
            f"`{command}`, {p.get('threads', '?')} thread(s), "
            f"torch {p.get('versions', {}).get('torch', '?')}.")
    runs = d.get("run_commits")
    if runs and runs.get("mixed"):
        text += (" **Its runs were made at different commits: "
                 + ", ".join(c[:7] for c in runs["commits"]) + ".**")
    elif runs and runs.get("commits"):
        text += f" All its runs at `{runs['commits'][0][:7]}`."
    return text


# -- performance -----------------------------------------------------------------------------------
def perf_data() -> str:
    """Datasets against the hand-written NumPy generator and NeuroGym."""
    d = _load("bench_data.json")
    main = [r for r in d["rows"] if "ratio (ta-envs / hand-written)" in r]
    peer = {r["batch x steps"]: r for r in d["rows"] if "ratio (ta-envs / neurogym)" in r}

    def ng(p: dict[str, Any], key: str) -> str:
        return f"{p[key]:.0f}x" if key in p else "-"

    rows = []
    for r in main:
        p = peer.get(r["batch x steps"], {})
        rows.append([r["batch x steps"], r["ta-envs batches/s"], r["hand-written batches/s"],
                     f"{r['ratio (ta-envs / hand-written)']:.2f}x",
                     f"{r['sample_into gain']:.2f}x", ng(p, "ratio (ta-envs / neurogym)"),
                     ng(p, "hand-written / neurogym"), ng(p, "sample_into / neurogym")])
    for k, p in peer.items():
        if all(r["batch x steps"] != k for r in main):
            rows.append([k, p["ta-envs batches/s"], "-", "-", "-",
                         ng(p, "ratio (ta-envs / neurogym)"), ng(p, "hand-written / neurogym"),
                         ng(p, "sample_into / neurogym")])
    return (_table(["batch x steps", "ta-envs batches/s", "hand-written batches/s",
                    "ta-envs / hand-written", "sample_into gain", "ta-envs / NeuroGym",
                    "hand-written / NeuroGym", "sample_into / NeuroGym"], rows)
            + f"\n\nCost per batch ~ B^{d['scaling_exponent_batch']:.2f} at T = 100. The NeuroGym "
            "columns come from one interleaved run of all four (the hand-written generator is the "
            "NumPy ceiling of the fresh-array ratio).")


def perf_env() -> str:
    """Vector env and single env against CartPole; SyncVectorEnv info variants."""
    d = _load("bench_env.json")
    ids = ["TemporalFlipFlop-v0", "RelativeTimingFlipFlop-v0", "FlipFlop-v0"]
    rows = [[r["mode"], r["num_envs"], r["CartPole steps/s"]]
            + [f"{r[f'{e} steps/s'] / 1e6:.2f}M ({r[f'{e} / CartPole']:.1f}x)" for e in ids]
            for r in d["rows"] if r["mode"] != "SyncVectorEnv"]
    sync = [[r["variant"], r["steps/s"], f"{r['vs full info']:.2f}x", f"{r['vs CartPole']:.2f}x"]
            for r in d["rows"] if r["mode"] == "SyncVectorEnv"]
    return (_table(["mode", "n", "CartPole steps/s"] + [f"{e} (vs CartPole)" for e in ids], rows)
            + f"\n\nSeconds per vector step ~ n^{d['scaling_exponent_num_envs']:.2f} "
              f"(n^{d['scaling_exponent_num_envs_ge_1024']:.2f} for n >= 1024).\n\n"
            + "`SyncVectorEnv` of the single `TemporalFlipFlop-v0`, 64 envs:\n\n"
            + _table(["variant", "steps/s", "vs full info", "vs CartPole"], sync))


def perf_fixed_points() -> str:
    """Fixed points: ours against plain Adam, and the scaling rows."""
    d = _load("bench_fixed_points.json")
    cmp_rows = [[r["network"], r["method"], f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
                 r["reported"],
                 r["true_fixed_points"], r["false_reports"],
                 "-" if r["max_residual"] is None else f"{r['max_residual']:.1e}",
                 r["true_points_missed_vs_other"]]
                for r in d["rows"] if "method" in r]
    sc = [[r["scaling"], r["hidden"], r["states"], f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}",
           f"{r['peak_rss_mb']:.0f}", r["points"]] for r in d["rows"] if "scaling" in r]
    return (_table(["network", "method", "wall s", "CPU s", "reported", "true", "false",
                    "max residual", "true points the other found and this missed"], cmp_rows)
            + "\n\n" + _table(["scaling", "hidden", "initial states", "wall s", "CPU s",
                               "peak RSS MB", "points"], sc)
            + "\n\nCPU s: the process's CPU time on its one thread (what the wall time would be on "
              "an idle core).\n\n"
              f"Wall time ~ hidden^{d['scaling_exponent_hidden']:.2f} (1024 states), "
              f"~ states^{d['scaling_exponent_states']:.2f} (hidden 64).")


def perf_tracking() -> str:
    """Seconds per tracked checkpoint, closed forms against autograd."""
    d = _load("bench_tracking.json")
    rows = [[r["network"], r["checkpoints"], f"{r['closed form CPU s/checkpoint']:.2f}",
             f"{r['autograd CPU s/checkpoint']:.2f}", f"{r['speed-up']:.2f}x",
             r["points found by both"]] for r in d["rows"]]
    return (_table(["network", "checkpoints", "closed forms: CPU s per checkpoint",
                    "autograd: CPU s per checkpoint", "speed-up", "points found by both"], rows)
            + f"\n\nMedian of {d['rounds']} interleaved rounds, one thread.")


def perf_train() -> str:
    """train() against a minimal loop, and the scaling of one iteration."""
    d = _load("bench_train.json")
    rows = [[r["model"], r["evaluation"], r["train() it/s"], r["minimal loop it/s"],
             f"{r['ratio (train / minimal)']:.2f}x"] for r in d["rows"] if "evaluation" in r]
    sc = [[r["scaling"], r["batch"], r["hidden"], f"{r['ms/iteration']:.1f}"]
          for r in d["rows"] if "scaling" in r]
    return (_table(["model", "evaluation", "train() it/s", "minimal loop it/s", "ratio"], rows)
            + "\n\n" + _table(["scaling", "batch", "hidden", "ms per iteration"], sc)
            + f"\n\nCost per iteration ~ batch^{d['scaling_exponent_batch']:.2f}, "
              f"~ hidden^{d['scaling_exponent_hidden']:.2f}.")


def perf_compile() -> str:
    """Compile and minimisation times, and the refusals."""
    d = _load("bench_compile.json")
    built = [[r["automaton"], r["configurations"], f"{r['build s']:.2f}", r["minimal"],
              f"{r['minimise s']:.2f}", _fmt(r["schedule (no scan)"])]
             for r in d["rows"] if "build s" in r]
    refused = [[r["automaton"], f"{r['refused in s'] * 1000:.1f} ms", r["message"]]
               for r in d["rows"] if "refused in s" in r]
    return (_table(["automaton", "configurations", "build s", "minimal configurations",
                    "minimise s", "schedule (no scan)"], built)
            + f"\n\nBuild ~ configs^{d['scaling_exponent_build']:.2f}, minimise ~ "
              f"configs^{d['scaling_exponent_minimise']:.2f}.\n\n"
            + _table(["automaton", "refused in", "message"], refused))


def perf_suite() -> str:
    """Each built-in's train() against the minimal loop, and the ladder's wall times."""
    d = _load("bench_suite.json")
    rows = [[r["arch"], r["hidden"], r["params"], r["train() it/s"], r["minimal loop it/s"],
             f"{r['ratio (train / minimal)']:.2f}x"] for r in d["rows"]]
    return _table(["arch", "hidden", "params", "train() it/s", "minimal loop it/s", "ratio"], rows)


# -- suite ---------------------------------------------------------------------------------------
def suite_leaderboard(folder: str = "suite") -> str:
    """The committed reference leaderboard (written by ``suite_table.py``) of the v2 references
    (``suite``) or the v3 ones (``suite/v3``)."""
    text = (RESULTS / folder / "leaderboard.md").read_text()
    return text.split("\n", 2)[2] if text.startswith("# ") else text


# -- rings ---------------------------------------------------------------------------------------
def rings_period() -> str:
    """Simulated and derived one-pulse ring periods."""
    d = _load("rings/period.json")
    rows = [[n, f"{p:.3f}", f"{q:.3f}", f"{(p - q) / n:+.4f}"]
            for n, p, q in zip(d["sizes"], d["periods"], d["derived"])]
    return (_table(["ring size N", "simulated period", "derived N · t_low(N)",
                    "gap per neuron"], rows)
            + f"\n\nLeast-squares line through the simulated periods: {d['slope']:.3f} N + "
              f"{d['intercept']:.3f}; large-ring slope (derived) {d['limit_slope']:.4f}; "
              f"dt = {d['dt']}.\n\n" + _provenance(d))


def rings_lattice(rel: str = "rings/lattice_summary.json") -> str:
    """Per lattice setting: ξ, locking, defect density, convergence (median [min, max])."""
    d = _load(rel)
    rows = []
    for name, s in d["settings"].items():
        rows.append([name, s["n"], "/".join(s["ordering"]), _spread(s["xi"]),
                     _spread(s["lock"]), _spread(s["defect_density"], 2),
                     f"{s['converged']}/{s['n']}", _spread(s["period_median"])])
    return (_table(["setting", "seeds", "order", "steady ξ (rings)", "neighbour locking",
                    "defects per oscillator", "defects converged", "median period"], rows)
            + f"\n\n{d['rows']} x {d['cols']} torus, rings of {d['ring_size']} neurons, "
              f"{d['duration']:g} time constants, seeds {d['seeds']}; median [min, max] over "
              "seeds; ξ is capped at the lattice size.\n\n" + _provenance(d))


def rings_reservoir() -> str:
    """Reservoirs per benchmark and task (median [min, max] over seeds)."""
    full = _load("rings/reservoir_summary.json")
    d = full["jobs"] if "jobs" in full else full  # a record from before provenance: jobs only
    jobs = list(d)
    models = list(dict.fromkeys(m for j in jobs for m in d[j]))
    rows = [[m] + [_spread(d[j].get(m)) for j in jobs] for m in models]
    n = max(s["n"] for j in jobs for s in d[j].values())
    heads = {"memory": "memory capacity ↑", "narma10": "NARMA-10 NRMSE ↓"}
    return (_table(["model"] + [heads.get(j, f"{j} (TD acc) ↑") for j in jobs], rows)
            + f"\n\nMedian [min, max] over {n} seed(s).\n\n" + _provenance(full))


# -- theory --------------------------------------------------------------------------------------
def theory_order() -> str:
    """Half-learned steps, theory against GD."""
    d = _load("theory/order.json")
    rows = [[lab, p, s] for lab, p, s in zip(d["labels"], d["predicted_half"], d["simulated_half"])]
    return _table(["mode", "theory", "full GD"], rows) + \
        f"\n\nSame order: {_fmt(d['same_order'])} (one run: seed 0)."


def theory_extrapolation() -> str:
    """Learned gain and error growth, reduced model and full matrices."""
    d = _load("theory/extrapolation.json")
    f = d["full_gd"]
    rows = []
    for i, g in enumerate(d["gammas"]):
        last = sorted(seed_err[-1] for seed_err in f["error"][i])
        rows.append([f"{g:g}", f"{d['w'][i]:.3f}", f"{d['error_growth_to_longest'][i]:.3g}x",
                     f"{d['error'][i][-1]:.1e}",
                     f"{f['eig_median'][i]:.3f} [{f['eig_min'][i]:.3f}, {f['eig_max'][i]:.3f}]",
                     f"{f['error_growth_median'][i]:.3g}x [{f['error_growth_min'][i]:.3g}, "
                     f"{f['error_growth_max'][i]:.3g}]",
                     f"{last[len(last) // 2]:.1e} [{last[0]:.1e}, {last[-1]:.1e}]"])
    return (_table(["γ", "reduced: learned w", "reduced: error growth T -> 8T",
                    "reduced: error at 8T", "full GD: max abs eig W",
                    "full GD: error growth T -> 8T", "full GD: error at 8T"], rows)
            + f"\n\nReduced: median over {5 if d.get('quick') else 20} data draws; full GD: "
              f"median [min, max] over {len(f['seeds'])} seeds (width {f['hidden']}). The error "
              "is the loss relative to the teacher's energy; a growth factor is a "
              "ratio of two such errors, large when the error at T is tiny.")


def theory_weights() -> str:
    """Property 3 under full GD: ‖W‖ with and without a skip; rank of what training added."""
    d = _load("theory/weights.json")
    e, r = d["echo"], d["rank"]
    rows = []
    for k, route in enumerate(e["routes"]):
        for i, c in enumerate(e["c"]):
            st = e["norm_w_stats"]
            ls = e["loss_stats"]
            rows.append([f"{c:g}", route, f"{st['median'][k][i]:.2f} [{st['min'][k][i]:.2f}, "
                         f"{st['max'][k][i]:.2f}]", f"{ls['median'][k][i]:.3f}",
                         f"{e['loss_ff'][i]:.3f}", f"{e['loss_star'][i]:.3f}"])
    rk = [[n, str(g), _spread({"median": a, "min": b, "max": c}, 2),
           _spread({"median": a2, "min": b2, "max": c2}, 2), _fmt(x), f"{lo:.1e}"]
          for n, g, a, b, c, a2, b2, c2, x, lo in zip(
              r["names"], r["gammas"], r["rank_delta_stats"]["median"],
              r["rank_delta_stats"]["min"], r["rank_delta_stats"]["max"],
              r["rank_stats"]["median"], r["rank_stats"]["min"], r["rank_stats"]["max"],
              r["rank0_stats"]["median"], r["loss_stats"]["median"])]
    return (_table(["echo c", "route", "‖W‖₂ after training", "final loss (median)",
                    "reduced feed-forward loss", "reduced optimum loss"], rows)
            + f"\n\n‖W₀‖₂ at init: median {_median(e['norm_w0']):.2f}; {len(e['seeds'])} seeds.\n\n"
            + _table(["task dynamics", "decays γ", "rank of W − W₀", "rank of W",
                      "rank of W₀ (median)", "final loss (median)"], rk)
            + f"\n\nTeacher modes: {r['modes']}; width {r['hidden']}; effective rank = singular "
              f"values above 5% of the largest; median [min, max] over {len(d['seeds'])} seeds. A "
              "final loss far above the others means the run had not converged, and its rank "
              "describes an unfinished solution.")


def _median(v: Any) -> float:
    flat = sorted(x for row in v for x in (row if isinstance(row, list) else [row]))
    n = len(flat)
    return flat[n // 2] if n % 2 else 0.5 * (flat[n // 2 - 1] + flat[n // 2])


def theory_ntk() -> str:
    """Final kernel distance per model and init scale; a cell whose median final loss stayed
    above 1 % of the teacher's energy shows it (above 50 %: not trained at all)."""
    d = _load("theory/ntk.json")
    models = list(dict.fromkeys(k.split("@")[0] for k in d["distance"]))
    scales = list(dict.fromkeys(k.split("@")[1] for k in d["distance"]))

    def cell(m: str, sc: str) -> str:
        s = d["distance"].get(f"{m}@{sc}")
        loss = (s or {}).get("final_loss_median", 0.0)
        if loss <= 0.01:
            return _spread(s)
        return _spread(s) + f" (final loss {loss:.2g}{': not trained' if loss > 0.5 else ''})"

    rows = [[sc] + [cell(m, sc) for m in models] for sc in scales]
    return (_table(["init scale"] + models, rows)
            + f"\n\nKernel distance from init after training, median [min, max] over seeds "
              f"{d['seeds']}; `feedforward` = 2 untied weight layers, `feedforward3/4/7` = 3/4/7 "
              "(7 = the RNN's depth unrolled over T = 6 steps). The RNN's "
              f"closed-form NTK matches autograd to {d['analytic_vs_autograd_max_rel']:.0e} "
              "(relative).\n\n" + _provenance(d))


def theory_integration() -> str:
    """Half-learned steps per channel, theory against GD, both variants, per seed."""
    d = _load("theory/integration.json")
    rows = []
    for name, v in d["variants"].items():
        for r in v["runs"]:
            rows.append([name, r["seed"], str(r["order"]), str(r["predicted_half"]),
                         str(r["simulated_half"]), _fmt(r["same_order"]),
                         ", ".join(f"{x:.3f}" for x in r["w_simulated"]),
                         ", ".join(f"{x:.1e}" for x in r["test_error"])])
    return _table(["variant", "seed", "channels (strongest mode first)", "half-learned: theory",
                   "half-learned: GD", "same order", "learned gain per mode",
                   "test error at lengths"], rows)


# -- studies -------------------------------------------------------------------------------------
def timing_offsets() -> str:
    """Bifurcation minus phase, per phase definition."""
    d = _load("analysis/timing.json")
    rows = [[k, v.get("n", 0), _spread(v), _fmt(v.get("within"))]
            for k, v in d["offsets"].items()]
    return (_table(["phase definition", "seeds", "bifurcation − phase: median [IQR]",
                    "fraction within ±20"], rows)
            + f"\n\n{d['seeds']} seeds, {d['solved']} solved within the budget, "
              f"{d['bifurcated']} lost their last stable fixed point. Offsets over the seeds where "
              f"both times exist (column `seeds`); median [interquartile range].\n\n"
            + _provenance(d))


def _stats(values: Sequence[Any]) -> dict[str, float] | None:
    v = sorted(float(x) for x in values if x is not None)
    if not v:
        return None

    def q(p: float) -> float:  # linear interpolation, as numpy.percentile
        k = (len(v) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(v) - 1)
        if k == lo or v[hi] == v[lo]:  # exact, or both infinite (censored) seeds
            return v[lo]
        return v[lo] + (v[hi] - v[lo]) * (k - lo)

    return {"median": q(0.5), "q1": q(0.25), "q3": q(0.75), "n": len(v)}


def timing_phases() -> str:
    """The learning phases over the timing study's seeds: times that every seed has as median
    [IQR] (n); times that only some seeds reach (plateau end, transition, solving) with the
    unreached ones counted as censored at the budget."""
    d = _load("analysis/timing.json")
    ph = [r["phases"] for r in d["runs"]]
    budget = int(d["config"]["iterations"])
    solved = [p for p in ph if p["solved"]]
    rows = []
    st = _stats([p["ti_solved_at"] for p in ph])
    rows.append(["TI >= 0.99 at", f"{_spread(st)} over {st['n'] if st else 0} of {len(ph)}"])
    st = _stats([p["plateau_td"] for p in ph])
    rows.append(["TD plateau: mean accuracy", f"{_spread(st)} over {st['n'] if st else 0}"])
    rows.append(["plateau end (jump start), seeds that solve",
                 _censored([p["jump_start"] if p["solved"] else None for p in ph], budget)])
    for label, k in (("transition (TD >= 0.75, smoothed)", "transition_at"),
                     ("first raw TD >= 0.75", "raw_transition_at"),
                     ("solved (TD >= 0.99) at", "solved_at")):
        rows.append([label, _censored([p[k] for p in ph], budget)])
    st = _stats([p["jump_width"] for p in solved])
    rows.append(["jump width (TD 0.6 -> 0.9), seeds that solve",
                 f"{_spread(st)} over {st['n'] if st else 0}"])
    return (_table(["phase", "iterations (or accuracy): median [IQR] over the seeds with a value"],
                   rows) + f"\n\n{len(solved)} of {len(ph)} seeds solved within {budget:,} "
            "iterations. A seed that never reaches a time is censored at the budget, not dropped: "
            "the median over all seeds counts it as later than the budget.\n\n" + _provenance(d))


def timing_kinds() -> str:
    """Types of every loss of stability and of the bifurcation itself."""
    d = _load("analysis/timing.json")
    kinds = sorted(set(d["losses_of_stability"]) | set(d["bifurcation_kinds"]))
    rows = [[k, d["losses_of_stability"].get(k, 0), d["bifurcation_kinds"].get(k, 0)]
            for k in kinds]
    rot = [r["bifurcation_rotation"] for r in d["runs"] if r.get("bifurcation_rotation")]
    wind = [r["bifurcation_winding"] for r in d["runs"] if r.get("bifurcation_winding")]
    text = _table(["type", "every loss of stability", "the bifurcation (last stable point lost)"],
                  rows)
    if wind:
        period = d["config"]["task_kwargs"].get("period", 24)  # the task's default
        near = sum(abs(w - round(w)) <= 0.25 for w in wind)
        text += (f"\n\nAt the bifurcation, |arg λ| · P / 2π (the winding m a ring of period P "
                 f"would have): median {_spread(_stats(wind), 2)} over {len(wind)} seeds; "
                 f"within 0.25 of an integer in {near}; rotation at birth "
                 f"{_spread(_stats(rot), 3)} turns per step (1/P = {1 / period:.3f}).")
    return text


def complexity_table() -> str:
    """Per complexity setting: solved, plateau, transition, bifurcation, configuration counts."""
    full = _load("analysis/complexity.json")
    d = full["settings"]
    budget = int(full.get("iterations", 3000))

    def kinds(s: dict[str, Any]) -> str:
        return ", ".join(f"{k} {v}" for k, v in s.get("bifurcation_kinds", {}).items() if v) or "-"

    def censored(s: dict[str, Any], key: str) -> str:
        if "runs" not in s:
            return _spread(s[key])
        vals = [r["phases"][key] if key in r["phases"] else r.get(key) for r in s["runs"]]
        got = _stats(vals)
        return f"{_spread(got)} ({got['n'] if got else 0} of {len(vals)})"

    rows = [[k, s["configs"], s["minimal"], f"{s['solved']}/{s['seeds']}",
             _spread(s["plateau_length"]), censored(s, "transition_at"),
             censored(s, "solved_at"), _spread(s["bifurcation_at"]),
             f"{s['bifurcated']}/{s['seeds']}", kinds(s)]
            for k, s in d.items()]
    return (_table(["setting", "configurations", "minimal", "solved", "plateau length",
                    "transition at (seeds)", "solved at (seeds)", "bifurcation at",
                    "bifurcated", "type"], rows)
            + f"\n\nIterations, median [IQR] over the seeds that reach the time (their number in "
              f"brackets); the others are censored at the budget of {budget:,}.\n\n"
            + _provenance(full))


def gated_table() -> str:
    """GRU and LSTM tracked like the tanh RNN."""
    d = _load("analysis/gated.json")
    rows = []
    for arch, s in ((k, v) for k, v in d.items() if isinstance(v, dict) and "seeds" in v):
        kinds = ", ".join(f"{k} {v}" for k, v in s["bifurcation_kinds"].items() if v) or "-"
        off = s["offsets"].get("smoothed TD >= 0.75", {})
        rows.append([arch, s["seeds"], s["solved"], s["bifurcated"], kinds, _spread(off)])
    return (_table(["network", "seeds", "solved", "lost last stable point", "type",
                    "bifurcation − transition (smoothed): median [IQR]"], rows)
            + "\n\n" + _provenance(d))


def retrain_table() -> str:
    """Retraining 24 -> 12 grouped by the winding the P = 24 rings had."""
    d = _load("analysis/retrain.json")
    rows = [[m, s["n"], s["solved"], _spread(s["plateau_td"]), _spread(s["transition_at"]),
             _spread(s["solved_at"]), _spread(s["period_orbit_born_at"])]
            for m, s in d["by_winding"].items()]
    return (_table(["winding m at P = 24", "seeds", "solved", "plateau TD", "transition at",
                    "solved at", "period-12 orbit born at"], rows)
            + "\n\nMedian [IQR] over the networks of each group that reach the time.\n\n"
            + _provenance(d))


def controls_table() -> str:
    """Subspace readout against its controls, and the phase across switches."""
    d = _load("analysis/controls.json")
    rows = [["subspace (leading complex eigenvector + readout)", _spread(d["subspace_td"])],
            ["random 3-D projections (median per network)", _spread(d["random_td_median"])],
            ["top 3 principal components", _spread(d["top3_pc_td"])],
            ["full state", _spread(d["full_td"])]]
    ph = d["phase_error"]
    rows2 = [[k.replace("_", " "), _spread(v)] for k, v in ph.items()]
    return (_table(["readout (same linear classifier)", "TD accuracy: median [IQR]"], rows)
            + f"\n\n{d['n']} solved networks.\n\n"
            + _table(["decoded phase error (steps)", "median [IQR] over networks"], rows2)
            + f"\n\nDecoded t mod P accuracy: {_spread(d['phase_decoded_accuracy'])}.\n\n"
            + _provenance(d))


def crossing_table() -> str:
    """The loss of the last stable fixed point resolved per iteration, against the TD phases."""
    d = _load("analysis/crossing.json")
    s = d["summary"]
    rows = [["seeds resolved (of the bifurcated)", f"{s['seen']} of {s['n']}"],
            ["loss within the recorded 10-iteration step",
             f"{s['agrees_with_record']} of {s['n']}"],
            ["ρ crossed 1 continuously on the tracked point",
             f"{s['continuous']} of {s['seen']}"],
            ["not resolved: the tracked point moved more than the jump distance",
             f"{s['vanished_or_jumped']} of {s['seen']}"],
            ["untracked (the tracked point was already unstable)",
             f"{s['untracked']} of {s['seen']}"],
            ["types", ", ".join(f"{k} {v}" for k, v in sorted(s["kinds"].items()))],
            ["tracked ρ one iteration before", _spread(s["lam_before"])],
            ["tracked ρ at the loss (continuous ones)", _spread(s["lam_after_continuous"])],
            ["ρ step in that one iteration", _spread(s["lam_step_continuous"])],
            ["held-out TD accuracy at the loss", _spread(s["td_at_loss"])]]
    rows += [[f"loss − {k} (iterations)", f"{_spread(v)}, n = {v['n'] if v else 0}"]
             for k, v in s["offsets"].items()]
    rows.append(["loss before the smoothed 75 % transition",
                 f"{s['before_smoothed_transition']} of {s['offsets']['smoothed TD >= 0.75']['n']}"
                 if s["offsets"].get("smoothed TD >= 0.75") else "-"])
    return (_table(["", "median [IQR] over seeds, or count"], rows) + "\n\n" + _provenance(d))


def _arm_row(d: dict[str, Any], arm: str, label: str, runs: set[str] | None) -> list[str]:
    """One arm over the seeds in ``runs`` (all when None)."""
    arms = [a for a in d["arms"] if a["arm"] == arm and (runs is None or a["run"] in runs)]
    solved = [a["solved_after"] for a in arms]
    return [label, f"{sum(s is not None for s in solved)} of {len(arms)}",
            _censored(solved, d["iterations"]), _spread(_stats([a["final_td"] for a in arms])),
            f"{sum(a['above_one'] == 0 for a in arms)} of {len(arms)}",
            _spread(_stats([a["rho_max"] for a in arms])),
            _spread(_stats([a["above_one"] for a in arms]))]


def intervention_table() -> str:
    """Both arms of the stability intervention from the checkpoint before the bifurcation: over
    all seeds, and over the seeds where the penalty followed its fixed points (Newton found them
    again in at least half the iterations; elsewhere it acted on stale points)."""
    d = _load("analysis/intervention.json")
    budget = d["iterations"]
    followed = {a["run"] for a in d["arms"]
                if a["arm"] == "stable" and a["newton_failures"] <= budget // 2}
    rows = [_arm_row(d, arm, label, runs) for arm, label, runs in (
        ("control", "unchanged, all seeds", None),
        ("stable", "stability penalty, all seeds", None),
        ("control", "unchanged, the followed seeds", followed),
        ("stable", "stability penalty, the followed seeds", followed))]
    return (_table(["arm", "solved (TD >= 0.99)", "iterations from the start to solve",
                    f"TD after {budget:,}", "kept every tracked ρ <= 1", "largest tracked ρ",
                    "iterations with some ρ > 1"], rows)
            + f"\n\nPenalty weight {d['weight']:g}, acting above ρ = {1 - d['margin']:g}; both "
            f"arms on the same batches from the same checkpoint, {budget:,} iterations each. "
            f"Followed seeds: {len(followed)} of {len(followed | {a['run'] for a in d['arms']})} "
            "(in the others Newton lost the tracked points from the first iterations, so the "
            "penalty acted on stale points).\n\n" + _provenance(d))


def rl_learning() -> str:
    from rl_native_table import learning_table

    return learning_table(_load("rl_native.json"))


def rl_learning_jax() -> str:
    from rl_native_table import engine_table

    return engine_table(_load("rl_native_jax.json"), _load("rl_native.json"))


def rl_bifurcation() -> str:
    from rl_native_table import bifurcation_table, resolved_table

    d = _load("rl_native_bifurcation.json")
    res = resolved_table(d)
    return (bifurcation_table(d)
            + (f"\n\nResolved to one update (`--every {d['track_every']}`, then every update "
               f"between the stride's checkpoints around each bifurcation; offsets in updates, "
               f"median [IQR]):\n\n{res}" if res else "")
            + "\n\n" + _provenance(d))


def perf_rl() -> str:
    d = _load("bench_rl.json")
    rows = [[r["what"], r["algo"], r["frames/s"], r.get("x RecurrentPPO", "-")]
            for r in d["rows"] if r["what"].startswith("end to end")]
    rest = [[r["what"], r["vec env"], r["algo"], r["frames/s"]] for r in d["rows"]
            if not r["what"].startswith("end to end")]
    out = _table(["what", "agent", "frames/s", "x RecurrentPPO (median of rounds)"], rows)
    if rest:
        out += "\n\n" + _table(["what", "vec env", "algo", "frames/s"], rest)
    return out + f"\n\n{d.get('rounds', '?')} interleaved rounds, one thread."


def rl_sb3() -> str:
    """The stable-baselines3 table (``rl_sb3_study.py``): final accuracy over seeds, frames/s."""
    d = _load("rl_results.json")
    rows = [[r["task"], r["agent"], r["seeds"], f"{r['steps']:,}", r["TD acc"], r["TI acc"],
             "-" if r["frames/s"] is None else f"{r['frames/s']:,.0f}"] for r in d["rows"]]
    return (_table(["task", "agent", "seeds", "steps", "TD acc", "TI acc", "frames/s"], rows)
            + "\n\nAccuracy at the end of training: mean ± std (min-max) over seeds.\n\n"
            + _provenance(d))


def perf_functional() -> str:
    d = _load("bench_functional.json")
    rows = [[r["n"], r["side"], r["steps/s"], r["x gymnax CartPole"], r["x NumPy env"],
             r["x write limit"]] for r in d["rows"]]
    return (_table(["n", "side", "steps/s", "x gymnax CartPole", "x NumPy vector env",
                    "x the write limit (time)"], rows)
            + f"\n\nDevice: {d.get('device')}; jax {d.get('jax')}, gymnax {d.get('gymnax')}; "
            f"{d.get('steps_per_call')} steps per call, {d.get('rounds')} interleaved rounds.")


TABLES: dict[str, Callable[[], str]] = {
    "rl_learning": rl_learning,
    "rl_learning_jax": rl_learning_jax,
    "rl_bifurcation": rl_bifurcation,
    "rl_sb3": rl_sb3,
    "perf_rl": perf_rl,
    "perf_functional": perf_functional,
    "perf_data": perf_data,
    "perf_env": perf_env,
    "perf_fixed_points": perf_fixed_points,
    "perf_train": perf_train,
    "perf_tracking": perf_tracking,
    "perf_suite": perf_suite,
    "perf_compile": perf_compile,
    "suite_leaderboard": suite_leaderboard,
    "suite_v3_leaderboard": functools.partial(suite_leaderboard, "suite/v3"),
    "rings_period": rings_period,
    "rings_lattice": rings_lattice,
    "rings_lattice8": functools.partial(rings_lattice, "rings/lattice8/lattice_summary.json"),
    "rings_reservoir": rings_reservoir,
    "theory_order": theory_order,
    "theory_extrapolation": theory_extrapolation,
    "theory_weights": theory_weights,
    "theory_ntk": theory_ntk,
    "theory_integration": theory_integration,
    "timing_phases": timing_phases,
    "timing_offsets": timing_offsets,
    "timing_kinds": timing_kinds,
    "complexity_table": complexity_table,
    "gated_table": gated_table,
    "retrain_table": retrain_table,
    "controls_table": controls_table,
    "crossing_table": crossing_table,
    "intervention_table": intervention_table,
}


def render(name: str) -> str:
    """The table ``name`` (a note naming the missing file when its JSON is not there yet)."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; known: {sorted(TABLES)}")
    return TABLES[name]()


def main() -> None:
    """Print the tables named on the command line (all when none)."""
    for name in sys.argv[1:] or sorted(TABLES):
        print(f"## {name}\n")
        try:
            print(render(name) + "\n")
        except FileNotFoundError as err:
            print(f"(missing: {err})\n")


if __name__ == "__main__":
    main()
