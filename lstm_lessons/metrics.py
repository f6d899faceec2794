"""Measures of a model's predictions: a Keras metric and the scores of a binary classifier."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, recall_score


def r2(y_true, y_pred):
    """Coefficient of determination of a batch, as a Keras metric: ``1 - MSE / Var(y_true)``.

    1 is a perfect forecast, 0 is no better than the batch mean, negative is worse. Higher is
    better, which a Keras callback with ``mode="auto"`` cannot tell from the name ``val_r2``
    (lesson 04). Pass it as ``metrics=[ll.metrics.r2]``; it is logged as ``r2`` / ``val_r2``.
    """
    from lstm_lessons._tf import keras

    return 1 - keras.ops.mean((y_true - y_pred) ** 2) / keras.ops.var(y_true)


def binary_scores(y_true, probabilities, threshold: float = 0.5) -> dict[str, float]:
    """How a yes/no classifier does: accuracy, recall of class 1, balanced accuracy, spread.

    Args:
        y_true: ``(n,)`` 0/1 targets.
        probabilities: ``(n,)`` or ``(n, 1)`` predicted probabilities of class 1.
        threshold: a probability above it counts as "class 1".

    Returns:
        ``{"accuracy", "recall", "balanced_accuracy", "spread"}``: the share of right answers;
        the share of class-1 examples found; the mean of the recalls of both classes
        (scikit-learn's ``balanced_accuracy_score``: 0.5 for a model that always gives one
        answer, whatever the class balance); and the standard deviation of the probabilities
        (near 0: the model says the same for every input).

    Raises:
        ValueError: the two arrays differ in length.
    """
    y_true = np.asarray(y_true, dtype=float).ravel()
    probabilities = np.asarray(probabilities, dtype=float).ravel()
    if len(y_true) != len(probabilities):
        raise ValueError(f"y_true and probabilities must have the same length. "
                         f"Received: {len(y_true)} and {len(probabilities)}")
    guess = (probabilities > threshold).astype(float)
    return {"accuracy": float((guess == y_true).mean()),
            "recall": float(recall_score(y_true, guess, zero_division=0)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, guess)),
            "spread": float(probabilities.std())}
