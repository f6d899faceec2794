"""A lesson's claims: printed as verdict lines for readers, stored as data for the runner.

A claim is a named statement the lesson checks on its own run, such as
``symptom_reproduced`` or ``fix_verified``, made of one or more :class:`Check` s: a measured
value compared with its bound (:func:`below`, :func:`at_most`, :func:`at_least`,
:func:`above`) or a plain fact (:func:`is_true`), or several of these of which one must hold
(:func:`any_of`), or an effect measured against a control without its cause
(:func:`versus_control`). :func:`claim` shows the verdict line with its evidence (every check's value,
rounded to three significant digits, and its bound) and, in a notebook, attaches the claim with
every check's exact value, bound and margin to the output's *metadata* under the key
:data:`CLAIM_MIME`. nbval compares a checked cell's output data, never its metadata, and the
project's sanitizer file (:data:`SANITIZER`) masks the numbers of the printed evidence: nbval
compares the verdicts and the words, which are the same on every CPU, and not the last digits,
which are not. :func:`read_claims` and :func:`read_claim_records` collect the records from an
executed notebook, so ``lstm-lessons run`` and ``benchmarks/claims_margin.py`` never parse
printed text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

CLAIM_MIME = "application/vnd.lstm-lessons.claim+json"
"""The key of a claim's record in its output's metadata (and, in notebooks executed by earlier
versions of this package, in its output's data, where :func:`recorded` reads it too)."""

SANITIZER = "tests/nbval_sanitize.cfg"
"""The nbval sanitizer file (``--nbval-sanitize-with``, relative to the project's root) that
masks every number in the checked outputs with ``#``: :data:`NUMBER` is its pattern."""

NUMBER = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf)\b)"
"""A printed number as :func:`evidence` writes one (``0.0312``, ``-1.5e-06``, ``22``, ``nan``)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def verdict_line(name: str, holds: bool, statement: str) -> str:
    """The first line of a claim's printed form, e.g. ``[holds] fix_verified: the loss is smooth``."""
    return f"[{'holds' if holds else 'FAILS'}] {name}: {statement}"


