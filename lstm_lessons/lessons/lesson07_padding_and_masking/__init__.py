"""Lesson 07 · Sequences of different lengths: padding, masking, normalisation."""

from lstm_lessons.params import Rule

PARAMETERS = {
    "padded_length": Rule(int, 30, 10_000, meaning="frames every utterance is padded to (more than 29, "
                                                   "Japanese Vowels' longest utterance)"),
}
"""The rules of the parameters only this lesson's notebook has."""
