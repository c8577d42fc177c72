"""Every public entry point documents its parameters and its result (Google style,
rendered as tables on the API reference), and the Args section names exactly its parameters."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

#: The public entry points: the core package's and the suite's exports, and the verbs behind the
#: commands (train, rl, suite, study, analyze, demo).
ENTRY_POINTS = (
    [f"ta_envs:{n}" for n in importlib.import_module("ta_envs").__all__]
    + [f"baselines.suite:{n}" for n in importlib.import_module("baselines.suite").__all__]
    + ["baselines.train:train", "baselines.train:train_seeds",
       "baselines.native_ppo:train_native", "baselines.native_ppo:train_seeds_native",
       "baselines.runs:load_model", "baselines.runs:load_checkpoint",
       "baselines.models:build_model", "baselines.rl:make_core", "baselines.rl:make_agent",
       "baselines.rl:evaluate_agent", "baselines.rl:train_agent", "baselines.rl:train_seeds_rl",
       "analysis.fixed_points:find_fixed_points", "analysis.fixed_points:sample_states",
       "analysis.orbits:find_periodic_orbits", "analysis.tracking:track_run",
       "analysis.bifurcation:losses_of_stability", "analysis.bifurcation:bifurcation_kind",
       "analysis.machine:machine_score", "analysis.replay:replay", "analysis.demo:run_demo",
       "analysis.study:timing", "analysis.study:complexity", "analysis.study:gated",
       "analysis.study:retrain", "analysis.study:controls"])


def _functions() -> list[tuple[str, object]]:
    out = []
    for ref in ENTRY_POINTS:
        mod, name = ref.split(":")
        obj = getattr(importlib.import_module(mod), name)
        if inspect.isfunction(obj):
            out.append((ref, obj))
    return out


@pytest.mark.parametrize(("ref", "fn"), _functions(), ids=[r for r, _ in _functions()])
def test_entry_point_documents_its_args_and_returns(ref, fn):
    doc = inspect.getdoc(fn) or ""
    params = [p.name for p in inspect.signature(fn).parameters.values()
              if p.name not in ("self", "cls")]
    if params:
        assert "\nArgs:\n" in doc, f"{ref}: no Args section"
        block = doc.split("\nArgs:\n", 1)[1].split("\n\n", 1)[0]
        named = re.findall(r"^    \**(\w+):", block, re.M)
        assert named == params, f"{ref}: Args names {named}, the signature has {params}"
    returns = inspect.signature(fn).return_annotation
    if returns not in (None, "None", inspect.Signature.empty):
        assert "\nReturns:\n" in doc, f"{ref}: no Returns section"


def test_the_entry_point_list_is_not_empty_and_resolves():
    assert len(_functions()) >= 40


def test_every_module_is_in_the_api_reference():
    """Each module of the three packages has a ``::: module`` entry on an API page (a package's
    ``__init__`` only when it defines something rather than re-exporting)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    listed = set()
    for page in (root / "docs" / "api").glob("*.md"):
        listed |= set(re.findall(r"^::: ([\w.]+)", page.read_text(), re.M))
    modules = set()
    for pkg in ("ta_envs", "baselines", "analysis"):
        for f in (root / pkg).rglob("*.py"):
            parts = f.relative_to(root).with_suffix("").parts
            if parts[-1] == "__main__" or (
                    parts[-1] == "__init__"
                    and not re.search(r"^(def|class) ", f.read_text(), re.M)):
                continue
            modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    missing = sorted(modules - listed)
    assert not missing, f"modules missing from docs/api/*.md: {missing}"
