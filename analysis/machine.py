"""The machine score: did the network build the task's own machine?

A task's automaton has a minimal machine (``CompiledAutomaton.minimal_class``): ``M`` states that
any perfect solver must tell apart, and a transition ``δ(m, s)`` for each state and symbol. The
score asks two things of a trained network with the recurrent interface, on sequences longer than
its training length (default 4x the episode):

1. **Represented states.** The network's states after each step are labelled with the minimal
   state the automaton is in. A nearest-neighbour decoder on half of the sequences (at most
   ``reference`` states of it) decodes the other half; a minimal state is *represented* when its
   recall is at least ``threshold``. Nearest neighbours, not centroids: a minimal state may be
   held by several network states (the phases of an orbit, a counter), which is allowed.
2. **Transitions.** From every held-out state of minimal state ``m``, one network step under each
   symbol ``s``; the fraction whose result decodes to ``δ(m, s)``, averaged over the visited
   ``(m, s)`` pairs.

``score = represented fraction x transition agreement``, in [0, 1] (fractions over the minimal
states the automaton visits after its first step): 1 for a network whose states
implement the minimal machine (a homomorphism onto it), lower when states that the task must keep
apart merge (a clock that saturates, a memory that fades) or when a step does not carry a state to
its successor. A network that is right at the training length by another route (counting from the
start, a finite window) scores below 1 on longer sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from baselines.models import require_recurrent
from ta_envs import Task, make_dataset, run_configs
from ta_envs.validation import check_float, check_int

from .maps import as_step


@dataclass(frozen=True)
class MachineScore:
    """A network against its task's minimal machine (see the module)."""

    score: float  #: represented x transitions, in [0, 1]
    represented: float  #: fraction of the visited minimal states decoded with recall >= threshold
    transitions: float  #: mean agreement of one network step with δ over visited (m, s)
    recall: np.ndarray  #: [M] held-out decoding recall per minimal state (nan: not visited)
    transition_agreement: np.ndarray  #: [M, S] (nan: not visited)
    visits: np.ndarray  #: [M] held-out states per minimal state
    num_minimal: int
    length: int  #: steps per sequence scored

    def to_dict(self) -> dict[str, Any]:
        """Plain data (nan as None)."""
        def clean(a: np.ndarray) -> Any:
            return [clean(r) if r.ndim else None if np.isnan(r) else round(float(r), 6)
                    for r in a]

        return {"score": self.score, "represented": self.represented,
                "transitions": self.transitions, "recall": clean(self.recall),
                "transition_agreement": clean(self.transition_agreement),
                "visits": self.visits.tolist(), "num_minimal": self.num_minimal,
                "length": self.length}


def _nearest_label(ref: np.ndarray, labels: np.ndarray, states: np.ndarray,
                   chunk: int = 1024) -> np.ndarray:
    """The label of each state's nearest reference state (Euclidean; ties: the first)."""
    r = torch.as_tensor(ref)
    out = np.empty(len(states), np.int64)
    for i in range(0, len(states), chunk):
        d = torch.cdist(torch.as_tensor(states[i:i + chunk]), r)
        out[i:i + chunk] = labels[d.argmin(1).numpy()]
    return out


def machine_score(model: Any, task: Task, *, batch: int = 64, length: int | None = None,
                  seed: int = 0, threshold: float = 0.9, reference: int = 8192) -> MachineScore:
    """Score ``model`` against ``task``'s minimal machine (see the module).

    Args:
        model: a model with the recurrent interface.
        task: an open-loop task (its minimal machine and its dataset).
        batch: sequences; half give the decoder's reference states, half are scored.
        length: steps per sequence (default 4x the episode length).
        seed: the dataset's seed and the reference subsample's.
        threshold: the recall a minimal state needs to count as represented.
        reference: at most this many reference states (memory: ``reference x`` scored states).

    Returns:
        The score in [0, 1], its two factors and their per-state and per-transition detail.

    Raises:
        TypeError: a model without the recurrent interface.
        ValueError: a bad batch, length, threshold or reference.
    """
    rec = require_recurrent(model, "machine_score")
    step = as_step(model, "machine_score")
    check_int("batch", batch, 2)
    L = check_int("length", length if length is not None else 4 * task.episode_length, 1)
    check_float("threshold", threshold, 0.0, 1.0)
    check_int("reference", reference, 1)
    comp = task.automaton.compiled
    cls, M, S = comp.minimal_class, comp.num_minimal, comp.num_symbols
    data = next(make_dataset(task, batch_size=batch, seq_len=L, seed=seed))
    symbols = np.asarray(data.symbols, np.intp)
    after = comp.next_config[run_configs(comp, symbols), symbols]  # [B, L] config after each step
    labels = cls[after]
    x = torch.as_tensor(np.asarray(data.inputs), dtype=torch.float64)
    with torch.no_grad():
        h = rec.initial_state(batch).double()
        states = []
        for t in range(L):
            h = step(h, x[:, t])
            states.append(h.numpy())
    H = np.stack(states, 1)  # [B, L, S_h]
    fit, test = slice(0, batch // 2), slice(batch // 2, batch)
    Hf, yf = H[fit].reshape(-1, H.shape[-1]), labels[fit].reshape(-1)
    Ht, yt = H[test].reshape(-1, H.shape[-1]), labels[test].reshape(-1)
    if len(Hf) > reference:
        keep = np.sort(np.random.default_rng(seed).choice(len(Hf), reference, replace=False))
        Hf, yf = Hf[keep], yf[keep]
    decoded = _nearest_label(Hf, yf, Ht)
    visits = np.bincount(yt, minlength=M)
    recall = np.full(M, np.nan)
    for m in np.flatnonzero(visits):
        recall[m] = float((decoded[yt == m] == m).mean())
    # δ on minimal states: any configuration of a class gives the same successor classes
    first = np.full(M, -1)
    first[cls[::-1]] = np.arange(len(cls))[::-1]
    delta = cls[comp.next_config[first]]  # [M, S]
    agree = np.full((M, S), np.nan)
    obs = np.asarray(task.obs_table, np.float64)
    with torch.no_grad():
        for s in range(S):
            xs = torch.as_tensor(np.repeat(obs[s][None], len(Ht), 0))
            nxt = step(torch.as_tensor(Ht), xs).numpy()
            ok = _nearest_label(Hf, yf, nxt) == delta[yt, s]
            for m in np.flatnonzero(visits):
                agree[m, s] = float(ok[yt == m].mean())
    seen = int((visits > 0).sum())
    represented = float(np.nansum(recall >= threshold) / max(seen, 1))
    transitions = float(np.nanmean(agree)) if np.isfinite(agree).any() else 0.0
    return MachineScore(represented * transitions, represented, transitions, recall, agree,
                        visits, M, L)
