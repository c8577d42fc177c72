"""Measures and experiments on differentiating ring oscillators: synchrony (`.synchrony`),
the period law and lattice runs (`.experiments`), figures (`.plots`). The model is
[`baselines.rings`][baselines.rings]."""
