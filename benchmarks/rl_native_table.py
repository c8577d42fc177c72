"""Markdown tables of the native-PPO study (``rl_native.json``) and its bifurcation analysis
(``rl_native_bifurcation.json``), as they appear on ``docs/results/rl.md``.

    python benchmarks/rl_native_table.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def q(d: dict[str, Any] | None, scale: float = 1.0, fmt: str = "{:,.0f}") -> str:
    """``median [q1, q3]`` of a quartile record (``-`` when empty)."""
    if not d or d.get("median") is None:
        return "-"
    m, a, b = (d[k] / scale for k in ("median", "q1", "q3"))
    return f"{fmt.format(m)} [{fmt.format(a)}, {fmt.format(b)}]"


def learning_table(study: dict[str, Any]) -> str:
    from ta_envs import make_task

    per_update = study["recipe"]["epochs"] * study["recipe"]["minibatches"]
    lines = ["| task | core | solved (RL) | RL frames to solve, median [IQR] | RL gradient steps | "
             "final accuracy, median [IQR] | supervised solved | supervised iterations to solve "
             "(= gradient steps) | supervised frames to solve | RL / supervised frames |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in study["rows"]:
        sup = r.get("supervised")
        f = r["frames_to_solve"]
        L = make_task(r["env_id"], **r["env_kwargs"]).episode_length
        steps = f"{f['median'] / (study['recipe']['n_envs'] * L) * per_update:,.0f}" \
            if f["median"] else "-"
        final = r["final_td_acc"] if r["final_td_acc"]["n"] else r["final_acc"]
        ratio = "-"
        if sup and sup["frames_to_solve"]["median"] and f["median"]:
            ratio = f"{f['median'] / sup['frames_to_solve']['median']:.1f}x"
        solved = f"{r['solved']}/{r['seeds']}" + (f" ({r['censored']} censored)"
                                                  if r["censored"] else "")
        lines.append(
            f"| {r['task']} | {r['row']} | {solved} | {q(f)} | {steps} | "
            f"{q(final, fmt='{:.3f}')} ({'TD' if r['final_td_acc']['n'] else 'all bits'}) | "
            + ("-" if not sup else f"{sup['solved']}/{sup['seeds']}") + " | "
            + ("-" if not sup else q(sup["iterations_to_solve"])
               + f" (n={sup['iterations_to_solve']['n']})") + " | "
            + ("-" if not sup else q(sup["frames_to_solve"])) + f" | {ratio} |")
    return "\n".join(lines)


def engine_table(jax_study: dict[str, Any], torch_study: dict[str, Any]) -> str:
    """The JAX engine's rows beside the torch engine's rows of the same task and row name (joined
    by name; ``-`` where the torch study has no such row)."""
    torch_rows = {(r["task"], r["row"]): r for r in torch_study["rows"]}
    lines = ["| task | core | JAX engine: solved | frames to solve, median [IQR] | final accuracy | "
             "torch engine: solved | frames to solve, median [IQR] |", "|---|---|---|---|---|---|---|"]
    for r in jax_study["rows"]:
        t = torch_rows.get((r["task"], r["row"]))
        final = r["final_td_acc"] if r["final_td_acc"]["n"] else r["final_acc"]
        kind = "TD" if r["final_td_acc"]["n"] else "all bits"
        lines.append(f"| {r['task']} | {r['row']} | {r['solved']}/{r['seeds']} | "
                     f"{q(r['frames_to_solve'])} | {q(final, fmt='{:.3f}')} ({kind}) | "
                     + ("- | - |" if t is None else
                        f"{t['solved']}/{t['seeds']} | {q(t['frames_to_solve'])} |"))
    return "\n".join(lines)


def supervised_rows() -> dict[str, Any]:
    """The supervised study's rows, read from the committed study JSON itself (one source: a
    regenerated study moves this table too)."""
    keys = ("seeds", "solved", "bifurcated", "offsets", "bifurcation_kinds")
    out: dict[str, Any] = {}
    timing, gated = RESULTS / "analysis" / "timing.json", RESULTS / "analysis" / "gated.json"
    if timing.exists():
        t = json.loads(timing.read_text())
        out["supervised rnn"] = {k: t.get(k) for k in keys}
    if gated.exists():
        g = json.loads(gated.read_text())
        out.update({f"supervised {a}": {k: v[k] for k in keys} for a, v in g.items()
                    if isinstance(v, dict) and "seeds" in v})
    return out


def bifurcation_table(bif: dict[str, Any]) -> str:
    lines = ["| learner | units | seeds | solved (0.99) | lost last stable point | type of the "
             "bifurcation | bifurcation − smoothed TD 0.75, median [IQR] (n) | bifurcation − TD 0.9"
             " |", "|---|---|---|---|---|---|---|---|"]
    rows = {**bif["rows"], **supervised_rows()}
    for name, r in rows.items():
        units = "PPO updates" if name.startswith("native") else "SGD iterations"
        kinds = ", ".join(f"{k} {v}" for k, v in (r.get("bifurcation_kinds") or {}).items() if v)
        off = r.get("offsets") or {}
        s = off.get("smoothed TD >= 0.75") or {}
        n9 = off.get("TD >= 0.9") or {}
        label = name + (f" ({', '.join(r['engines'])} engine)" if r.get("engines") else "")
        lines.append(f"| {label} | {units} | {r.get('seeds')} | {r.get('solved')} | "
                     f"{r.get('bifurcated')} | {kinds or '-'} | {q(s, fmt='{:g}')} "
                     f"(n={s.get('n', 0)}) | {q(n9, fmt='{:g}')} (n={n9.get('n', 0)}) |")
    return "\n".join(lines)


def resolved_table(bif: dict[str, Any]) -> str:
    """The RL rows' bifurcations resolved to one update (``rl_native_analysis.py``'s
    ``resolved``): how the last stable point went, offsets from the TD phases, ``|λ|max`` (empty
    when no row was resolved)."""
    names = ("raw TD >= 0.75", "smoothed TD >= 0.75", "TD >= 0.9")
    lines = ["| learner | resolved | before the stride's checkpoint | continuous crossings | type | "
             + " | ".join(f"− {n}" for n in names)
             + " | tracked \\|λ\\|max an update before | after (continuous) |",
             "|---|---|---|---|---|" + "---|" * len(names) + "---|---|"]
    for name, r in bif["rows"].items():
        res = r.get("resolved")
        if not res:
            continue
        early = sum(x["lost_at"] is not None and x["lost_at"] < x["recorded_at"]
                    for x in res["runs"])
        kinds = ", ".join(f"{k} {v}" for k, v in res["kinds"].items())
        lines.append(f"| {name} | {res['seen']}/{res['n']} | {early} | {res['continuous']} | "
                     f"{kinds or '-'} | "
                     + " | ".join(q(res["offsets"][n], fmt="{:g}") for n in names)
                     + f" | {q(res['lam_before'], fmt='{:.2f}')} | "
                     f"{q(res['lam_after_continuous'], fmt='{:.2f}')} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def main() -> None:
    study = json.loads((RESULTS / "rl_native.json").read_text())
    print(learning_table(study))
    path = RESULTS / "rl_native_bifurcation.json"
    if path.exists():
        print()
        bif = json.loads(path.read_text())
        print(bifurcation_table(bif))
        if res := resolved_table(bif):
            print()
            print(res)


if __name__ == "__main__":
    main()
