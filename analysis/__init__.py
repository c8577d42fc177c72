"""Dynamical-systems analysis of trained recurrent networks (needs the ``torch`` and ``analysis``
extras): fixed points (:mod:`analysis.fixed_points`), periodic orbits (:mod:`analysis.orbits`),
their tracking across training (:mod:`analysis.tracking`), the rotation subspace
(:mod:`analysis.subspace`), the counting probe (:mod:`analysis.counting`), the two-parameter
oscillator (:mod:`analysis.oscillator`), figures (:mod:`analysis.plots`) and ``ta-envs analyze``."""
