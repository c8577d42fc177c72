"""``ta-envs suite``: an architecture on the task ladder; ``ta-envs suite compare``: reports side by
side (joined by protocol and task name)."""

from __future__ import annotations

import argparse
import csv
import io
import time
from dataclasses import replace

from ta_envs.cli import Command, parse_kw
from ta_envs.validation import InvalidValue, check_int, check_out_dir


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs suite`` and ``ta-envs suite compare``."""
    p.add_argument("reports", nargs="*", metavar="compare|verify REPORT",
                   help="'compare' followed by results.json files (or their folders); 'verify' "
                        "followed by one report: re-run one seed of its tasks (--seed) into --out "
                        "and compare with the seeds it records")
    p.add_argument("--seed", type=int, default=0, help="with verify: the seed to re-run")
    p.add_argument("--reference", action="store_true",
                   help="with compare: add the committed reference results of the reports' "
                        "protocol")
    p.add_argument("--allow-mixed", action="store_true",
                   help="with compare: show reports run with different budgets (with a note)")
    p.add_argument("--arch", default="rnn",
                   help="rnn, gru, lstm, linear, transformer, lru, mingru, mamba or module:Class")
    p.add_argument("--hidden", type=int, default=None, help="width (default 64 unless --params)")
    p.add_argument("--params", type=int, default=None,
                   help="parameter budget: the largest width within it (exact count reported)")
    p.add_argument("--model-kw", nargs="*", default=[], metavar="K=V",
                   help="constructor options of the architecture")
    p.add_argument("--init", default=None, choices=["default", "orthogonal"],
                   help="built-in rnn/gru/lstm/linear only")
    p.add_argument("--gain", type=float, default=None, help="built-in rnn/gru/lstm/linear only")
    p.add_argument("--seeds", type=int, default=None, help="default 3 (1 with --quick)")
    p.add_argument("--quick", action="store_true", help="4 short tasks, 1 seed: minutes on 2 cores")
    p.add_argument("--tasks", nargs="*", default=[], help="task names to keep (default: all)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:<i> or auto")
    p.add_argument("--workers", type=int, default=1, help="local worker processes")
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.add_argument("--address", default=None, help="Ray cluster address (backend ray)")
    p.add_argument("--force", action="store_true", help="rerun cached runs")
    p.add_argument("--no-mechanism", action="store_true",
                   help="skip classifying what each network keeps time with")
    p.add_argument("--no-machine", action="store_true",
                   help="skip the machine score of each recurrent network")
    p.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard logs")
    p.add_argument("--out", default=None, help="output directory (required to run)")


def compare(a: argparse.Namespace) -> int:
    """Print one table of the given reports (and the references); with ``--out``, also write
    ``compare.csv``, ``leaderboard.md`` and ``accuracy_vs_length.png`` there."""
    from baselines.suite import PROTOCOL, compare_rows, leaderboard, load_report, reference_reports

    reports = [load_report(r) for r in a.reports[1:]]
    if a.reference:  # the references of the reports' own protocol (v2 reports: the v2 ones)
        protocol = reports[0]["protocol"] if reports else PROTOCOL
        refs = reference_reports(protocol)
        if not refs:
            raise InvalidValue(f"no committed reference reports of {protocol}")
        reports += refs
    if not reports:
        raise InvalidValue("suite compare needs results.json files (or --reference)")
    table = leaderboard(reports, allow_mixed=a.allow_mixed)
    print(table)
    if a.out is not None:
        from baselines.figures import accuracy_vs_length
        from baselines.runs import atomic_write_text

        out = check_out_dir("--out", a.out)
        rows = compare_rows(reports, allow_mixed=a.allow_mixed)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        atomic_write_text(out / "compare.csv", buf.getvalue())
        atomic_write_text(out / "leaderboard.md", table + "\n")
        accuracy_vs_length(reports, out / "accuracy_vs_length.png", title="suite compare")
        print(f"wrote {out / 'compare.csv'}, leaderboard.md and accuracy_vs_length.png")
    return 0


def verify(a: argparse.Namespace) -> int:
    """Re-run one seed of a report's tasks and compare each with the report's seeds (exit 1 when
    a task falls outside their range)."""
    from baselines.suite import SuiteConfig, load_report, run_suite
    from baselines.suite.report import verify_report

    if len(a.reports) != 2:
        raise InvalidValue("suite verify takes one report: ta-envs suite verify REPORT --out DIR")
    if a.out is None:
        raise InvalidValue("suite verify needs --out (where the re-run goes)")
    from baselines.suite import PROTOCOL

    rep = load_report(a.reports[1])
    if rep["protocol"] != PROTOCOL:
        raise InvalidValue(f"{a.reports[1]} follows {rep['protocol']}; this version runs "
                           f"{PROTOCOL}, so a re-run would not be comparable. Verify it with the "
                           "version that made it (its environment.git_commit)")
    cfg_d = {k: v for k, v in rep["config"].items() if k in SuiteConfig.__dataclass_fields__}
    cfg = SuiteConfig(**{**cfg_d, "tasks": tuple(t["task"] for t in rep["tasks"])})
    check_int("--seed", a.seed, 0, max(int(t["seeds"]) for t in rep["tasks"]) - 1)
    out = check_out_dir("--out", a.out)
    cfg = replace(cfg, seeds=a.seed + 1)
    rerun = run_suite(cfg, out, workers=a.workers, show_progress=True,
                      mechanism_fn=None, machine_fn=None)
    rows = verify_report(rep, rerun, a.seed)
    for r in rows:
        verdict = "exact" if r["exact"] else ("within the seeds" if r["ok"] else "OUTSIDE")
        print(f"{r['task']}: re-run {r['rerun']:.3f}, recorded {r['recorded']:.3f} (seeds "
              f"{r['min']:.3f}-{r['max']:.3f}): {verdict}")
    bad = [r["task"] for r in rows if not r["ok"]]
    print(f"{len(rows) - len(bad)}/{len(rows)} tasks within the report's seed range"
          + (f"; outside: {bad}" if bad else ""))
    return 1 if bad else 0


def _line(r: dict) -> str:
    if r.get("failed"):
        return f"  {r['task']} seed {r['seed']}: FAILED ({r['failed']})"
    acc = r["acc"]
    mech = (r.get("mechanism") or {}).get("summary")
    machine = (r.get("machine") or {}).get("score")
    return (f"  {r['task']} seed {r['seed']}: " + " ".join(f"{c} {acc[c]['acc']:.3f}" for c in acc)
            + (f", solved at iteration {r['solved_at']}" if r["solved_at"] is not None
               else ", not solved") + f", {r['wall_s']:.0f} s"
            + (f", machine score {machine:.2f}" if machine is not None else "")
            + (f"; {mech}" if mech else ""))


def run(a: argparse.Namespace) -> int:
    """Run the suite (or compare reports) and print the outcome."""
    if a.reports:
        if a.reports[0] == "verify":
            return verify(a)
        if a.reports[0] != "compare":
            raise InvalidValue(f"unknown suite action {a.reports[0]!r}; use 'ta-envs suite --arch "
                               "... --out DIR', 'ta-envs suite compare REPORT ...' or 'ta-envs "
                               "suite verify REPORT --out DIR'")
        return compare(a)
    if a.reference or a.allow_mixed:
        raise InvalidValue("--reference and --allow-mixed apply to 'ta-envs suite compare'")
    if a.out is None:
        raise InvalidValue("--out is required to run the suite")
    from baselines.figures import accuracy_vs_length
    from baselines.runs import atomic_write_text
    from baselines.suite import SuiteConfig, leaderboard, run_suite

    seeds = a.seeds if a.seeds is not None else (1 if a.quick else 3)
    check_int("--seeds", seeds, 1)
    check_int("--workers", a.workers, 1)
    hidden = a.hidden if a.hidden is not None or a.params is not None else 64
    if a.hidden is not None and a.params is not None:
        raise InvalidValue("give --hidden or --params, not both")
    cfg = SuiteConfig(arch=a.arch, hidden=hidden, params=a.params,
                      model_kw=parse_kw(a.model_kw, "--model-kw"), init=a.init, gain=a.gain,
                      seeds=seeds, quick=a.quick, tasks=tuple(a.tasks), device=a.device,
                      tensorboard=not a.no_tensorboard, mechanism=not a.no_mechanism,
                      machine=not a.no_machine)
    out = check_out_dir("--out", a.out)
    t0 = time.perf_counter()
    report = run_suite(cfg, out, backend=a.backend, workers=a.workers, address=a.address,
                       force=a.force, mechanism_fn=None if a.no_mechanism else
                       "analysis.mechanism:classify", show_progress=True,
                       on_result=lambda r: print(_line(r), flush=True))
    atomic_write_text(out / "leaderboard.md", leaderboard([report]) + "\n")
    accuracy_vs_length([report], out / "accuracy_vs_length.png",
                       title=f"{report['label']}, {report['params']:,} parameters")
    o = report["overall"]
    print(f"suite {report['protocol']} ({o['tasks']} tasks, {cfg.seeds} seeds, "
          f"{report['label']} = {report['params']:,} params) in {time.perf_counter() - t0:.0f} s: "
          f"score mean {o['score_mean']:.3f}, max {o['score_max']:.3f}; wrote "
          f"{out / 'results.json'}")
    return 0


SUITE = Command("benchmark an architecture on the task ladder, or compare reports", add_arguments,
                run)
