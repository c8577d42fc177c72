"""Command-line front ends of the analysis (found through the ``ta_envs.commands`` entry points):
they parse arguments into config dataclasses, call the library, and print."""
