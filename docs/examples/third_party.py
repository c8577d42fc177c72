"""Two public third-party models entered into the suite, each wrapped in at most 10 lines.

    ta-envs suite --arch third_party:MinGRUPytorch --quick --out runs/mingru_pt
    ta-envs suite --arch third_party:LRUPytorch --quick --out runs/lru_pt

(run from this folder, or with it on PYTHONPATH; ``pip install minGRU-pytorch lru-pytorch``).
Both are sequence models: forward only, which is all the suite needs.

Speed: minGRU-pytorch is quick. LRU-pytorch is **not** a quick model on CPU: its layer loops over
batch and time in Python, and one forward and backward pass at B = 64, T = 48 took 14 s here, so
even ``--quick`` takes hours with it; it shows that any module enters, not a model to benchmark on a
CPU (the built-in ``lru`` is the fast LRU).
"""

import torch
from LRU_pytorch import LRU
from minGRU_pytorch import minGRU


class MinGRUPytorch(torch.nn.Module):  # lucidrains' minGRU (expansion 1.5 projects back to H)
    def __init__(self, input_size, hidden_size, output_size, expansion=1.5):
        super().__init__()
        self.inp = torch.nn.Linear(input_size, hidden_size)
        self.rnn = minGRU(hidden_size, expansion_factor=expansion)
        self.out = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.out(self.rnn(self.inp(x)))


class LRUPytorch(torch.nn.Module):  # LRU-pytorch's layer (a Python loop over batch and time)
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.lru = LRU(input_size, hidden_size, hidden_size)
        self.out = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.out(torch.relu(self.lru(x)))
