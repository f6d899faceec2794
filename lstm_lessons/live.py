"""Watching training as it happens: a live view of the loss curves in a notebook.

A :class:`LiveView` is one figure in a notebook cell: the training (solid) and validation
(dashed) curves of one or more runs, redrawn while they train, with the training doctor's
findings marked at the epochs where they start. It is updated in place through a display
handle (IPython's ``display(..., display_id=True)`` and ``DisplayHandle.update``), so the
cell's other outputs stay and nothing flickers; ``clear_output`` would wipe them.

Two ways to feed it:

- your own ``fit``: ``model.fit(..., callbacks=[view.callback("my model")])``;
- a lesson's trainings (``ll.generalisation.train_many``, ``ll.leakage.train_many``...): inside
  ``with view:``. Runs trained here report to the view directly; runs trained in worker
  processes (``ll.workers``) append each epoch to a file that this process reads while it
  waits for them (:func:`run_watched`), so every run shows up in the same view, one line each.

Headless (papermill, nbval, the grader), the executed notebook keeps one image per view, the
last one, drawn from everything the view received: the same image an interactive run ends
with, whatever was drawn in between. Where no one watches, the environment variable
``LSTM_LESSONS_LIVE=final`` (:data:`LIVE_ENV`; ``lstm-lessons run``, the grader and the test
suite set it) skips the redraws during training and draws each view once, when its cell ends.
Outside a notebook (a script, a test) nothing is shown; :meth:`LiveView.png` and
:meth:`LiveView.figure` still draw it.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

DRAWING_SHARE = 0.03
"""The largest share of a training's wall time the view spends redrawing: after a redraw that
took ``c`` seconds, the next waits at least ``c / DRAWING_SHARE`` seconds (a redraw of one run's
curves takes about 0.1 s on the course's machines: one every 3 s or more; of eight runs' while
two worker processes train beside it, 0.2 to 0.3 s: one every 7 to 10 s). The issue that asked
for the view set its cost below 5 % of a lesson's time; ``benchmarks/live_overhead.py``
measures it (``benchmarks/results/live-overhead.md``)."""

MIN_INTERVAL = 0.5
"""Seconds between two redraws at least, however cheap the redraw."""

NAMED_AT_THE_LINE = 3
"""Up to this many runs, a finding's name is written along its line and the legend sits inside the
axes; with more, the legend sits under the axes, two columns, and holds the findings' names."""

CURVES_UP_TO = 8
"""Up to this many runs (the colours of ``ll.plots.PALETTE``), the view draws their curves; with
more, whose colours would repeat, a table of each run's progress and findings."""

LIVE_ENV = "LSTM_LESSONS_LIVE"
"""The environment variable that says how views redraw: ``live`` (the default) while training,
``final`` once, when the cell that trains ends (for runs no one watches)."""

MODES = ("live", "final")
"""The values :data:`LIVE_ENV` may take."""

POLL_SECONDS = 0.25
"""How often the notebook's process reads the progress of runs in worker processes."""

_ACTIVE: list[LiveView] = []
"""The views of the enclosing ``with view:`` blocks, innermost last."""

_DRAWN_BEFORE: list[bool] = []
"""Not empty once a view of this process has drawn (see :meth:`LiveView._draw`)."""

_SPENT = {"seconds": 0.0, "draws": 0}
"""What this process's views spent drawing for the notebook (:func:`drawing_seconds`)."""