def number(value) -> str:
    """A measured value as the evidence shows it: three significant digits (``0.0312``,
    ``22.3``, ``1.5e-06``), ``nan`` or ``inf`` for a value that is not finite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{value:.3g}"


_NEEDS = {"<": "below", "<=": "at most", ">=": "at least", ">": "above"}


def evidence(check: Check | AnyOf, marked: bool = True) -> list[str]:
    """The printed evidence of one check: ``quantity: value (needs below bound)``, or for a
    fact ``quantity: yes``/``no``, followed by what was observed in brackets when the fact
    carries it (``'best' file written every epoch: yes (10 of 10 epochs)``); an :class:`AnyOf`
    gives ``one of:`` and its checks below it, an :class:`AllOf` ``all of:`` and its checks.

    With ``marked``, a check that fails ends with two spaces and ``<- FAILS``. The checks inside an
    :class:`AnyOf` are never marked: which alternative carries a claim may change from one CPU
    to another while the claim holds on both, and the checked text must not.
    """
    if isinstance(check, AnyOf):
        return ["one of:"] + ["  " + line for c in check.checks for line in evidence(c, marked=False)]
    if isinstance(check, AllOf):
        return ["all of:"] + ["  " + line for c in check.checks for line in evidence(c, marked=marked)]
    if check.relation == "is":
        line = f"{check.quantity}: {'yes' if check.value else 'no'}"
        if check.shows:
            line += f" ({check.shows})"
    elif isinstance(check, Controlled):
        needs = f"{_NEEDS[check.relation]} {number(check.bound)}"
        line = (f"{check.quantity}: {number(check.with_cause)} vs {number(check.control)} "
                f"{check.control_name}, {check.measure} {number(check.value)} (needs {needs})")
    else:
        needs = f"{_NEEDS[check.relation]} {number(check.bound)}"
        line = f"{check.quantity}: {number(check.value)} (needs {needs})"
    return [line + ("  <- FAILS" if marked and not check.holds else "")]


_RELATIONS = {"<": lambda v, b: v < b, "<=": lambda v, b: v <= b,
              ">=": lambda v, b: v >= b, ">": lambda v, b: v > b}


@dataclass(frozen=True)
class Check:
    """One measured part of a claim: ``value relation bound``, or a plain fact.

    Raises:
        ValueError: ``relation`` is not one of those below.

    Attributes:
        quantity: what was measured, in words (``"oscillation index of the fixed run"``).
        value: the measurement (a number), or for a fact ``True``/``False``.
        relation: ``"<"``, ``"<="``, ``">="``, ``">"``, or ``"is"`` for a fact.
        bound: the threshold the value is compared with (``None`` for a fact).
        shows: for a fact, what was observed, in words with its numbers (``"10 of 10
            epochs"``, ``"largest difference 0"``); kept apart from ``quantity`` so that the
            same fact has the same name on every seed.
    """

    quantity: str
    value: float | bool
    relation: str
    bound: float | None = None
    shows: str | None = None

    def __post_init__(self):
        if self.relation not in (*_RELATIONS, "is"):
            raise ValueError(f"relation must be one of {[*_RELATIONS, 'is']}. "
                             f"Received: relation={self.relation!r}")

    @property
    def holds(self) -> bool:
        """Whether the check passes; a value that is not a finite number never passes."""
        if self.relation == "is":
            return bool(self.value)
        return _finite(self.value) and _finite(self.bound) and _RELATIONS[self.relation](
            float(self.value), float(self.bound))

    @property
    def margin(self) -> float | None:
        """How far the value is inside its bound, as a fraction of the bound's size.

        ``(bound - value) / |bound|`` for ``<`` and ``<=``, ``(value - bound) / |bound|`` for
        ``>=`` and ``>`` (the plain difference when the bound is 0): 0.5 means the value could
        move by half the bound before the check flips; negative when it fails. ``None`` for a
        fact or a value that is not a finite number.
        """
        if self.relation == "is" or not (_finite(self.value) and _finite(self.bound)):
            return None
        value, bound = float(self.value), float(self.bound)
        room = bound - value if self.relation in ("<", "<=") else value - bound
        return room / abs(bound) if bound else room

    def record(self) -> dict:
        """The check as JSON-ready data (a value that is not a finite number becomes ``None``)."""
        def number(x):
            return float(x) if _finite(x) else None
        value = bool(self.value) if self.relation == "is" else number(self.value)
        bound = None if self.relation == "is" else number(self.bound)
        record = {"quantity": self.quantity, "value": value, "relation": self.relation,
                  "bound": bound, "holds": self.holds, "margin": self.margin}
        if self.shows:
            record["shows"] = self.shows
        return record


_MEASURES = {"difference": lambda with_cause, control: with_cause - control,
             "ratio": lambda with_cause, control: with_cause / control if control else math.inf}


@dataclass(frozen=True)
class Controlled(Check):
    """A causal check: a quantity measured with the cause and in a control without it.

    "X causes Y" holds only when Y differs between a run with X and a control that lacks X
    and is otherwise equal (same data, same validation windows, same seed): the effect, the
    ``measure`` of the two values (their difference, or their ratio), is compared with the
    bound. A control that shows the same effect makes the check fail, however large the value
    with the cause. Made with :func:`versus_control`.

    Attributes:
        with_cause: the quantity measured with the cause.
        control: the same quantity measured in the control.
        control_name: how the evidence names the control (``"without the leak"``).
        measure: ``"difference"`` (``with_cause - control``) or ``"ratio"``
            (``with_cause / control``); :attr:`value` is the effect, so measured.
    """

    with_cause: float = math.nan
    control: float = math.nan
    control_name: str = "in the control"
    measure: str = "difference"

    def record(self) -> dict:
        """:meth:`Check.record`, with both measured values, the measure and the control's name."""
        def number(x):
            return float(x) if _finite(x) else None
        return {**super().record(), "with_cause": number(self.with_cause), "control": number(self.control),
                "measure": self.measure, "control_name": self.control_name}


def versus_control(quantity: str, with_cause, control, relation: str, bound, *,
                   measure: str = "difference", control_name: str = "in the control") -> Controlled:
    """Check an effect against its control: ``measure(with_cause, control) relation bound``.

    Shown as ``optimism: 1.23 vs 0.95 without the leak, difference 0.28 (needs at least 0.1)``.

    Args:
        quantity: what was measured, in words, the same in both runs (``"optimism"``).
        with_cause: its value in the run with the cause.
        control: its value in the control, the run without the cause and otherwise equal.
        relation: ``"<"``, ``"<="``, ``">="`` or ``">"``: which way the effect must go (an
            increase: ``">="`` with a positive bound; a decrease: ``"<="`` with a negative
            difference or a ratio below 1).
        bound: the smallest effect that counts (a difference in the quantity's units, or a
            ratio).
        measure: ``"difference"`` or ``"ratio"`` (a control of 0 gives an infinite ratio).
        control_name: the control, in words, as the evidence line shows it.

    Raises:
        ValueError: ``relation`` is ``"is"`` or unknown, or ``measure`` is unknown.
    """
    if measure not in _MEASURES:
        raise ValueError(f"measure must be one of {list(_MEASURES)}. Received: measure={measure!r}")
    if relation not in _RELATIONS:
        raise ValueError(f"relation must be one of {list(_RELATIONS)} (a control compares numbers). "
                         f"Received: relation={relation!r}")
    effect = (_MEASURES[measure](float(with_cause), float(control))
              if _finite(with_cause) and _finite(control) else math.nan)
    return Controlled(quantity, effect, relation, bound, with_cause=with_cause, control=control,
                      control_name=control_name, measure=measure)


def _finite(x) -> bool:
    try:
        return not isinstance(x, bool) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def below(quantity: str, value, bound) -> Check:
    """Check ``value < bound``."""
    return Check(quantity, value, "<", bound)


def at_most(quantity: str, value, bound) -> Check:
    """Check ``value <= bound``."""
    return Check(quantity, value, "<=", bound)


def at_least(quantity: str, value, bound) -> Check:
    """Check ``value >= bound``."""
    return Check(quantity, value, ">=", bound)


def above(quantity: str, value, bound) -> Check:
    """Check ``value > bound``."""
    return Check(quantity, value, ">", bound)


def is_true(quantity: str, fact, shows: str | None = None) -> Check:
    """Check a fact with no margin (a file exists, an error was raised, a name matches).

    ``shows`` is what was observed, in words with its numbers (``"written after 10 of 10
    epochs"``, ``"doctor found: stagnant_loss"``): the evidence prints it after ``yes``/``no``, so
    the line shows why the fact holds, and the record keeps it apart from the fact's name.
    """
    return Check(quantity, bool(fact), "is", shows=shows)


@dataclass(frozen=True)
class _Group:
    """Several checks decided together; :class:`AnyOf` and :class:`AllOf` say how."""

    checks: tuple
    _joiner = ""
    _relation = ""

    @property
    def quantity(self) -> str:
        return self._joiner.join(c.quantity for c in self.checks)

    def record(self) -> dict:
        """JSON-ready data: the group's relation, its margin, and every check's own record."""
        return {"quantity": self.quantity, "value": None, "relation": self._relation, "bound": None,
                "holds": self.holds, "margin": self.margin, "checks": [c.record() for c in self.checks]}


@dataclass(frozen=True)
class AnyOf(_Group):
    """A part of a claim that holds when at least one of its checks holds.

    For a failure with more than one face (a too-high learning rate shows in the training
    loss, the validation loss, or both): the claim names every face it accepts, and the
    record keeps each check, so nothing is hidden. Made with :func:`any_of`. Its record's
    relation is ``"any"``.

    Attributes:
        checks: two or more :class:`Check` s or :class:`AllOf` s.
    """

    checks: tuple[Check | AllOf, ...]
    _joiner = " or "
    _relation = "any"

    @property
    def holds(self) -> bool:
        return any(c.holds for c in self.checks)

    @property
    def margin(self) -> float | None:
        """The largest margin among the checks (the one that carries the claim), or ``None``."""
        margins = [c.margin for c in self.checks if c.margin is not None]
        return max(margins) if margins else None


def any_of(*checks: Check | AllOf) -> AnyOf:
    """Check that at least one of ``checks`` holds.

    Raises:
        TypeError: fewer than two checks, or something that is not a :class:`Check` or an
            :class:`AllOf`.
    """
    if len(checks) < 2 or not all(isinstance(c, (Check, AllOf)) for c in checks):
        raise TypeError(f"any_of needs two or more checks made with ll.claims.below, at_most, "
                        f"at_least, above, is_true or all_of. Received: {checks!r}")
    return AnyOf(tuple(checks))


@dataclass(frozen=True)
class AllOf(_Group):
    """One alternative of an :func:`any_of` made of several checks that must all hold.

    For a face of a failure that is shown against its control: the face is present in the run
    with the cause (``at_least(...)``) and absent in the control (``below(...)``). Made with
    :func:`all_of`. Its record's relation is ``"all"``.

    Attributes:
        checks: two or more :class:`Check` s.
    """

    checks: tuple[Check, ...]
    _joiner = " and "
    _relation = "all"

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.checks)

    @property
    def margin(self) -> float | None:
        """:func:`decision_margin` of the checks: the smallest when all hold, else negative."""
        return decision_margin(self.checks)


