"""Lesson 02 · The loss that does not move: stagnant training."""

from lstm_lessons.params import Rule

PARAMETERS = {
    "small_learning_rate": Rule(float, 0.0, 1.0, low_inclusive=False,
                                meaning="the deliberately too-small step size of lesson 02"),
    "minority_examples": Rule(int, 1, 20, meaning="training utterances kept of the minority "
                                                   "speaker (20 of its 30 may train; the last 10 "
                                                   "validate)"),
}
"""The rules of the parameters only this lesson's notebook has."""
