"""The training doctor: names what is wrong with a training run, with evidence.

- :func:`diagnose` reads a finished run (a Keras ``History``, a dict, a ``CSVLogger`` file or
  JSON) and returns a :class:`Diagnosis`: a list of :class:`Symptom` s, empty when healthy.
- :class:`TrainingDoctor` is a Keras callback that records what the history does not hold
  (gradient norms per layer, weight-update ratios, the spread of the predictions), warns
  once per symptom during training and prints the diagnosis at the end.
- ``lstm-lessons doctor FILE`` is the same diagnosis on the command line.

The rules, their thresholds and sources are in :mod:`lstm_lessons.doctor.rules`.
"""

from __future__ import annotations

from lstm_lessons.doctor.diagnosis import LESSONS, Diagnosis, Symptom, diagnose
from lstm_lessons.doctor.history import HistoryError, load_history

SYMPTOMS = tuple(LESSONS)
"""The fixed vocabulary of symptom names."""

__all__ = ["LESSONS", "SYMPTOMS", "Diagnosis", "HistoryError", "Symptom", "TrainingDoctor", "diagnose",
           "load_history"]


def __getattr__(name: str):
    if name == "TrainingDoctor":  # imports TensorFlow: only when asked for
        from lstm_lessons.doctor.callback import TrainingDoctor

        return TrainingDoctor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
