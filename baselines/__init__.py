"""Reference learners for ta-envs tasks: torch RNN/GRU/LSTM/linear models, the training engine,
learning-phase detection (needs the ``torch`` extra)."""
