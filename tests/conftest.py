"""Test session setup: one torch thread (deterministic and fast on the 2-core CI machines)."""

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the core suite needs only numpy + gymnasium
    pass
