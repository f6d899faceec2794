"""Lesson 05 · The generalisation gap: great on the training days, worse on new ones."""

from lstm_lessons.params import Rule

PARAMETERS = {
    "folds": Rule(int, 2, 33, meaning="cross-validation folds (at most 33: lesson 05's smaller class has 33 "
                                      "training days)"),
}
"""The rules of the parameters only this lesson's notebook has."""
