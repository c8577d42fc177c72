"""Dynamical-systems analysis of trained recurrent networks (needs the ``torch`` and ``analysis``
extras): fixed points ([`analysis.fixed_points`][analysis.fixed_points]), periodic orbits
([`analysis.orbits`][analysis.orbits]),
their tracking across training ([`analysis.tracking`][analysis.tracking]), the rotation subspace
([`analysis.subspace`][analysis.subspace]), the counting probe
([`analysis.counting`][analysis.counting]), the two-parameter
oscillator ([`analysis.oscillator`][analysis.oscillator]), figures
([`analysis.analysis_figures`][analysis.analysis_figures])
and ``ta-envs analyze``."""
