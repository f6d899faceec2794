"""Lesson 07 · Sequences of different lengths: padding, masking, normalisation

Lesson 07's code, under its key ``07_padding_and_masking``,
the key that also names its notebook ``notebooks/07_padding_and_masking.ipynb``
and its solution ``solutions/07_padding_and_masking.json``.
:mod:`.exercises` holds its graded exercises; :data:`PARAMETERS` the rules of its notebook's own
parameters (``ll.params.validate_parameters`` finds them).
"""

from lstm_lessons.params import Rule

PARAMETERS = {
    "padded_length": Rule(int, 30, 10_000, meaning="frames every utterance is padded to (more than 29, "
                                                   "Japanese Vowels' longest utterance)"),
}
"""The rules of the parameters only this lesson's notebook has."""
