"""Import TensorFlow and Keras without the C++ start-up noise.

TensorFlow prints lines such as ``cudart_stub.cc: Could not find cuda drivers`` and
``All log messages before absl::InitializeLog() is called ...`` from C++ while it loads,
before ``TF_CPP_MIN_LOG_LEVEL`` is read by absl, so setting the variable is not enough
(checked on TensorFlow 2.21). This module sets the variable for later messages and points
the process's standard error (file descriptor 2) at ``/dev/null`` only while the import runs.
Every module of the package that needs TensorFlow imports it from here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _silenced_stderr_fd():
    """Redirect file descriptor 2 to /dev/null for the duration of the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if "tensorflow" in sys.modules:
    import tensorflow as tf
else:
    with _silenced_stderr_fd():
        import tensorflow as tf

import keras  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
logging.getLogger("absl").setLevel(logging.ERROR)

__all__ = ["tf", "keras"]
