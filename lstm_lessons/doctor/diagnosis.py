"""``diagnose``: run every rule over a history and collect the symptoms found."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from lstm_lessons.doctor.history import load_history
from lstm_lessons.doctor.rules import RULES

LESSONS = {
    "non_finite_loss": "02_stagnant_loss",
    "stagnant_loss": "02_stagnant_loss",
    "oscillating_loss": "01_learning_rate_oscillation",
    "unstable_training": "01_learning_rate_oscillation",
    "overfitting": "05_generalisation_gap",
    "exploding_gradients": "08_vanishing_exploding_gradients",
    "vanishing_gradients": "08_vanishing_exploding_gradients",
    "constant_predictions": "02_stagnant_loss",
    "suspected_leakage": "06_leakage",
    "missing_monitor_key": "04_model_saving_failures",
    "subset_disparity": "03_biased_validation_subsets",
}
"""The lesson that explains each symptom."""

OPTIONS = ("monitors", "subsets")


@dataclass(frozen=True)
class Symptom:
    """One finding: its ``name`` (see :data:`LESSONS`), the 1-based ``epoch`` where it starts
    (``None`` when it is not tied to an epoch), the ``evidence`` (the numbers that triggered
    it), a one-line ``explanation`` and the ``lesson`` to read."""

    name: str
    epoch: int | None
    evidence: dict
    explanation: str
    lesson: str

    def line(self) -> str:
        where = f" from epoch {self.epoch}" if self.epoch is not None else ""
        return f"- {self.name}{where}: {self.explanation} [read {self.lesson}]"


@dataclass(frozen=True)
class Diagnosis:
    """The symptoms of one training run; an empty list means healthy.

    Shows as readable text in a notebook (``print`` or the cell's last expression) and turns
    into JSON with :meth:`to_json`.
    """

    n_epochs: int
    keys: list[str]
    symptoms: list[Symptom] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.symptoms

    @property
    def names(self) -> list[str]:
        """The symptom names, in the order found."""
        return [s.name for s in self.symptoms]

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def to_dict(self) -> dict:
        return {"n_epochs": self.n_epochs, "keys": self.keys, "healthy": self.healthy,
                "symptoms": [asdict(s) for s in self.symptoms]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        head = f"Diagnosis of {self.n_epochs} epoch{'s' if self.n_epochs != 1 else ''}"
        if self.healthy:
            return f"{head}: no symptoms found."
        count = len(self.symptoms)
        return "\n".join([f"{head}: {count} symptom{'s' if count != 1 else ''}"]
                         + [s.line() for s in self.symptoms])

    def _repr_pretty_(self, printer, cycle):  # IPython / Jupyter
        printer.text(str(self))


def diagnose(history, **options) -> Diagnosis:
    """Name the symptoms of a training run, with evidence and the lesson that explains each.

    Args:
        history: a Keras ``History``, a dict of per-epoch lists (``loss``, ``val_loss``, any
            metrics, optional ``learning_rate``, ``grad_norm/<layer>``, ``update_ratio/<layer>``,
            ``prediction_spread``, ``majority_prediction_share``), or the path of a Keras
            ``CSVLogger`` file or a JSON file of such a dict. Any length from one epoch up;
            ``NaN`` and ``inf`` are allowed (they are evidence).
        **options: ``monitors``: keys that callbacks watch (reported as
            ``missing_monitor_key`` when absent); ``subsets``: a
            :class:`~lstm_lessons.subsets.SubsetReport` (reported as ``subset_disparity``).

    Returns:
        A :class:`Diagnosis`; each rule and its thresholds are documented in
        :mod:`lstm_lessons.doctor.rules`.

    Raises:
        ~lstm_lessons.doctor.history.HistoryError: the history cannot be read (see :func:`load_history`).
        TypeError: an option other than those above; the message lists the allowed ones.
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"Unknown option(s) {unknown} for diagnose(); allowed: {list(OPTIONS)}")
    if isinstance(options.get("monitors"), str):
        options["monitors"] = (options["monitors"],)
    data = load_history(history)
    findings = ((name, rule(data, options)) for name, rule in RULES.items())
    return Diagnosis(int(data["loss"].size), sorted(data),
                     [make_symptom(name, found) for name, found in findings if found is not None])


def make_symptom(name: str, finding: dict) -> Symptom:
    """A :class:`Symptom` from a rule's finding (``epoch``, ``evidence``, ``explanation``)."""
    return Symptom(name, finding["epoch"], finding["evidence"], finding["explanation"], LESSONS[name])
