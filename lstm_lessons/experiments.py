"""Training many runs of a lesson's experiment side by side, one way for every lesson.

A lesson module with an experiment (``ll.generalisation``, ``ll.leakage``, ``ll.padding``,
``ll.gradient_flow``) has a ``train(...)`` that trains one model and measures it, and a
``train_many(calls, jobs)`` built on :func:`train_many` here. A call is the keyword arguments of
one ``train``: ``[{"split": split, "seed": 1}, {"split": other, "seed": 1}]``. Every call is
checked against ``train``'s signature before anything trains, and the runs go to worker
processes (``ll.workers``), ``jobs`` at a time. Each run seeds itself, so its numbers are the
same whichever worker runs it and in whatever order. Inside ``with view:`` (a ``ll.live.LiveView``)
the runs' epochs show in the view as they train, here or in the workers (``ll.live.run_watched``);
a ``train`` adds ``ll.live.reporter(label)`` to its ``fit``'s callbacks for that.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lstm_lessons import live, params, workers


def _train_each(train: Callable, calls: list[dict], folder: str | None = None) -> list:
    """``train(**call)`` for each call of one group (in a worker process), their progress relayed
    to ``folder`` for the live view (``ll.live.relaying_to``) when one watches."""
    with live.relaying_to(folder):
        return [train(**call) for call in calls]


def checked_calls(train: Callable, calls: Sequence[Mapping[str, Any]]) -> list[dict]:
    """``calls`` as dicts, each checked against ``train``'s signature.

    Raises:
        ValueError: a call is not a mapping of argument names, or names an argument ``train``
            does not take, or lacks one it needs; the message gives the call's index.
    """
    signature = inspect.signature(train)
    checked = []
    for i, call in enumerate(calls):
        if not isinstance(call, Mapping):
            raise ValueError(f"calls[{i}] must be a dict of {train.__name__}'s arguments "
                             f"{list(signature.parameters)}. Received: {type(call).__name__}")
        try:
            signature.bind(**call)
        except TypeError as error:
            raise ValueError(f"calls[{i}] does not fit {train.__name__}{signature}: {error}. "
                             f"Received the arguments {sorted(call)}") from None
        checked.append(dict(call))
    return checked


def train_many(train: Callable, calls: Sequence[Mapping[str, Any]], jobs: int | None = None, *,
               group: Callable[[dict], Hashable] | None = None,
               label: Callable[[dict], str] | None = None) -> list:
    """``train(**call)`` for each of ``calls``, ``jobs`` at a time in worker processes.

    Args:
        train: a module-level function (the workers import it by name).
        calls: the keyword arguments of each run.
        jobs: worker processes (>= 1); ``None`` (default): ``ll.workers.default_jobs()``. With 1
            everything runs here, one after the other.
        group: runs with the same ``group(call)`` go to the same worker, largest group first
            (runs that share a compiled model are traced once per worker); with fewer groups
            than workers the largest is split in two, contiguous halves, until every worker has
            one. ``None``: round-robin (``ll.workers.map_calls``).
        label: the name ``train`` reports a call's run under (``ll.live.reporter``); inside
            ``with view:`` the view then lists the runs, and gives them their colours, in the
            order of ``calls``, not in the order the workers happen to start them, so its last
            image is the same every time.

    Returns:
        ``train``'s result for each call, in the order of ``calls``.

    Raises:
        ValueError: ``jobs`` is not ``None`` or an integer >= 1, a call does not fit
            ``train`` (:func:`checked_calls`), or inside ``with view:`` two calls have the same
            ``label`` (their curves would be one), before anything trains.
    """
    jobs = workers.check_jobs(jobs)
    calls = checked_calls(train, calls)
    view = live.active()
    if view is not None and label is not None:
        labels = [str(label(call)) for call in calls]
        repeated = {name: [i for i, other in enumerate(labels) if other == name] for name in labels
                    if labels.count(name) > 1}
        if repeated:
            raise ValueError(f"Runs shown in one live view need labels of their own; these calls share "
                             f"one: {repeated}. Give each call a label of its own.")
        view.expect(labels)
    if jobs == 1:   # here, one after the other: a live view gets each epoch directly
        return [train(**call) for call in calls]
    return live.run_watched(lambda folder: _share_out(train, calls, jobs, group, folder))


def _share_out(train: Callable, calls: list[dict], jobs: int, group, folder: str | None) -> list:
    """:func:`train_many`'s work with ``jobs`` > 1: the calls grouped and sent to the workers."""
    run_group = functools.partial(_train_each, train, folder=folder)
    if group is None:
        return workers.map_calls(run_group, calls, jobs)
    groups: dict[Hashable, list[int]] = {}
    for i, call in enumerate(calls):
        groups.setdefault(group(call), []).append(i)
    ordered = sorted(groups.values(), key=len, reverse=True)
    while len(ordered) < jobs and len(ordered[0]) > 1:
        largest = ordered.pop(0)
        half = (len(largest) + 1) // 2
        ordered = sorted([*ordered, largest[:half], largest[half:]], key=len, reverse=True)
    done = workers.run_groups(run_group, [[calls[i] for i in indices] for indices in ordered], jobs)
    results: list = [None] * len(calls)
    for indices, group_results in zip(ordered, done, strict=True):
        for i, result in zip(indices, group_results, strict=True):
            results[i] = result
    return results


@dataclass(frozen=True)
class Settings:
    """How every model of a lesson is built and trained, each value checked against
    ``ll.params.RULES`` when the settings are made. A lesson gives its own defaults
    (``ll.leakage.Settings(epochs=5)`` is these with lesson 06's).

    Attributes:
        units: size of the LSTM's hidden state.
        epochs: passes over the training data.
        learning_rate: Adam's constant step size.
        batch_size: examples in each mini-batch.

    Raises:
        ValueError: a value out of range, naming it and what is allowed (``ll.params.check_fields``).
    """

    units: int
    epochs: int
    learning_rate: float
    batch_size: int

    def __post_init__(self):
        params.check_fields(self, {name: params.RULES[name] for name in
                                   ("units", "epochs", "learning_rate", "batch_size")})
