"""Lesson 02 · The loss that does not move: stagnant training

Lesson 02's code, under its key ``02_stagnant_loss``,
the key that also names its notebook ``notebooks/02_stagnant_loss.ipynb``
and its solution ``solutions/02_stagnant_loss.json``.
:mod:`.exercises` holds its graded exercises.
"""
