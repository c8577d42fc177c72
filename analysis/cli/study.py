"""``ta-envs study``: the paper's central claim over many seeds (timing, type, complexity, gated
networks, retraining, controls), resumable, JSON and figures into ``--out``; ``ta-envs study
replay STUDY.json --seeds K`` re-runs recorded seeds and prints the first difference; ``ta-envs
study crossing TIMING.json`` resolves each bifurcated seed's loss of stability per iteration."""

from __future__ import annotations

import argparse
import json

from ta_envs.cli import Command
from ta_envs.validation import InvalidValue, check_int

STUDIES = ("timing", "complexity", "gated", "retrain", "controls")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``ta-envs study``."""
    p.add_argument("study", choices=(*STUDIES, "replay", "crossing", "intervention"))
    p.add_argument("record", nargs="?", default=None,
                   help="replay: the study JSON whose seeds are re-run; crossing, intervention: "
                        "the timing study JSON whose bifurcated seeds are used")
    p.add_argument("--runs", default=None,
                   help="folder for the training runs (reused; replay: default a temporary one)")
    p.add_argument("--out", default=None, help="folder for the JSON and figures")
    p.add_argument("--seeds", type=int, default=None,
                   help="seeds per setting (default: timing 30, gated and complexity 10); "
                        "retrain: solved timing networks retrained (8); controls: timing seeds "
                        "examined (30)")
    p.add_argument("--workers", type=int, default=1, help="training worker processes")
    p.add_argument("--iterations", type=int, default=None,
                   help="training budget per run (default 3000; retrain: 800)")
    p.add_argument("--past-solve", type=int, default=None,
                   help="iterations trained after a run first reaches TD >= 0.99 (default 300)")
    p.add_argument("--settings", nargs="*", default=[], help="complexity: settings to run")
    p.add_argument("--archs", nargs="+", default=None, choices=("gru", "lstm"),
                   help="gated: the architectures (default: gru lstm)")
    p.add_argument("--states", type=int, default=128, help="fixed-point initial states")
    p.add_argument("--every", type=int, default=1, help="track every n-th checkpoint")
    p.add_argument("--setting", default=None,
                   help="replay: only this block (a gated network or a complexity setting)")
    p.add_argument("--rtol", type=float, default=0.0,
                   help="replay: relative tolerance on floats (default 0: exact)")
    p.add_argument("--quiet", action="store_true")


def replay_main(a: argparse.Namespace) -> int:
    """``ta-envs study replay``: 0 when every replayed seed equals its record, 1 otherwise."""
    from analysis.replay import replay

    given = {"--out": a.out is not None, "--workers": a.workers != 1,
             "--past-solve": a.past_solve is not None, "--settings": bool(a.settings),
             "--archs": a.archs is not None, "--states": a.states != 128, "--every": a.every != 1}
    bad = [k for k, v in given.items() if v]
    if bad:
        raise InvalidValue(f"{', '.join(bad)} does not apply to replay (it re-runs the recorded "
                           "configuration)")
    if a.record is None:
        raise InvalidValue("replay needs the study JSON: ta-envs study replay STUDY.json --seeds K")
    if a.seeds is None:
        raise InvalidValue("replay needs --seeds K (how many recorded seeds to re-run)")
    result = replay(a.record, a.seeds, iterations=a.iterations, runs=a.runs, setting=a.setting,
                    rtol=a.rtol, progress=not a.quiet)
    same = "identical" if not a.rtol else f"equal within rtol {a.rtol:g}"
    for s in result.seeds:
        where = f"{s.block}/{s.run}" if s.block else s.run
        verdict = same if s.identical else f"DIFFERS at {s.difference}"
        print(f"{where}: {verdict} ({s.fields} fields compared: {s.scope})")
    print(f"replay: every seed {same} to its record" if result.identical else
          "replay: the record does not regenerate (first difference of each seed above)")
    return 0 if result.identical else 1


def record_experiment_main(a: argparse.Namespace) -> int:
    """``ta-envs study crossing|intervention TIMING.json --runs DIR --out DIR [--seeds K]
    [--workers N]`` (intervention also ``[--iterations N]``, default 600)."""
    from analysis.crossing import run_crossing
    from analysis.intervention import intervention

    if a.record is None or a.runs is None or a.out is None:
        raise InvalidValue(f"{a.study} needs the timing study JSON, --runs DIR and --out DIR")
    refuse = {"--iterations": a.iterations is not None and a.study == "crossing",
              "--past-solve": a.past_solve is not None,
              "--settings": bool(a.settings), "--archs": a.archs is not None,
              "--states": a.states != 128, "--every": a.every != 1,
              "--setting": a.setting is not None, "--rtol": a.rtol != 0.0}
    bad = [k for k, v in refuse.items() if v]
    if bad:
        raise InvalidValue(f"{', '.join(bad)} does not apply to {a.study} (it re-runs the "
                           "record's own configuration and tracking settings)")
    seeds = None if a.seeds is None else check_int("seeds", a.seeds, 1)
    workers = check_int("workers", a.workers, 1)
    if a.study == "intervention":
        summary = intervention(a.record, a.runs, a.out, 10 if seeds is None else seeds,
                               600 if a.iterations is None else a.iterations, workers=workers,
                               progress=not a.quiet)
    else:
        summary = run_crossing(a.record, a.runs, a.out, seeds, workers, progress=not a.quiet)
    print(json.dumps(summary, indent=1, default=str)[:4000])
    return 0


def _refuse_options(a: argparse.Namespace) -> None:
    """One line naming every option given that this study does not apply."""
    extra = {"a study JSON": a.record is not None, "--setting": a.setting is not None,
             "--rtol": a.rtol != 0.0}
    bad = [k for k, v in extra.items() if v]
    if bad:
        raise InvalidValue(f"{', '.join(bad)} applies to replay only")
    if a.runs is None or a.out is None:
        raise InvalidValue(f"the {a.study} study needs --runs DIR and --out DIR")
    refuse = {"--settings": a.settings and a.study != "complexity",
              "--archs": a.archs is not None and a.study != "gated",
              "--past-solve": a.past_solve is not None and a.study in ("retrain", "controls"),
              "--iterations": a.iterations is not None and a.study == "controls",
              "--workers": a.workers != 1 and a.study in ("retrain", "controls")}
    bad = [k for k, v in refuse.items() if v]
    if bad:
        raise InvalidValue(f"{', '.join(bad)} does not apply to the {a.study} study")


def run(a: argparse.Namespace) -> int:
    """Run one study and print its headline numbers."""
    from analysis import study as st
    from analysis.tracking import TrackConfig

    if a.study == "replay":
        return replay_main(a)
    if a.study in ("crossing", "intervention"):
        return record_experiment_main(a)
    _refuse_options(a)
    seeds = a.seeds if a.seeds is not None else {"timing": 30, "retrain": 8,
                                                 "controls": 30}.get(a.study, 10)
    iterations = a.iterations if a.iterations is not None else (
        800 if a.study == "retrain" else 3000)
    cfg = st.StudyConfig(runs=a.runs, out=a.out, seeds=seeds, workers=a.workers,
                         iterations=iterations,
                         continue_after_stop=300 if a.past_solve is None else a.past_solve,
                         track=TrackConfig(fixed_point_states=a.states, every=a.every),
                         progress=not a.quiet)
    cfg.out.mkdir(parents=True, exist_ok=True)
    if a.study == "complexity":
        result = st.complexity(cfg, tuple(a.settings) or tuple(st.COMPLEXITY))
    elif a.study == "gated":
        result = st.gated(cfg, tuple(a.archs or ("gru", "lstm")))
    else:
        result = st.RUNNERS[a.study](cfg)
    keep = {k: v for k, v in result.items() if k != "runs"} if isinstance(result, dict) else result
    print(json.dumps(keep, indent=1, default=str)[:4000])
    return 0


STUDY = Command("the paper's claims over many seeds: bifurcation timing and type, complexity, "
                "gated networks, retraining, controls", add_arguments, run)
