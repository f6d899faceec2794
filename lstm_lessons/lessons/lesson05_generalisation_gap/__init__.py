"""Lesson 05 · The generalisation gap: great on the training days, worse on new ones

Lesson 05's code, under its key ``05_generalisation_gap``,
the key that also names its notebook ``notebooks/05_generalisation_gap.ipynb``
and its solution ``solutions/05_generalisation_gap.json``.
:mod:`.exercises` holds its graded exercises.
"""
