"""A lesson's claims: printed as verdict lines for readers, stored as data for the runner.

A claim is a named statement the lesson checks on its own run, such as
``symptom_reproduced`` or ``fix_verified``, made of one or more :class:`Check` s: a measured
value compared with its bound (:func:`below`, :func:`at_most`, :func:`at_least`,
:func:`above`) or a plain fact (:func:`is_true`), or several of these of which one must hold
(:func:`any_of`). :func:`claim` shows one verdict line and, in
a notebook, attaches the claim with every check's value, bound and margin to the cell's
output under the MIME type :data:`CLAIM_MIME` (JupyterLab shows the plain-text line; the
data travels with the executed notebook). :func:`read_claims` and :func:`read_claim_records`
collect them from an executed notebook, so ``lstm-lessons run`` and
``benchmarks/claims_margin.py`` never parse printed text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

CLAIM_MIME = "application/vnd.lstm-lessons.claim+json"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def verdict_line(name: str, holds: bool, statement: str) -> str:
    """The printed form of a claim, e.g. ``[holds] fix_verified: the loss is smooth``."""
    return f"[{'holds' if holds else 'FAILS'}] {name}: {statement}"


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
    """

    quantity: str
    value: float | bool
    relation: str
    bound: float | None = None

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
        return {"quantity": self.quantity, "value": value, "relation": self.relation,
                "bound": bound, "holds": self.holds, "margin": self.margin}


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


def is_true(quantity: str, fact) -> Check:
    """Check a fact with no margin (a file exists, an error was raised, a name matches)."""
    return Check(quantity, bool(fact), "is")


@dataclass(frozen=True)
class AnyOf:
    """A part of a claim that holds when at least one of its checks holds.

    For a failure with more than one face (a too-high learning rate shows in the training
    loss, the validation loss, or both): the claim names every face it accepts, and the
    record keeps each check, so nothing is hidden. Made with :func:`any_of`.

    Attributes:
        checks: two or more :class:`Check` s.
    """

    checks: tuple[Check, ...]

    @property
    def quantity(self) -> str:
        return " or ".join(c.quantity for c in self.checks)

    @property
    def holds(self) -> bool:
        return any(c.holds for c in self.checks)

    @property
    def margin(self) -> float | None:
        """The largest margin among the checks (the one that carries the claim), or ``None``."""
        margins = [c.margin for c in self.checks if c.margin is not None]
        return max(margins) if margins else None

    def record(self) -> dict:
        """JSON-ready data: relation ``"any"``, the best margin, and every check's own record."""
        return {"quantity": self.quantity, "value": None, "relation": "any", "bound": None,
                "holds": self.holds, "margin": self.margin, "checks": [c.record() for c in self.checks]}


def any_of(*checks: Check) -> AnyOf:
    """Check that at least one of ``checks`` holds.

    Raises:
        TypeError: fewer than two checks, or something that is not a :class:`Check`.
    """
    if len(checks) < 2 or not all(isinstance(c, Check) for c in checks):
        raise TypeError(f"any_of needs two or more checks made with ll.claims.below, at_most, "
                        f"at_least, above or is_true. Received: {checks!r}")
    return AnyOf(tuple(checks))


def claim(name: str, statement: str, *checks: Check | AnyOf) -> None:
    """Show a verdict line and record the claim, with its checks, in the executed notebook.

    The claim holds when every check holds.

    Args:
        name: identifier in snake_case, e.g. ``"symptom_reproduced"``.
        statement: what is claimed, with no raw measurements, so the line reads the same on
            every CPU (the verdict cells are compared by nbval).
        *checks: at least one :class:`Check` (made with :func:`below`, :func:`at_most`,
            :func:`at_least`, :func:`above` or :func:`is_true`) or :class:`AnyOf` (made with
            :func:`any_of`).

    Returns ``None``, so a notebook cell that ends with this call shows only the verdict line.

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
    show_record(verdict_line(name, holds, statement), CLAIM_MIME,
                {"name": name, "holds": holds, "checks": [c.record() for c in checks]})


def show_record(line: str, mime: str, record: dict) -> None:
    """Show ``line`` and, in a notebook, attach ``record`` to the cell's output under ``mime``.

    Outside IPython the line is printed and nothing is recorded. Used for claims here and
    for exercise results (:func:`lstm_lessons.grading.feedback`).
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel, a dependency
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display({"text/plain": line, mime: record}, raw=True)
    else:
        print(line)


def recorded(notebook, mime: str):
    """Every record attached under ``mime`` in a notebook's code-cell outputs, in order.

    Args:
        notebook: an ``nbformat.NotebookNode`` (or the same structure as plain dicts).

    Yields:
        the records that are dicts (anything else under ``mime`` is skipped).
    """
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(mime)
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
    last record; records from before checks existed have no ``checks`` key.
    """
    return {str(r["name"]): r for r in recorded(notebook, CLAIM_MIME) if "name" in r}
