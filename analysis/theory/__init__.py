"""Learning dynamics of linear RNNs (Proca et al., ICML 2025), as code checked against gradient
descent: [`analysis.theory.linear_rnn`][analysis.theory.linear_rnn]."""
