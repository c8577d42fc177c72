"""Automaton specs: guard parsing, dict/JSON round trips, and rejection of broken specs."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import automata, broken_specs

from ta_envs import Clock, Edge, Guard, TimedAutomaton
from ta_envs.guards import OPS, Atom

atoms = st.builds(Atom, st.from_regex(r"[A-Za-z_]\w{0,5}", fullmatch=True).filter(
    lambda s: s != "true"), st.sampled_from(OPS), st.integers(0, 10**6))


@given(st.lists(atoms, max_size=4))
def test_guard_text_round_trip(atom_list):
    g = Guard(tuple(atom_list))
    assert Guard.parse(str(g)) == g


@given(st.lists(atoms, min_size=1, max_size=3), st.dictionaries(
    st.from_regex(r"[a-z]", fullmatch=True), st.integers(0, 50)))
def test_guard_truth_is_the_conjunction(atom_list, values):
    clocks = {a.clock: values.get(a.clock, 7) for a in atom_list}
    ops = {"<": int.__lt__, "<=": int.__le__, "==": int.__eq__, ">=": int.__ge__, ">": int.__gt__}
    expected = all(ops[a.op](clocks[a.clock], a.const) for a in atom_list)
    assert Guard(tuple(atom_list)).holds(clocks) is expected


def test_guard_parser_accepts_spacing_and_true():
    assert Guard.parse("  x<12&&y >= 5 ") == Guard((Atom("x", "<", 12), Atom("y", ">=", 5)))
    assert Guard.parse("true") == Guard.parse("") == Guard()


@pytest.mark.parametrize("text, fragment", [
    ("x < ", "incomplete atom"),
    ("x << 3", "expected an integer"),
    ("x < 3 y > 2", "expected '&&'"),
    ("x < 3 &&", "incomplete atom"),
    ("__import__('os').system('true')", "unexpected character"),
    ("x ! 3", "unexpected character"),
    ("3 < x", "expected a clock name"),
    ("x < -1", "negative constant -1"),
    ("true && x < 2", "expected a clock name"),
])
def test_guard_parser_rejects(text, fragment):
    with pytest.raises(ValueError, match=None) as err:
        Guard.parse(text)
    assert fragment in str(err.value)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(automata())
def test_dict_and_json_round_trip_exactly(a):
    d = a.to_dict()
    assert TimedAutomaton.from_dict(d) == a
    assert TimedAutomaton.from_dict(json.loads(a.to_json())).to_dict() == d


def test_json_file_round_trip(tmp_path):
    a = TimedAutomaton(("p", "q"), "p", ("go",), (Clock("x", 3),),
                       (Edge("p", "go", "q", "x == 2", ("x",)), Edge("p", "go", "p", "x < 2"),
                        Edge("q", "go", "p")), (0, 1))
    path = tmp_path / "a.json"
    a.to_json(path)
    assert TimedAutomaton.from_json(path) == a
    assert TimedAutomaton.from_json(str(path)) == a


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_specs())
def test_broken_specs_are_rejected_with_the_offending_part_named(b):
    with pytest.raises(b.error) as err:
        TimedAutomaton.from_dict(b.spec)
    for fragment in b.mentions:
        assert fragment in str(err.value), (fragment, str(err.value))


def test_nondeterminism_error_names_location_symbol_and_clock_values():
    # 'a' is deterministic until x reaches 2: then both guards hold (reachable only at x == 2)
    edges = (Edge("s", "a", "s", "x <= 2"), Edge("s", "a", "s", "x >= 2"))
    with pytest.raises(ValueError) as err:
        TimedAutomaton(("s",), "s", ("a",), (Clock("x", 5),), edges, (0,))
    msg = str(err.value)
    assert "'s'" in msg and "'a'" in msg and "x=2" in msg and "2 edges are enabled" in msg


def test_gap_in_an_unreachable_configuration_is_accepted():
    # x is reset then advanced on every step, so it reads 0 then 1 forever: x >= 2 is unreachable
    edges = (Edge("s", "a", "s", "x <= 1", ("x",)),)
    a = TimedAutomaton(("s",), "s", ("a",), (Clock("x"),), edges, (0,))
    assert a.compiled.num_configs == 2


@pytest.mark.parametrize("spec, fragment", [
    ({"locations": ["a"]}, "missing keys"),
    ({"locations": ["a"], "initial": "a", "alphabet": ["x"], "output": {"a": 0}, "edges": [],
      "colour": 1}, "unknown keys ['colour']"),
    ({"locations": ["a"], "initial": "a", "alphabet": ["x"], "output": {"a": -1},
      "edges": [{"source": "a", "symbol": "x", "target": "a"}]}, "output of location 'a'"),
    ({"locations": ["a"], "initial": "a", "alphabet": ["x"], "output": {"a": 0, "b": 1},
      "edges": []}, "unknown locations ['b']"),
    ({"locations": ["a"], "initial": "a", "alphabet": ["x"], "output": {"a": 0},
      "edges": [{"source": "a", "symbol": "x", "target": "a", "weight": 2}]}, "unknown keys"),
    ({"locations": ["a"], "initial": "a", "alphabet": ["x"], "output": {"a": 0},
      "clocks": [{"name": "1x"}], "edges": []}, "identifier"),
])
def test_malformed_dicts(spec, fragment):
    with pytest.raises((ValueError, TypeError)) as err:
        TimedAutomaton.from_dict(spec)
    assert fragment in str(err.value)


def test_type_errors_name_the_field():
    with pytest.raises(TypeError, match="period must be an int"):
        Clock("x", 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="constant must be an int"):
        Atom("x", "<", 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a mapping"):
        TimedAutomaton.from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="malformed"):
        TimedAutomaton.from_json("{not json")
