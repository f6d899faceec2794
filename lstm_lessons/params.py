"""Validating a lesson's parameters before anything trains.

Each lesson's first code cell (tagged ``parameters`` for papermill) assigns plain values; the
next cell passes them to :func:`validate_parameters`. A bad value stops the run at once with
one message that names every offending parameter, the value received and what is allowed,
instead of a TensorFlow traceback minutes later. ``lstm-lessons run`` applies the same
rules to ``-p`` values before it starts a kernel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real


class ParameterError(ValueError):
    """One or more lesson parameters are outside their allowed range."""


SHOWN_CHARACTERS = 80
"""The most characters of a received value a message repeats (a hand-in's answer can be a
string of megabytes or an integer of thousands of digits)."""


def shown(value, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr(value)`` for a message: at most ``limit`` characters (cut ones end in ``...``), and
    a description instead where Python cannot write it (an integer beyond the 4300 digits
    ``int`` converts to text, a ``repr`` that raises)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - any value must be describable
        text = f"<{type(value).__name__} that cannot be shown>"
    return cut(text, limit)


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters with the last three replaced by ``...``."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass(frozen=True)
class Rule:
    """The allowed values of one parameter: a type (``int`` or ``float``) and bounds (``high`` may
    be ``math.inf``: no upper bound). ``bool`` is never allowed, NaN and infinities never for
    ``float``; NumPy's integer and float scalars count as ``int`` and ``float``."""

    kind: type
    low: float
    high: float = math.inf
    low_inclusive: bool = True
    meaning: str = ""
    high_inclusive: bool = True

    def _number(self, bound: float) -> str:
        return str(int(bound)) if self.kind is int else f"{bound:g}"

    def describe(self) -> str:
        kind = "an integer" if self.kind is int else "a number"
        left = "<=" if self.low_inclusive else "<"
        if math.isinf(self.high):
            return f"{kind} with value {'>=' if self.low_inclusive else '>'} {self._number(self.low)}"
        right = "<=" if self.high_inclusive else "<"
        return f"{kind} with {self._number(self.low)} {left} value {right} {self._number(self.high)}"

    def check(self, name: str, value) -> str | None:
        """Return a message if ``value`` breaks the rule, else ``None``."""
        if isinstance(value, bool):
            ok_type = False
        elif self.kind is int:
            ok_type = isinstance(value, Integral)
        else:
            try:
                ok_type = isinstance(value, Real) and math.isfinite(float(value))
            except (OverflowError, ValueError):   # an integer too large for a float
                ok_type = False
        if ok_type:
            above = value >= self.low if self.low_inclusive else value > self.low
            below = value <= self.high if self.high_inclusive else value < self.high
            if above and below:
                return None
        return _not_allowed(name, value, self.meaning, self.describe())


@dataclass(frozen=True)
class Choice:
    """The allowed values of an answer that is one of a few options (``"ffill"``, ``True``...)."""

    options: tuple
    meaning: str = ""

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def check(self, name: str, value) -> str | None:
        """Return a message if ``value`` is not one of the options (compared by type and value)."""
        if any(type(value) is type(o) and value == o for o in self.options):
            return None
        return _not_allowed(name, value, self.meaning, self.describe())


def _not_allowed(name: str, value, meaning: str, allowed: str) -> str:
    what = f"{name} ({meaning})" if meaning else name
    return f"{name}={shown(value)} is not allowed: {what} must be {allowed}."


def require(name: str, value, rule: Rule | Choice):
    """Return ``value`` if it keeps ``rule`` (as ``int`` or ``float`` for a :class:`Rule`, NumPy
    scalars included; unchanged for a :class:`Choice`), else raise.

    Raises:
        ValueError: with ``rule``'s message, naming ``name``, the value received and what is
            allowed, e.g. ``"knots=0 is not allowed: knots must be an integer with value >= 1."``
    """
    if (message := rule.check(name, value)) is not None:
        raise ValueError(message)
    return rule.kind(value) if isinstance(rule, Rule) else value


def check_fields(instance, rules: Mapping[str, Rule | Choice], optional: Iterable[str] = ()):
    """Return ``instance`` if each of its fields named in ``rules`` keeps its rule; a field of
    ``optional`` may also be ``None``.

    Raises:
        ValueError: ``"<Class> not allowed:"`` and one line for every field out of range, naming
            its value and what is allowed (:meth:`Rule.check`).
    """
    optional = set(optional)
    problems = [message for name, rule in rules.items()
                if (value := getattr(instance, name)) is not None or name not in optional
                if (message := rule.check(name, value)) is not None]
    if problems:
        raise ValueError(f"{type(instance).__name__} not allowed:\n  " + "\n  ".join(problems))
    return instance


RULES: dict[str, Rule] = {
    "learning_rate": Rule(float, 0.0, 1.0, low_inclusive=False,
                          meaning="the optimizer's step size"),
    "epochs": Rule(int, 1, 1000, meaning="passes over the training windows"),
    "seed": Rule(int, 0, 2**32 - 1, meaning="the random seed"),
    "lookback": Rule(int, 1, 10_000, meaning="steps in each input window"),
    "horizon": Rule(int, 1, 1000, meaning="future steps predicted"),
    "units": Rule(int, 1, 1024, meaning="size of the LSTM's hidden state"),
    "batch_size": Rule(int, 1, 65_536, meaning="windows per mini-batch"),
}
"""The rules of the parameter names the lessons share; a lesson's own are in its folder
(``PARAMETERS``, see :func:`rules`)."""


def rules() -> dict[str, Rule]:
    """:data:`RULES` and every lesson's own parameter rules
    (:func:`lstm_lessons.lessons.parameter_rules`)."""
    from lstm_lessons import lessons

    return {**RULES, **lessons.parameter_rules(RULES)}


def check_values(values: dict) -> list[str]:
    """Messages for every value of ``values`` that breaks its rule (:func:`rules`; names without a
    rule pass)."""
    known = rules()
    return [msg for name, value in values.items()
            if name in known and (msg := known[name].check(name, value)) is not None]


def validate_parameters(*, n_train_steps: int | None = None, **values) -> dict:
    """Check a lesson's parameters; return them unchanged if every one is allowed.

    Args:
        n_train_steps: length of the training part of the series, if known; then
            ``lookback + horizon`` (``horizon`` defaults to 1) must fit inside it.
        **values: the parameters, e.g. ``learning_rate=0.05, epochs=30``. Names with a rule
            (:func:`rules`) are range-checked; other names are passed through.

    Returns:
        ``dict`` of the parameters.

    Raises:
        ParameterError: one message listing each bad parameter with the value received and
            the allowed range.
    """
    problems = check_values(values)
    lookback, horizon = values.get("lookback"), values.get("horizon", 1)
    sizes_valid = lookback is not None and not check_values({"lookback": lookback, "horizon": horizon})
    if n_train_steps is not None and sizes_valid and lookback + horizon > n_train_steps:
        problems.append(
            f"lookback={lookback!r} is not allowed: with horizon={horizon} the training series of "
            f"{n_train_steps} steps holds no complete window; lookback must be an integer with "
            f"1 <= value <= {n_train_steps - horizon}."
        )
    if problems:
        raise ParameterError("Invalid lesson parameter(s):\n  " + "\n  ".join(problems))
    return dict(values)