_LABEL_BOX = {"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1}
"""The background of a finding's name written along its line, so a curve under it does not hide it."""

_RELAY: dict[str, str | None] = {"folder": None}
"""In a worker process: the folder its runs' progress goes to (set by :func:`relaying_to`)."""


def mode() -> str:
    """How views redraw in this process: the value of :data:`LIVE_ENV`, ``"live"`` when unset.

    Raises:
        ValueError: the variable holds something else than one of :data:`MODES`.
    """
    value = os.environ.get(LIVE_ENV, "live")
    if value not in MODES:
        raise ValueError(f"{LIVE_ENV} must be one of {MODES}. Received: {LIVE_ENV}={value!r}")
    return value


def drawing_seconds() -> tuple[float, int]:
    """Seconds this process's views spent drawing the images they sent to the notebook, and how
    many images (``benchmarks/live_overhead.py`` reads it in a lesson's kernel)."""
    return _SPENT["seconds"], int(_SPENT["draws"])


def _kernel_shell():
    """IPython's shell when this code runs in a Jupyter kernel, else ``None``."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def _history_of(label, history) -> dict[str, list[float]]:
    """A finished run's logs (read by :func:`lstm_lessons.doctor.load_history`, no ``loss`` key
    needed) as lists of floats; a ``ValueError`` names ``label``."""
    from lstm_lessons.doctor.history import HistoryError, load_history

    try:
        return {key: values.tolist() for key, values in load_history(history, require_loss=False).items()}
    except HistoryError as error:
        raise ValueError(f"runs[{label!r}]: {error}") from None


class LiveView:
    """One figure of training curves, redrawn while the runs train.

    Each run is drawn as :func:`lstm_lessons.plots.plot_histories` draws it (its colour for the
    session, training solid, validation dashed, log scale for a loss, spanning at least one
    decade so that a fall of a few per cent looks small), on an x axis from epoch 1 to the most
    epochs any run was asked for, so a run's progress shows as its line grows to the right.
    Each finding of the training doctor that starts at an epoch is marked there: a dotted line
    in the run's colour, and the symptom's name beside it (with more than
    :data:`NAMED_AT_THE_LINE` runs, in the run's entry of the legend, where names do not
    overlap). The findings are the doctor's on the run's whole logs, whichever curve is drawn:
    those of the ``doctor`` given to :meth:`callback` (its diagnosis so far, with the monitors it
    checks), or else ``ll.doctor.diagnose`` on the logs the view received (with a
    ``TrainingDoctor`` earlier in ``callbacks``, they hold its gradient norms too). With more
    than :data:`CURVES_UP_TO` runs the view is a table instead, one row a run: its epochs so far,
    its last values and its findings.

    In a notebook the view takes its place in the output of the cell that trains when the first
    run begins, and is drawn there: while training (``LSTM_LESSONS_LIVE=live``, the default)
    at most every :data:`MIN_INTERVAL` seconds and with at most :data:`DRAWING_SHARE` of the
    time spent drawing, and at the end of a ``with`` block; and always when the cell ends,
    whatever stopped it (an error, an interrupt), so the last image shows everything the view
    received. With ``final`` it is drawn only then, once a cell. Used again in a later
    cell, it takes a place in that cell's output.

    Args:
        title: the figure's title.
        metric: the logged key to draw (``"loss"``, ``"accuracy"``...); ``"val_" + metric``
            dashed when logged.
        log: a log-scale y axis.
        ylabel: the y axis's label, with its unit (default: ``metric``).
        validation_only: draw only ``"val_" + metric`` (see ``plot_histories``).
        runs: finished runs to draw beside the new ones, ``{label: history}`` (a Keras
            ``History`` or a dict of per-epoch lists), e.g. the failing run a fix is compared with.
        levels: horizontal lines to draw, ``{label: value}`` in the units of the y axis (e.g. the
            accuracy of always answering the majority class), dotted and black.
        show: display the view in the notebook; ``False``: only record (draw it with
            :meth:`png` or :meth:`figure`). Outside a Jupyter kernel nothing is displayed either way.

    Attributes:
        draws: how many images were sent to the notebook.

    Raises:
        ValueError: ``metric`` is not a non-empty string, ``runs`` is not a mapping of
            histories with per-epoch lists of one length, a value of ``levels`` is not a number,
            or :data:`LIVE_ENV` holds something else than one of :data:`MODES`.

    Example::

        view = ll.live.LiveView("Adam at 0.1")
        model.fit(x, y, validation_data=(x_val, y_val), epochs=30, callbacks=[view.callback("Adam 0.1")])

        with ll.live.LiveView("Seven recipes"):
            runs = ll.generalisation.train_many(calls)
    """

    def __init__(self, title: str | None = None, *, metric: str = "loss", log: bool = True,
                 ylabel: str | None = None, validation_only: bool = False,
                 runs: Mapping[str, Any] | None = None, levels: Mapping[str, float] | None = None,
                 show: bool = True):
        mode()
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metric must be a logged key such as 'loss'. Received: metric={metric!r}")
        if runs is not None and not isinstance(runs, Mapping):
            raise ValueError(f"runs must be a dict {{label: history}}. Received: {type(runs).__name__}")
        self.title, self.metric, self.log, self.ylabel = title, metric, log, ylabel
        self.validation_only, self.show = validation_only, show
        self.levels: dict[str, float] = {}
        for label, value in (levels or {}).items():
            try:
                self.levels[str(label)] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"levels[{label!r}] must be a number in the y axis's units. "
                                 f"Received: {value!r}") from None
        self._histories: dict[str, dict[str, list[float]]] = {}
        self._planned: dict[str, int] = {}
        self._doctors: dict[str, Any] = {}
        self._diagnoses: dict[str, Any] = {}
        self._gaps: dict[str, set[str]] = {}
        for label, history in (runs or {}).items():
            self._histories[str(label)] = _history_of(label, history)
            self._planned[str(label)] = max((len(v) for v in self._histories[str(label)].values()), default=0)
        self.draws = 0
        self._layout: tuple = ((), {})
        self._handle = None
        self._cell: int | None = None
        self._changed = False
        self._quick = False      # the image shown was drawn with reused margins
        self._broken = False
        self._last_draw: float | None = None
        self._draw_cost = 0.0

    # -- what the view receives ------------------------------------------------------------
    def expect(self, labels) -> None:
        """Runs that will train: listed (and given their colours, ``ll.plots.run_color``) in
        this order, whichever of them starts first. ``ll.experiments.train_many`` calls it, so a
        view of runs in worker processes ends with the same image every time."""
        from lstm_lessons.plots import run_color

        for label in labels:
            self._histories.setdefault(str(label), {})
            self._planned.setdefault(str(label), 0)
            run_color(str(label))

    def begin(self, label: str, epochs: int) -> None:
        """A run called ``label`` starts (again, if the label was seen: its curves start over)
        and will train ``epochs`` epochs at most."""
        label = str(label)
        self._histories[label] = {}
        self._planned[label] = int(epochs)
        self._diagnoses.pop(label, None)
        self._gaps.pop(label, None)
        self._changed = True
        self._attach()

    def epoch(self, label: str, logs: Mapping[str, Any]) -> None:
        """The logs of the epoch run ``label`` just finished; redraws if it is time. A key
        missing from some epochs (``fit(validation_freq=2)``) is NaN there, a gap in its curve,
        and left out of what the doctor reads."""
        label = str(label)
        history = self._histories.setdefault(label, {})
        n_before = max((len(v) for v in history.values()), default=0)
        for key, value in logs.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            history.setdefault(str(key), [math.nan] * n_before).append(number)
        for key, values in history.items():
            if len(values) == n_before:
                values.append(math.nan)
                self._gaps.setdefault(label, set()).add(key)
        self._planned[label] = max(self._planned.get(label, 0), n_before + 1)
        self._changed = True
        if self._attach() is not None and mode() == "live":
            self._throttled_draw()

    def end(self, label: str) -> None:
        """Run ``label`` finished (or stopped early): redrawn if it is time (the end of the
        ``with`` block and of the cell always redraw); the doctor given to :meth:`callback` for
        it has its diagnosis kept."""
        label = str(label)
        doctor = self._doctors.pop(label, None)
        if doctor is not None:
            self._diagnoses[label] = getattr(doctor, "diagnosis", None)
        if self._attach() is not None and mode() == "live" and self._changed:
            self._throttled_draw()

    def receive(self, event: Mapping[str, Any]) -> None:
        """One event of a run, as :func:`report` sends it: ``{"run", "kind", ...}``."""
        kind, label = event["kind"], event["run"]
        if kind == "begin":
            self.begin(label, event["epochs"])
        elif kind == "epoch":
            self.epoch(label, event["logs"])
        elif kind == "end":
            self.end(label)
        else:
            raise ValueError(f"Unknown event kind {kind!r}; expected 'begin', 'epoch' or 'end'")

    def callback(self, label: str, doctor=None):
        """A Keras callback that feeds this view with the run ``label`` of a ``fit``.

        Args:
            label: the run's name in the legend.
            doctor: a ``TrainingDoctor`` in the same ``callbacks``, whose findings (its
                diagnosis so far, with the monitors it checks; kept when the run ends) are
                marked; ``None``: the view diagnoses the logs it receives.
        """
        if doctor is not None:
            self._doctors[str(label)] = doctor
        return _callback_class()(self.receive, str(label))

    # -- what the view shows ---------------------------------------------------------------
    @property
    def histories(self) -> dict[str, dict[str, list[float]]]:
        """Each run's logs so far, ``{label: {key: per-epoch values}}`` (copies)."""
        return {label: {key: list(values) for key, values in history.items()}
                for label, history in self._histories.items()}

    @property
    def marks(self) -> list[tuple[str, int, str]]:
        """The doctor's findings that start at an epoch: ``(label, epoch, symptom name)``, runs
        in order, each run's in the order found."""
        from lstm_lessons.doctor import diagnose

        found = []
        for label, history in self._histories.items():
            if not history.get("loss"):
                continue
            if label in self._diagnoses:
                diagnosis = self._diagnoses[label]
            elif label in self._doctors:
                diagnosis = getattr(self._doctors[label], "diagnosis", None)
            else:   # a key logged in some epochs only (validation_freq) is not the doctor's to read
                gaps = self._gaps.get(label, set())
                diagnosis = diagnose({key: values for key, values in history.items() if key not in gaps})
            for symptom in getattr(diagnosis, "symptoms", []):
                if symptom.epoch is not None:
                    found.append((label, int(symptom.epoch), symptom.name))
        return found

    def figure(self, *, quick: bool = False):
        """The view as it stands, drawn on a new ``matplotlib.figure.Figure`` (not one of
        pyplot's, so a notebook does not show it a second time): the curves, or with more than
        :data:`CURVES_UP_TO` runs a table of each run's progress.

        Args:
            quick: reuse the margins of the last full layout when the runs and marks are the
                same (``tight_layout`` costs as much as drawing the figure); the redraws during
                training use it, the last image never does.
        """
        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from lstm_lessons.plots import run_color

        for label in self._histories:     # colours in the order of the runs, whichever drew first
            run_color(label)
        key = f"val_{self.metric}" if self.validation_only else self.metric
        drawn = {label: {name: np.where(np.isfinite(values), values, np.nan)   # gaps, not warnings
                         for name, values in history.items()}
                 for label, history in self._histories.items() if history.get(key)}
        at_epoch: dict[tuple[str, int], list[str]] = {}
        for label, epoch, name in self.marks:
            at_epoch.setdefault((label, epoch), []).append(name)
        notes: dict[str, list[str]] = {}
        for (label, epoch), names in at_epoch.items():
            notes.setdefault(label, []).append(f"{', '.join(names)} from epoch {epoch}")
        if len(self._histories) > CURVES_UP_TO:
            figure = Figure(figsize=(9, 0.7 + 0.22 * (len(drawn) + 1)))
            FigureCanvasAgg(figure)
            self._progress_table(figure.add_subplot(), drawn, notes)
        else:
            below = len(self._histories) > NAMED_AT_THE_LINE
            figure = Figure(figsize=(10, 4.4) if below else (7.5, 3.8))
            FigureCanvasAgg(figure)
            self._curves(figure.add_subplot(), drawn, at_epoch, notes, below)
        layout_key = (tuple(drawn), tuple(at_epoch))
        if quick and self._layout[0] == layout_key:
            figure.subplots_adjust(**self._layout[1])
        else:
            figure.tight_layout()
            parameters = figure.subplotpars
            self._layout = (layout_key, {side: getattr(parameters, side)
                                         for side in ("left", "right", "top", "bottom")})
        return figure

    def _curves(self, ax, drawn: dict, at_epoch: dict, notes: dict, below: bool) -> None:
        """The runs' curves and the doctor's marks; with ``below``, the legend under the axes,
        two columns, holding the findings' names."""
        import textwrap

        from matplotlib.ticker import MaxNLocator

        from lstm_lessons.plots import plot_histories, run_color

        for label, value in self.levels.items():
            ax.axhline(value, color="black", ls=":", lw=1.2, label=label)
        if drawn:
            in_legend = {label: "; ".join(found) for label, found in notes.items()} if below else None
            plot_histories(drawn, self.metric, ax=ax, log=self.log, title=self.title, ylabel=self.ylabel,
                           validation_only=self.validation_only, notes=in_legend)
            if below:
                handles, labels = ax.get_legend_handles_labels()
                ax.legend(handles, [textwrap.fill(text, 62, subsequent_indent="  ") for text in labels],
                          fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
                          frameon=False)
            if self.log:
                self._at_least_a_decade(ax, drawn)
            ax.set_ylabel(textwrap.fill(ax.get_ylabel(), 32))   # never taller than the axes
        else:
            ax.set_title(self.title or "")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            key = f"val_{self.metric}" if self.validation_only else self.metric
            received = sorted({name for history in self._histories.values() for name in history})
            ax.text(0.5, 0.5, f"no {key!r} in the logs received; they hold {', '.join(received)}" if received
                    else "waiting for the first epoch", ha="center", va="center", transform=ax.transAxes,
                    wrap=True)
        ax.set_xlim(0.5, max([*self._planned.values(), 1]) + 0.5)
        for (label, epoch), names in at_epoch.items():
            color = run_color(label)
            ax.axvline(epoch, color=color, ls=":", lw=1.2, gid=f"mark {label} {epoch}")
            if not below:
                ax.annotate(", ".join(names), (epoch, 1), xycoords=("data", "axes fraction"), xytext=(2, -4),
                            textcoords="offset points", rotation=90, ha="left", va="top", fontsize="x-small",
                            color=color, bbox=_LABEL_BOX)

    def _at_least_a_decade(self, ax, drawn: dict) -> None:
        """A log axis over less than a factor 10 widened to one decade around the data, so a
        fall of a few per cent does not fill the height of the figure."""
        import numpy as np

        keys = [f"val_{self.metric}"] if self.validation_only else [self.metric, f"val_{self.metric}"]
        values = np.concatenate([np.asarray(history[key], dtype=float).ravel() for history in drawn.values()
                                 for key in keys if key in history] + [np.asarray([*self.levels.values()])])
        values = values[np.isfinite(values) & (values > 0)]
        if values.size and values.max() < 10 * values.min():
            middle = float(np.sqrt(values.min() * values.max()))
            ax.set_ylim(middle / np.sqrt(10), middle * np.sqrt(10))

    def _progress_table(self, ax, drawn: dict, notes: dict) -> None:
        """One row a run: epochs done of those planned, the last training and validation value
        of the metric, the best validation value, and the doctor's findings."""
        import numpy as np

        def number(values) -> str:
            finite = np.asarray(values, dtype=float)
            return f"{finite[-1]:.3g}" if len(finite) and np.isfinite(finite[-1]) else "-"

        rows = []
        for label, history in drawn.items():
            validation = np.asarray(history.get(f"val_{self.metric}", []), dtype=float)
            best = f"{np.nanmin(validation):.3g}" if np.isfinite(validation).any() else "-"
            done = max(len(values) for values in history.values())
            rows.append([label, f"{done} / {self._planned.get(label, done)}",
                         "-" if self.validation_only else number(history.get(self.metric, [])),
                         number(validation), best, "; ".join(notes.get(label, [])) or "none"])
        ax.axis("off")
        header = ["run", "epoch", self.metric, f"val_{self.metric}", f"best val_{self.metric}",
                  "the doctor's findings"]
        if not rows:
            rows = [["waiting for the first epoch", "", "", "", "", ""]]
        widths = [max(len(str(row[k])) for row in [header, *rows]) + 2 for k in range(len(header))]
        table = ax.table(cellText=rows, colLabels=header, cellLoc="left", colLoc="left", bbox=[0, 0, 1, 1],
                         colWidths=[width / sum(widths) for width in widths])
        table.auto_set_font_size(False)
        table.set_fontsize(8)
        if self.title:
            ax.set_title(self.title)

    def png(self, *, quick: bool = False) -> bytes:
        """The view as it stands, as PNG bytes (the same bytes for the same runs, without a
        date or version in the file); ``quick`` as for :meth:`figure`."""
        buffer = io.BytesIO()
        self.figure(quick=quick).savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        return buffer.getvalue()

    # -- the notebook's output -------------------------------------------------------------
    def _alt(self) -> str:
        return f"<live view: {self.title or 'training'}>"

    def _attach(self):
        """In a Jupyter kernel and with ``show``: the view's place in the output of the cell that
        runs now (made on first use in each cell, before anything the training prints, so the
        image sits there whether it is drawn live or only at the end), with a hook that draws
        it when the cell ends. Returns the shell, or ``None`` where nothing is shown."""
        shell = _kernel_shell()
        if shell is None or not self.show or self._broken:
            return None
        if self._handle is None or self._cell != shell.execution_count:
            from IPython.display import display

            self._handle = display({"text/plain": self._alt()}, raw=True, display_id=True)
            self._cell, self._last_draw = shell.execution_count, None
            shell.events.register("post_run_cell", self._cell_ended)
        return shell

    def _cell_ended(self, result=None) -> None:
        """IPython's ``post_run_cell``: the last image of this cell, if anything changed since
        the last one (a run whose ``fit`` raised or was interrupted never ends) or the last one
        was drawn quickly (its margins reused), so the last image is the full one."""
        shell = _kernel_shell()
        if shell is not None:
            shell.events.unregister("post_run_cell", self._cell_ended)
        if (self._changed or self._quick) and self._handle is not None:
            self._draw(quick=False)

    def _throttled_draw(self) -> None:
        now = time.monotonic()
        wait = max(MIN_INTERVAL, self._draw_cost / DRAWING_SHARE)
        if self._last_draw is None or now - self._last_draw >= wait:
            self._draw(quick=True)

    def _draw(self, quick: bool) -> None:
        """Send the view's image to its place in the notebook. A failure to draw never stops the
        training: it is reported once, as a warning, and the view stops drawing."""
        if self._handle is None or self._broken:
            return
        start = time.monotonic()
        try:
            image = base64.b64encode(self.png(quick=quick)).decode("ascii")
        except Exception as error:  # noqa: BLE001 - a figure must not stop a training
            import warnings

            self._broken = True
            warnings.warn(f"The live view {self.title or ''!r} stopped drawing: {error!r}", RuntimeWarning,
                          stacklevel=2)
            return
        self._handle.update({"image/png": image, "text/plain": self._alt()}, raw=True)
        self.draws += 1
        self._changed, self._quick = False, quick
        self._last_draw = time.monotonic()
        _SPENT["seconds"] += self._last_draw - start
        _SPENT["draws"] += 1
        # A session's first figure also loads matplotlib's fonts (about half a second): not a
        # redraw's cost, which the next one measures.
        self._draw_cost = self._last_draw - start if _DRAWN_BEFORE else 0.0
        if not _DRAWN_BEFORE:
            _DRAWN_BEFORE.append(True)

    # -- with view: ... ----------------------------------------------------------------------
    def __enter__(self) -> LiveView:
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc) -> None:
        for position in range(len(_ACTIVE) - 1, -1, -1):
            if _ACTIVE[position] is self:
                del _ACTIVE[position]
                break
        if (self._changed or self._quick) and mode() == "live":
            self._draw(quick=False)


