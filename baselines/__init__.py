"""Reference learners for ta-envs tasks: torch RNN/GRU/LSTM/linear models, the training engine,
learning-phase detection (``torch`` extra), the benchmark suite ([`baselines.suite`][baselines.suite])
and
stable-baselines3 agents ([`baselines.rl`][baselines.rl], ``rl`` extra)."""
