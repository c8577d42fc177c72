"""Linear readouts fitted to network states: how much of a variable a set of features carries."""

from __future__ import annotations

import numpy as np


def lsq_accuracy(z_tr: np.ndarray, y_tr: np.ndarray, z_te: np.ndarray, y_te: np.ndarray,
                 classes: int) -> np.ndarray:
    """Correct/incorrect ``[N_te]`` per test sample of a one-vs-rest least-squares readout
    (features ``z [N, F]`` plus a bias, labels ``y [N]`` in ``0..classes-1``).

    Args:
        z_tr: ``[N, F]`` training features.
        y_tr: ``[N]`` training labels.
        z_te: ``[M, F]`` test features.
        y_te: ``[M]`` test labels.
        classes: the number of classes.

    Returns:
        ``[M]`` bool: each test sample classified right.
    """
    A = np.c_[z_tr, np.ones(len(z_tr))]
    Y = np.eye(classes)[y_tr]
    w = np.linalg.lstsq(A, Y, rcond=None)[0]
    return (np.c_[z_te, np.ones(len(z_te))] @ w).argmax(1) == y_te
