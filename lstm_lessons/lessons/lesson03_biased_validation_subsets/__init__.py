"""Lesson 03 · A good average hiding a bad subset

Lesson 03's code, under its key ``03_biased_validation_subsets``,
the key that also names its notebook ``notebooks/03_biased_validation_subsets.ipynb``
and its solution ``solutions/03_biased_validation_subsets.json``.
:mod:`.exercises` holds its graded exercises.
"""
