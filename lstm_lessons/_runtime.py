"""Everything that relies on another library's private internals, in one place.

Each trick has a plain fallback that gives the same numbers when the internal is gone, and
``tests/test_runtime.py`` fails when one disappears from the pinned versions
(``constraints.txt``), so a new Keras or joblib shows up as a failing test, not as a lesson that
runs slower or a check that silently stops checking:

- :func:`running_fit_arguments` reads Keras 3's ``fit`` locals from the call stack, to tell a
  callback whether ``fit`` has validation data and which other callbacks run (the doctor and
  ``ll.checkpoint``). Fallback: ``None``, "not known", and the callers then check nothing
  early; their checks at the end of each epoch still run.
- :func:`keep_loky_workers` raises loky's memory limit, a module constant with no public
  setting, so a worker that has traced a few models is not replaced. Fallback: loky's own
  limit; workers are replaced more often, which costs time, not numbers.
- :func:`compile_loss` is the loss object Keras 3's ``compile`` made (``_compile_loss``), so a
  gradient probe notices a model compiled again (``ll.gradients``). Fallback: the public
  ``model.loss``, what was passed to ``compile``; a probe then outlives a recompile with the
  same loss, which gives the same numbers.
- :func:`compile_arguments` are the metrics and losses as ``compile`` received them
  (``_compile_config``), and :func:`metric_direction` a metric object's own direction
  (``_direction``), so that ``ll.checkpoint`` knows the logged keys and which way a monitored
  metric improves before training. Fallback: ``None``: the keys are not known before training
  (the check at the end of the first epoch still runs) and the direction comes from the
  metric's name.
"""

from __future__ import annotations

import inspect


def running_fit_arguments(model) -> dict | None:
    """The local variables of the ``model.fit`` call that is running, or ``None`` outside one.

    Keras tells callbacks only ``epochs``, ``steps`` and ``verbose`` (``set_params``), not
    whether ``fit`` has validation data or which other callbacks run. Keras 3's ``fit`` keeps
    both as locals: ``validation_data`` (already filled in from ``validation_split``) and
    ``callbacks`` (a ``CallbackList``). This walks up the call stack to the ``fit`` frame
    whose ``self`` is ``model`` and returns a copy of its locals.
    """
    frame = inspect.currentframe()
    try:
        while frame is not None:
            if frame.f_code.co_name == "fit" and frame.f_locals.get("self") is model:
                return dict(frame.f_locals)
            frame = frame.f_back
        return None
    finally:
        del frame


def fit_has_validation(model) -> bool | None:
    """Whether the running ``model.fit`` received validation data; ``None`` if not in one, or
    if its locals no longer hold ``validation_data`` (another Keras): not known."""
    arguments = running_fit_arguments(model)
    if arguments is None or "validation_data" not in arguments:
        return None
    return arguments["validation_data"] is not None


def sibling_callbacks(model) -> list:
    """The callbacks of the running ``model.fit`` (user callbacks and Keras's own)."""
    arguments = running_fit_arguments(model)
    callbacks = None if arguments is None else arguments.get("callbacks")
    return list(getattr(callbacks, "callbacks", callbacks) or [])


def keep_loky_workers(up_to: int) -> bool:
    """Let a loky worker's memory grow by ``up_to`` bytes before loky replaces it (loky's own
    limit is 300 MB: ``_MAX_MEMORY_LEAK_SIZE`` in ``joblib/externals/loky/process_executor.py``).
    Returns whether the limit could be set; without it workers are replaced sooner, and each
    replacement imports TensorFlow again (seconds), with the same results."""
    from joblib.externals.loky import process_executor

    if not isinstance(getattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", None), int):
        return False
    process_executor._MAX_MEMORY_LEAK_SIZE = max(process_executor._MAX_MEMORY_LEAK_SIZE, up_to)
    return True


def compile_loss(model):
    """The loss ``model.compile`` made (Keras 3's private ``_compile_loss``; without it, the public
    ``model.loss``), or ``None`` when the model is not compiled with a loss."""
    if not getattr(model, "compiled", False):
        return None
    made = getattr(model, "_compile_loss", None)
    return made if made is not None else getattr(model, "loss", None)


def compile_arguments(model) -> dict | None:
    """``compile``'s arguments as it received them (``metrics`` and ``weighted_metrics`` as the
    strings, functions or metric objects passed), from Keras 3's private ``_compile_config``;
    ``None`` when the model is not compiled or the internal is gone: not known."""
    config = getattr(getattr(model, "_compile_config", None), "config", None)
    return dict(config) if isinstance(config, dict) else None


def metric_direction(metric) -> str | None:
    """``"up"`` or ``"down"``: the way a Keras metric object says it improves (its private
    ``_direction``, which ``AUC``, ``Precision``... set); ``None`` when it does not say."""
    direction = getattr(metric, "_direction", None)
    return direction if direction in ("up", "down") else None
