"""Lesson 05 · The generalisation gap: great on the training days, worse on new ones

Lesson 05's code, under its key ``05_generalisation_gap``,
the key that also names its notebook ``notebooks/05_generalisation_gap.ipynb``
and its solution ``solutions/05_generalisation_gap.json``.
:mod:`.exercises` holds its graded exercises; :data:`PARAMETERS` the rules of its notebook's own
parameters (``ll.params.validate_parameters`` finds them).
"""

from lstm_lessons.params import Rule

PARAMETERS = {
    "folds": Rule(int, 2, 33, meaning="cross-validation folds (at most 33: lesson 05's smaller class has 33 "
                                      "training days)"),
}
"""The rules of the parameters only this lesson's notebook has."""
