"""What a callback cannot ask Keras: the arguments of the ``fit`` call it is running in."""

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
    """Whether the running ``model.fit`` received validation data; ``None`` if not in one."""
    arguments = running_fit_arguments(model)
    return None if arguments is None else arguments.get("validation_data") is not None


def sibling_callbacks(model) -> list:
    """The callbacks of the running ``model.fit`` (user callbacks and Keras's own)."""
    arguments = running_fit_arguments(model)
    callbacks = None if arguments is None else arguments.get("callbacks")
    return list(getattr(callbacks, "callbacks", callbacks) or [])
