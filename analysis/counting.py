"""Does the state count? Decoding time since the last event from a network's hidden state.

For a task with an unbounded clock (``RelativeTimingFlipFlop-v0``: ``y`` = steps since the last a
or b), `counting_test()` fits a one-vs-rest least-squares readout of ``min(y_{t+1}, τ)`` (the
clock after step t, saturated where the task stops telling values apart; ``τ`` = the largest guard
constant) from the state ``h_t`` on one batch and reports its accuracy on another, overall and per
clock value, next to chance (the most frequent value). A fading memory decodes this too (an
untrained network scores high), so `counting_probe()` tests the behaviour instead: after
``reset`` (e.g. ``b``) and ``k`` steps of ``hold`` (e.g. ``null``), the network reads ``probe``
(``a``); its answer against ``k`` shows where it puts the threshold, next to the automaton's own
answer (``a`` gives 1 only once ``k + 1 >= τ``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ta_envs import Task, make_dataset
from ta_envs.reference import reference_outputs

from .state_readout import lsq_accuracy


def counting_test(model: torch.nn.Module, task: Task, *, seq_len: int = 100,
                  batch_size: int = 128, seed: int = 0) -> dict[str, Any]:
    """``{"clock", "cap", "accuracy", "chance", "per_value": {value: accuracy}}``."""
    clocks = [i for i, c in enumerate(task.automaton.clocks) if c.period is None]
    if not clocks:
        raise ValueError(f"task {task.name or '?'} has no unbounded clock to count with")
    ci = clocks[0]
    cap = int(task.automaton.compiled.clock_max[ci]) - 1  # the largest guard constant
    data = make_dataset(task, batch_size=batch_size, seq_len=seq_len + 1, seed=seed)
    sets = []
    for _ in range(2):
        b = next(data)
        with torch.no_grad():
            _, states = model(torch.as_tensor(b.inputs))
        h = states[:, :-1].double().reshape(-1, states.shape[-1]).numpy()
        y = np.minimum(b.clocks[:, 1:, ci], cap).reshape(-1)
        sets.append((h, y))
    (h_tr, y_tr), (h_te, y_te) = sets
    ok = lsq_accuracy(h_tr, y_tr, h_te, y_te, int(max(y_tr.max(), y_te.max())) + 1)
    vals, counts = np.unique(y_te, return_counts=True)
    return {"clock": task.automaton.clocks[ci].name, "cap": cap, "accuracy": float(ok.mean()),
            "chance": float(counts.max() / counts.sum()),
            "per_value": {int(v): float(ok[y_te == v].mean()) for v in vals}}


def counting_probe(model: torch.nn.Module, task: Task, *, reset: str = "b", hold: str = "null",
                   probe: str = "a", max_wait: int | None = None, settle: int = 50
                   ) -> dict[str, Any]:
    """Network and automaton output after ``hold × settle, reset, hold × k, probe`` for
    ``k = 0..max_wait`` (default 2τ); the learned threshold is the first ``k`` answered 1."""
    alphabet = list(task.automaton.alphabet)
    for name, sym in (("reset", reset), ("hold", hold), ("probe", probe)):
        if sym not in alphabet:
            raise ValueError(f"{name} must be one of the task's symbols {alphabet}, got {sym!r}")
    cap = int(task.automaton.compiled.clock_max[0]) - 1
    K = 2 * cap if max_wait is None else int(max_wait)
    obs = np.asarray(task.obs_table, dtype=np.float32)
    seqs = [[hold] * settle + [reset] + [hold] * k + [probe] for k in range(K + 1)]
    L = max(len(s) for s in seqs)
    x = np.zeros((len(seqs), L, obs.shape[1]), np.float32)
    for i, s in enumerate(seqs):  # left-pad with the hold symbol so all end together
        padded = [hold] * (L - len(s)) + s
        x[i] = obs[[alphabet.index(c) for c in padded]]
    with torch.no_grad():
        logits, _ = model(torch.as_tensor(x))
    last = logits[:, -1].numpy()
    net = (last[:, 0] > 0).astype(int) if last.shape[1] == 1 else last.argmax(1)
    want = [reference_outputs(task.automaton, [hold] * (L - len(s)) + s)[-1] for s in seqs]
    first = np.flatnonzero(net == 1)
    first_want = np.flatnonzero(np.asarray(want) == 1)
    return {"waits": list(range(K + 1)), "network": net.tolist(), "automaton": [int(w) for w in want],
            "network_threshold": int(first[0]) if len(first) else None,
            "automaton_threshold": int(first_want[0]) if len(first_want) else None,
            "agree": bool((net == np.asarray(want)).all())}