def all_of(*checks: Check) -> AllOf:
    """Check that every one of ``checks`` holds, as one alternative of :func:`any_of` (a claim's
    own checks must all hold already).

    Raises:
        TypeError: fewer than two checks, or something that is not a :class:`Check`.
    """
    if len(checks) < 2 or not all(isinstance(c, Check) for c in checks):
        raise TypeError(f"all_of needs two or more checks made with ll.claims.below, at_most, "
                        f"at_least, above or is_true. Received: {checks!r}")
    return AllOf(tuple(checks))


def decision_margin(checks) -> float | None:
    """How far a decision that needs every one of ``checks`` to hold is from flipping.

    The decision of a claim or of an exercise's check: it holds when every check holds. When
    it holds, the smallest margin among its checks (positive: the check closest to its bound
    decides when it flips). When it fails, minus the largest shortfall among the failing
    checks (negative: every failing check must cross its bound before it holds, the one
    furthest away last). Margins are shares of the bound (:attr:`Check.margin`).

    Returns ``None`` when no number decides it: only facts (:func:`is_true`) hold, or a failing
    fact makes it fail whatever the numbers do.
    """
    checks = list(checks)
    if all(c.holds for c in checks):
        margins = [c.margin for c in checks if c.margin is not None]
        return min(margins) if margins else None
    failing = [c for c in checks if not c.holds]
    if any(c.margin is None for c in failing):
        return None
    return -max(-c.margin for c in failing)


