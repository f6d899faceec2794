"""lstm-lessons: helpers for lessons that reproduce, measure and fix LSTM training failures.

Notebooks import the package in one line, ``import lstm_lessons as ll``, and reach each
module by name: the toolkit's (``ll.data``, ``ll.params``, ``ll.models``, ``ll.metrics``,
``ll.training``, ``ll.curves``, ``ll.gradients``, ``ll.subsets``, ``ll.checkpoint``, ``ll.doctor``,
``ll.grading``, ``ll.plots``, ``ll.claims``, ``ll.augment``, ``ll.workers``, ``ll.cores``,
``ll.sequences``, ``ll.experiments``, ``ll.live``, ``ll.lessons``, ``ll.machine``, ``ll.files``,
``ll.safe_text``, ``ll.instructor``), and a lesson's own, which live in its folder under
``lstm_lessons/lessons/`` and are found there (``ll.stagnation``, ``ll.generalisation``,
``ll.leakage``, ``ll.padding``, ``ll.gradient_flow``). ``ll.keras`` is Keras 3, imported with TensorFlow's C++
start-up lines kept out of the notebook (``keras = ll.keras``).
Modules load on first use, so the command line does not pay for importing TensorFlow when it
does not need it.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
"""The package's version (pyproject.toml reads it from here)."""

_MODULES = ("data", "params", "models", "metrics", "training", "curves", "plots", "claims", "runner", "cli",
            "gradients", "subsets", "checkpoint", "doctor", "grading", "instructor", "augment", "workers",
            "cores", "sequences", "experiments", "lessons", "safe_text", "machine", "files", "live")
"""The toolkit's modules. A lesson's own modules (``ll.padding``...) live in its folder and are
found there (:func:`lstm_lessons.lessons.modules`)."""


def __getattr__(name: str):
    if name == "keras":
        from lstm_lessons._tf import keras

        return keras
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    from lstm_lessons import lessons

    if not name.startswith("_") and name in lessons.modules():
        return lessons.module(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    from lstm_lessons import lessons

    return sorted([*globals(), *_MODULES, *lessons.modules(), "keras"])
