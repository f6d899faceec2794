"""Lesson 06 · Leakage: a validation score too good to be true

Lesson 06's code, under its key ``06_leakage``,
the key that also names its notebook ``notebooks/06_leakage.ipynb``
and its solution ``solutions/06_leakage.json``.
:mod:`.exercises` holds its graded exercises.
"""