def claim(name: str, statement: str, *checks: Check | AnyOf) -> None:
    """Show a verdict line and record the claim, with its checks, in the executed notebook.

    The claim holds when every check holds.

    Shown as the verdict line, then one line of evidence a check (:func:`evidence`)::

        [holds] fix_verified: the loss no longer rebounds
          - rebound of the fixed run's training loss: 0.0312 (needs below 0.1)

    Args:
        name: identifier in snake_case, e.g. ``"symptom_reproduced"``.
        statement: what is claimed, in words; the evidence lines give the numbers. Its
            numbers are masked like the evidence's when nbval compares the line
            (:data:`SANITIZER`).
        *checks: at least one :class:`Check` (made with :func:`below`, :func:`at_most`,
            :func:`at_least`, :func:`above` or :func:`is_true`) or :class:`AnyOf` (made with
            :func:`any_of`).

    Returns ``None``, so a notebook cell that ends with this call shows only the verdict line and
    its evidence.

    Raises:
        ValueError: ``name`` is not snake_case.
        TypeError: no checks, or something that is not a :class:`Check`.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"A claim name must be snake_case, like 'fix_verified'. Received: name={name!r}")
    if not checks or not all(isinstance(c, (Check, AnyOf)) for c in checks):
        raise TypeError(f"claim {name!r} needs one or more checks made with ll.claims.below, "
                        f"at_most, at_least, above, is_true or any_of. Received: {checks!r}")
    holds = all(c.holds for c in checks)
    lines = [verdict_line(name, holds, statement)]
    lines += [f"  {'-' if i == 0 else ' '} {line}" for c in checks for i, line in enumerate(evidence(c))]
    show_record("\n".join(lines), CLAIM_MIME,
                {"name": name, "holds": holds, "checks": [c.record() for c in checks]}, in_metadata=True)


def show_record(line: str, mime: str, record: dict, in_metadata: bool = False) -> None:
    """Show ``line`` and, in a notebook, attach ``record`` to the cell's output under ``mime``.

    Outside IPython the line is printed and nothing is recorded. Used for claims here and
    for exercise results (:func:`lstm_lessons.grading.feedback`).

    Args:
        in_metadata: keep ``record`` in the output's metadata under the key ``mime`` (nbval
            does not compare it) instead of in its data as a MIME bundle (nbval compares it).
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel, a dependency
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        if in_metadata:
            display({"text/plain": line}, metadata={mime: record}, raw=True)
        else:
            display({"text/plain": line, mime: record}, raw=True)
    else:
        print(line)


def recorded(notebook, mime: str, metadata: bool = False):
    """Every record attached under ``mime`` in a notebook's code-cell outputs, in order.

    Args:
        notebook: an ``nbformat.NotebookNode`` (or the same structure as plain dicts).
        metadata: look in each output's metadata first (where :func:`claim` keeps a claim),
            then in its data; otherwise in its data only (where
            :func:`~lstm_lessons.grading.check` keeps an exercise's answer).

    Yields:
        the records that are dicts (anything else under ``mime`` is skipped).
    """
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(mime)
            if metadata and isinstance((output.get("metadata") or {}).get(mime), dict):
                record = output["metadata"][mime]
            if isinstance(record, dict):
                yield record


def read_claims(notebook) -> dict[str, bool]:
    """Collect the claims recorded in an executed notebook, in order of appearance.

    Args:
        notebook: an ``nbformat.NotebookNode`` (or the same structure as plain dicts).

    Returns:
        ``{name: holds}``; a claim recorded twice keeps its last value.
    """
    return {name: bool(r.get("holds")) for name, r in read_claim_records(notebook).items()}


def read_claim_records(notebook) -> dict[str, dict]:
    """Every claim's full record (``name``, ``holds``, ``checks``), by name, in order of appearance.

    Each check is a dict as :meth:`Check.record` makes it. A claim recorded twice keeps its
    last record; records written by earlier versions of this package may have no ``checks`` key.
    """
    return {str(r["name"]): r for r in recorded(notebook, CLAIM_MIME, metadata=True) if "name" in r}
