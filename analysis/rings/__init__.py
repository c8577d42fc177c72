"""Measures and experiments on differentiating ring oscillators: synchrony (:mod:`.synchrony`),
the period law and lattice runs (:mod:`.experiments`), figures (:mod:`.plots`). The model is
:mod:`baselines.rings`."""
