"""Lesson 01 · The validation loss that will not settle: a learning rate that is too high

Lesson 01's code, under its key ``01_learning_rate_oscillation``,
the key that also names its notebook ``notebooks/01_learning_rate_oscillation.ipynb``
and its solution ``solutions/01_learning_rate_oscillation.json``.
:mod:`.exercises` holds its graded exercises.
"""
