"""Dynamical-systems analysis of trained recurrent networks (needs the ``torch`` extra):
fixed points (:mod:`analysis.fixed_points`) and periodic orbits (:mod:`analysis.orbits`)."""