def active() -> LiveView | None:
    """The view of the innermost ``with view:`` block in this process, or ``None``."""
    return _ACTIVE[-1] if _ACTIVE else None


def report(label: str, kind: str, **data) -> None:
    """Send one event of run ``label`` to whoever watches: the active view of this process
    (:func:`active`), else the folder of :func:`relaying_to` (in a worker process), else no one.

    Args:
        kind: ``"begin"`` (with ``epochs``), ``"epoch"`` (with ``logs``) or ``"end"``.
    """
    _route({"run": str(label), "kind": kind, **data})


def _route(event: dict) -> None:
    view = active()
    if view is not None:
        view.receive(event)
    elif _RELAY["folder"] is not None:
        folder = Path(_RELAY["folder"])
        if not folder.is_dir():   # the notebook stopped waiting (interrupted): stop this run too
            raise RuntimeError(f"No one watches this training any more: {folder} is gone (the cell that "
                               f"started it was interrupted or failed)")
        with open(folder / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as file:
            file.write(json.dumps(event) + "\n")


def listening() -> bool:
    """Whether :func:`report` reaches anyone (so a trainer may leave its reporter out)."""
    return active() is not None or _RELAY["folder"] is not None


def reporter(label: str) -> list:
    """The callbacks a package ``train`` function adds to its ``fit`` so that its run shows in
    the live view: one that :func:`report` s each epoch under ``label`` when anyone is
    listening, none otherwise."""
    return [_callback_class()(_route, str(label))] if listening() else []


class relaying_to:  # noqa: N801 - used like a function: with relaying_to(folder):
    """In a worker process: while inside, :func:`report` appends events to files in ``folder``
    (``None``: to no one)."""

    def __init__(self, folder: str | None):
        self.folder = folder

    def __enter__(self):
        self._before, _RELAY["folder"] = _RELAY["folder"], self.folder

    def __exit__(self, *exc):
        _RELAY["folder"] = self._before


class _Reader:
    """Reads the complete event lines the workers appended to a folder's files since last time."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.offsets: dict[Path, int] = {}

    def events(self) -> list[dict]:
        found = []
        for path in sorted(self.folder.glob("*.jsonl")):
            with open(path, "rb") as file:
                file.seek(self.offsets.get(path, 0))
                chunk = file.read()
            complete = chunk[:chunk.rfind(b"\n") + 1]
            self.offsets[path] = self.offsets.get(path, 0) + len(complete)
            found += [json.loads(line) for line in complete.decode("utf-8").splitlines() if line]
        return found


def run_watched(work: Callable[[str | None], Any]) -> Any:
    """``work(folder)``, with the progress its worker processes report shown in the active view.

    Without an active view this is ``work(None)``. With one, ``work`` runs in a background
    thread and gets a fresh temporary folder to relay to (its workers run their trainings
    inside :class:`relaying_to` that folder); this thread reads the events every
    :data:`POLL_SECONDS` and hands them to the view, so the notebook's output is updated from
    the thread that runs the cell. ``work``'s exception, if any, is raised here.

    Interrupted while it waits (Kernel > Interrupt, Ctrl-C), or when the view fails, it removes
    the folder and raises at once. Each worker's run then stops at its next epoch with a
    ``RuntimeError`` (its report finds no folder), which nobody raises again, and joblib starts
    none of the runs still waiting. The worker processes themselves stay for the next call.
    """
    view = active()
    if view is None:
        return work(None)
    outcome: dict[str, Any] = {}

    def target():
        try:
            outcome["value"] = work(folder)
        except BaseException as error:  # noqa: BLE001 - raised again in the calling thread
            outcome["error"] = error

    # A worker may append to its file while the folder is removed after an interrupt: the
    # removal then leaves what it cannot remove, and the interrupt is what is raised.
    with tempfile.TemporaryDirectory(prefix="lstm-lessons-live-", ignore_cleanup_errors=True) as folder:
        reader = _Reader(folder)
        thread = threading.Thread(target=target, name="lstm-lessons training", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(POLL_SECONDS)
            for event in reader.events():
                view.receive(event)
        for event in reader.events():
            view.receive(event)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_CALLBACK: list[type] = []


def _callback_class() -> type:
    """The Keras callback that turns a ``fit`` into events (made on first use: importing this
    module does not import TensorFlow)."""
    if _CALLBACK:
        return _CALLBACK[0]
    from lstm_lessons._tf import keras

    class LiveReport(keras.callbacks.Callback):
        """Sends ``begin``, ``epoch`` (the epoch's logs) and ``end`` events of one run."""

        def __init__(self, send, label: str):
            super().__init__()
            self.send, self.label = send, label

        def on_train_begin(self, logs=None):
            self.send({"run": self.label, "kind": "begin", "epochs": int(self.params.get("epochs") or 0)})

        def on_epoch_end(self, epoch, logs=None):
            numbers = {key: _number(value) for key, value in (logs or {}).items()}
            self.send({"run": self.label, "kind": "epoch", "logs": numbers})

        def on_train_end(self, logs=None):
            self.send({"run": self.label, "kind": "end"})

    _CALLBACK.append(LiveReport)
    return LiveReport


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


__all__ = ["DRAWING_SHARE", "LIVE_ENV", "MIN_INTERVAL", "POLL_SECONDS", "LiveView", "active", "listening",
           "relaying_to", "report", "reporter", "run_watched"]
