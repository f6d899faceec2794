"""Reading a training history from wherever it lives: a Keras ``History``, a dict, or a file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd


class HistoryError(ValueError):
    """A training history that cannot be read or does not have the expected form."""


def _from_file(path: Path) -> dict:
    if path.is_dir():
        raise HistoryError(f"{str(path)!r} is a directory; expected a CSVLogger .csv file or a .json file.")
    if not path.exists():
        raise HistoryError(f"No such file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise HistoryError(f"{str(path)!r} is not a readable CSV file: {exc}") from None
        frame = frame.drop(columns=[c for c in ("epoch",) if c in frame.columns])
        return {str(k): frame[k].tolist() for k in frame.columns}
    if suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HistoryError(f"{str(path)!r} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise HistoryError(f"{str(path)!r} holds a JSON {type(data).__name__}; expected an object "
                               f"of per-epoch lists such as {{\"loss\": [...], \"val_loss\": [...]}}.")
        return data
    raise HistoryError(f"Cannot read {str(path)!r}: expected a .csv file (Keras CSVLogger) or a .json "
                       f"file (a dict of per-epoch lists). Received suffix {suffix or '(none)'!r}.")


def _as_number(key: str, epoch: int, value) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (Real, np.number, str)):
        raise HistoryError(f"{key!r} holds a non-numeric value at epoch {epoch + 1}: {value!r}")
    try:
        return float(value)
    except ValueError:
        raise HistoryError(f"{key!r} holds a non-numeric value at epoch {epoch + 1}: {value!r}") from None


def load_history(source, require_loss: bool = True) -> dict[str, np.ndarray]:
    """Turn a training history into ``{key: float array of shape (n_epochs,)}``.

    Args:
        source: a Keras ``History`` (its ``.history``), a mapping of per-epoch lists, or the
            path of a Keras ``CSVLogger`` file (``.csv``; its ``epoch`` column is dropped) or of a
            JSON object of per-epoch lists (``.json``). ``NaN``, ``inf`` and empty cells are kept
            as non-finite numbers (they are evidence, not errors).
        require_loss: refuse a history without a ``loss`` key (the doctor reads the loss; a
            plot of accuracies, :class:`lstm_lessons.live.LiveView`'s ``runs``, does not).

    Returns:
        The history; every array has the same length, ``n_epochs >= 1``, and ``loss`` is present
        when ``require_loss``.

    Raises:
        HistoryError: the file is missing, a directory, unreadable or of another kind; the
            history is empty; a key has another length than the others; a value is not a
            number; or ``require_loss`` and there is no ``loss`` key (the message lists the keys
            found).
    """
    if hasattr(source, "history") and isinstance(source.history, Mapping):
        raw = source.history
    elif isinstance(source, Mapping):
        raw = source
    elif isinstance(source, (str, Path)):
        raw = _from_file(Path(source))
    else:
        raise HistoryError(f"Expected a Keras History, a dict of per-epoch lists or a file path. "
                           f"Received {type(source).__name__}.")
    if not raw:
        raise HistoryError("The history is empty: it has no keys.")
    history = {}
    for key, values in raw.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise HistoryError(f"{str(key)!r} must be a list of per-epoch values. Received {values!r}.")
        history[str(key)] = np.array([_as_number(str(key), i, v) for i, v in enumerate(values)], dtype=float)
    lengths = {key: len(values) for key, values in history.items()}
    if len(set(lengths.values())) > 1:
        raise HistoryError(f"Every key needs one value an epoch, but the lengths differ: {lengths}")
    if next(iter(lengths.values())) == 0:
        raise HistoryError(f"The history is empty: its keys {sorted(history)} hold no epochs.")
    if require_loss and "loss" not in history:
        raise HistoryError(f"The history has no 'loss' key, so it is not a Keras training history. "
                           f"Keys found: {sorted(history)}")
    return history
