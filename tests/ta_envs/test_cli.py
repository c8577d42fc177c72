"""The ta-envs command line: list and show."""

from __future__ import annotations

import re
import subprocess
import sys

from ta_envs import TimedAutomaton, relative_timing_flipflop, temporal_flipflop
from ta_envs.cli import main, parse_kw


def test_list_names_every_id_with_its_complexity(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for env_id in ("TemporalFlipFlop-v0", "RelativeTimingFlipFlop-v0", "FlipFlop-v0",
                   "TimedAutomaton-v0", "WordProblem-v0", "RandomAutomaton-v0"):
        assert env_id in out
    # the periodic flipflop's minimal machine has one state per time of day (P = 24)
    line = next(x for x in out.splitlines() if x.startswith("TemporalFlipFlop-v0"))
    assert re.search(r"minimal=24\b", line)
    line = next(x for x in out.splitlines() if x.startswith("RelativeTimingFlipFlop-v0"))
    assert re.search(r"minimal=11\b", line)  # 2 tau + 1 with tau = 5
    line = next(x for x in out.splitlines() if x.startswith("WordProblem-v0"))
    assert re.search(r"minimal=6\b", line)  # S3 by default: one configuration per element
    line = next(x for x in out.splitlines() if x.startswith("RandomAutomaton-v0"))
    assert re.search(r"minimal=16\b", line)  # the requested count by default


def test_show_prints_the_automaton_and_a_two_period_trace(capsys):
    assert main(["show", "TemporalFlipFlop-v0", "--kw", "period=6", "phase=2"]) == 0
    out = capsys.readouterr().out
    assert "6 after minimisation" in out
    assert "Θ(t)=1 iff (t+2) mod 6 >= 3" in out
    t_rows = [x for x in out.splitlines() if x.startswith("t ")]
    assert t_rows and t_rows[0].split()[1:] == [str(i) for i in range(12)]  # 2 periods
    theta = next(x for x in out.splitlines() if x.startswith("Θ")).split()[1:]
    assert theta == [str(int((t + 2) % 6 >= 3)) for t in range(12)]


def test_show_json_round_trips_to_the_factory_automaton(capsys, tmp_path):
    assert main(["show", "RelativeTimingFlipFlop-v0", "--kw", "tau=3", "--json"]) == 0
    text = capsys.readouterr().out
    assert TimedAutomaton.from_json(text) == relative_timing_flipflop(tau=3).automaton
    path = tmp_path / "a.json"
    temporal_flipflop(period=4).automaton.to_json(path)
    assert main(["show", str(path)]) == 0
    assert "4 after minimisation" in capsys.readouterr().out


def test_show_rejects_bad_kwargs_with_exit_code_2(capsys):
    assert main(["show", "TemporalFlipFlop-v0", "--kw", "perod=3"]) == 2
    assert "unexpected keyword argument 'perod'; allowed: period" in capsys.readouterr().err


def test_parse_kw_reads_json_values():
    assert parse_kw(["period=12", "state_dependent=true", "name=abc", "x=null"]) == {
        "period": 12, "state_dependent": True, "name": "abc", "x": None}


def test_console_script_is_installed():
    res = subprocess.run([sys.executable, "-m", "ta_envs.cli", "list"], capture_output=True,
                         text=True, check=True)
    assert "FlipFlop-v0" in res.stdout
