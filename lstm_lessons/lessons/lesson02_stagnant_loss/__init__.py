"""Lesson 02 · The loss that does not move: stagnant training

Lesson 02's code, under its key ``02_stagnant_loss``,
the key that also names its notebook ``notebooks/02_stagnant_loss.ipynb``
and its solution ``solutions/02_stagnant_loss.json``.
:mod:`.exercises` holds its graded exercises; :data:`PARAMETERS` the rules of its notebook's own
parameters (``ll.params.validate_parameters`` finds them).
"""

from lstm_lessons.params import Rule

PARAMETERS = {
    "small_learning_rate": Rule(float, 0.0, 1.0, low_inclusive=False,
                                meaning="the deliberately too-small step size of lesson 02"),
    "minority_examples": Rule(int, 1, 20, meaning="training utterances kept of the minority "
                                                   "speaker (20 of its 30 may train; the last 10 "
                                                   "validate)"),
}
"""The rules of the parameters only this lesson's notebook has."""
