"""The lessons, one package each, found by their folder's name.

A lesson's key is its notebook's name, ``NN_slug`` (``"04_model_saving_failures"``), and its
package is ``lesson`` + the key (``lstm_lessons/lessons/lesson04_model_saving_failures/``), so
``git ls-files | grep 04_model_saving_failures`` lists every piece of it. A package here whose
name has that shape is a lesson; nothing else needs to list it. Its ``exercises`` module, when
it has one, holds a tuple ``EXERCISES`` of :class:`lstm_lessons.grading.exercise.Exercise`; its
``__init__.py`` may hold ``PARAMETERS``, the rules of its notebook's own parameters
(:func:`parameter_rules`). ``CONTRIBUTING.md`` says how to add one.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path
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


def parameter_rules(shared: dict) -> dict:
    """``{parameter name: ll.params.Rule}`` of every lesson's own parameters, the ``PARAMETERS`` of
    its folder's ``__init__.py``.

    Raises:
        ValueError: a lesson gives a rule to a name of ``shared`` (the toolkit's
            ``ll.params.RULES``) or to a name another lesson gave one.
    """
    found, owner = {}, {}
    for key in keys():
        package = importlib.import_module(f"{__name__}.lesson{key}")
        for name, rule in getattr(package, "PARAMETERS", {}).items():
            if name in shared:
                raise ValueError(f"Lesson {key!r} has a rule for parameter {name!r}, which ll.params.RULES "
                                 f"already has. Use the shared rule or another name.")
            if name in found:
                raise ValueError(f"Lessons {owner[name]!r} and {key!r} both have a rule for parameter "
                                 f"{name!r}. Each lesson parameter needs a name of its own.")
            found[name], owner[name] = rule, key
    return found


def exercise_modules() -> dict[str, ModuleType]:
    """``{key: the lesson's exercises module}`` for every lesson that has one, in lesson order."""
    modules = {}
    for key in keys():
        if importlib.util.find_spec(f"{__name__}.lesson{key}.exercises") is not None:
            modules[key] = importlib.import_module(f"{__name__}.lesson{key}.exercises")
    return modules


def modules() -> dict[str, str]:
    """``{module name: lesson key}`` for each lesson's own modules, those beside its
    ``exercises`` (``"padding"`` in ``lesson07_padding_and_masking/``). Each is reachable as
    ``ll.<module name>`` (``ll.padding``), found here rather than listed.

    Raises:
        ValueError: two lessons have a module of the same name, or one has a toolkit module's
            name (``data``...), which ``ll.<name>`` would not reach.
    """
    toolkit = {m.name for m in pkgutil.iter_modules([str(Path(__path__[0]).parent)])}
    found: dict[str, str] = {}
    for key in keys():
        folder = [str(Path(__path__[0]) / f"lesson{key}")]
        for module in pkgutil.iter_modules(folder):
            if module.name == "exercises":
                continue
            if module.name in toolkit:
                raise ValueError(f"Lesson {key!r} has a module {module.name!r}, the name of a toolkit "
                                 f"module (lstm_lessons/{module.name}). Give it a name of its own.")
            if module.name in found:
                raise ValueError(f"Lessons {found[module.name]!r} and {key!r} both have a module "
                                 f"{module.name!r}. Each lesson module needs a name of its own.")
            found[module.name] = key
    return found


def module(name: str) -> ModuleType:
    """The lesson module ``name`` (``"padding"``), imported.

    Raises:
        KeyError: no lesson has a module of that name; the message lists those there are.
    """
    owners = modules()
    if name not in owners:
        raise KeyError(f"No lesson has a module name={name!r}. Expected one of {sorted(owners)}.")
    return importlib.import_module(f"{__name__}.lesson{owners[name]}.{name}")
