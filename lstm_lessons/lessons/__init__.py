"""The lessons, one package each, found by their folder's name.

A lesson's key is its notebook's name, ``NN_slug`` (``"04_model_saving_failures"``), and its
package is ``lesson`` + the key (``lstm_lessons/lessons/lesson04_model_saving_failures/``), so
``git ls-files | grep 04_model_saving_failures`` lists every piece of it. A package here whose
name has that shape is a lesson; nothing else needs to list it. Its ``exercises`` module, when
it has one, holds a tuple ``EXERCISES`` of :class:`lstm_lessons.grading.exercise.Exercise`.
``CONTRIBUTING.md`` says how to add one.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from types import ModuleType

PACKAGE_NAME = re.compile(r"lesson(?P<key>(?P<number>\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*)")
"""A lesson package's name: ``lesson``, two digits, ``_``, and a slug of lower-case words."""


def keys() -> tuple[str, ...]:
    """Every lesson's key (``"01_learning_rate_oscillation"``...), in the order of their numbers.

    Raises:
        ValueError: two lessons share a number.
    """
    found = sorted(match["key"] for module in pkgutil.iter_modules(__path__)
                   if module.ispkg and (match := PACKAGE_NAME.fullmatch(module.name)))
    numbers = [key[:2] for key in found]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"Two lessons share a number: {found}. Each NN may name one lesson.")
    return tuple(found)


def package(key: str) -> ModuleType:
    """The package of the lesson with key ``key`` (``"04_model_saving_failures"``).

    Raises:
        KeyError: no lesson has that key; the message lists those there are.
    """
    if key not in keys():
        raise KeyError(f"Unknown lesson key={key!r}. Expected one of {list(keys())}.")
    return importlib.import_module(f"{__name__}.lesson{key}")


def exercise_modules() -> dict[str, ModuleType]:
    """``{key: the lesson's exercises module}`` for every lesson that has one, in lesson order."""
    modules = {}
    for key in keys():
        if importlib.util.find_spec(f"{__name__}.lesson{key}.exercises") is not None:
            modules[key] = importlib.import_module(f"{__name__}.lesson{key}.exercises")
    return modules
