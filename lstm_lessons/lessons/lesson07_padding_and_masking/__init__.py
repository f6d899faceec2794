"""Lesson 07 · Sequences of different lengths: padding, masking, normalisation

Lesson 07's code, under its key ``07_padding_and_masking``,
the key that also names its notebook ``notebooks/07_padding_and_masking.ipynb``
and its solution ``solutions/07_padding_and_masking.json``.
:mod:`.exercises` holds its graded exercises.
"""
