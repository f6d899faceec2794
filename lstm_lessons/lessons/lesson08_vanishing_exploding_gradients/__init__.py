"""Lesson 08 · Vanishing and exploding gradients

Lesson 08's code, under its key ``08_vanishing_exploding_gradients``,
the key that also names its notebook ``notebooks/08_vanishing_exploding_gradients.ipynb``
and its solution ``solutions/08_vanishing_exploding_gradients.json``.
:mod:`.exercises` holds its graded exercises.
"""
