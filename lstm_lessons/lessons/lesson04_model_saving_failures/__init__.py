"""Lesson 04 · "Why isn't my best model saved?"

Lesson 04's code, under its key ``04_model_saving_failures``,
the key that also names its notebook ``notebooks/04_model_saving_failures.ipynb``
and its solution ``solutions/04_model_saving_failures.json``.
:mod:`.exercises` holds its graded exercises.
"""
