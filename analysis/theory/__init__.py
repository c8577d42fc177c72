"""Learning dynamics of linear RNNs (Proca et al., ICML 2025), as code checked against gradient
descent: :mod:`analysis.theory.linear_rnn`."""
