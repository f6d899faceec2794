"""Where a number was measured: the CPU, its instruction sets, TensorFlow's threads and oneDNN.

TensorFlow's floating-point results on a CPU depend on the instruction set its kernels use
(AVX2, AVX-512, AMX), on oneDNN's choice of kernels (since TensorFlow 2.9 on by default on
x86-64 Linux CPUs with neural-network features such as AVX512_VNNI, AVX512_BF16 or AMX, and off
on others, such as an AVX2-only CPU, unless ``TF_ENABLE_ONEDNN_OPTS=1``; ``0`` switches it off;
when it is on, TensorFlow's start-up notice says
"you may see slightly different numerical results due to floating-point round-off errors from
different computation orders"), on the number of threads that split a reduction, and on the
library versions. :func:`describe` records all of them with a grade or a measurement, so that a
difference between two machines can be traced to its cause.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from lstm_lessons.cores import THREAD_VARIABLES, available_cores, tensorflow_cores

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
"""The environment variable that switches TensorFlow's oneDNN kernels on (``1``) or off (``0``);
read once, when TensorFlow is imported."""

NUMERIC_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw", "avx512vl",
                 "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
                 "asimd", "asimdhp", "asimddp", "fphp", "sve", "sve2", "bf16", "i8mm")
"""The CPU flags (as ``/proc/cpuinfo`` names them: ``flags`` on x86-64, ``Features`` on ARM64)
that decide which vector kernels oneDNN, XNNPACK and Eigen can use: the ones that can change a
float's last digits."""

DISTRIBUTIONS = ("tensorflow", "keras", "numpy")
"""The libraries whose versions a measurement depends on, besides Python."""


def cpu() -> dict:
    """The CPU: ``{"model": str, "flags": [str]}``, the flags those of :data:`NUMERIC_FLAGS` it has.

    Read from ``/proc/cpuinfo`` on Linux; elsewhere the model is :func:`platform.processor` and
    the flags are empty.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"model": platform.processor() or platform.machine(), "flags": []}
    return parse_cpuinfo(text)


def parse_cpuinfo(text: str) -> dict:
    """:func:`cpu` from the text of ``/proc/cpuinfo``: the first ``model name`` (else the
    architecture), and the :data:`NUMERIC_FLAGS` among the first ``flags`` (x86-64) or
    ``Features`` (ARM64) line."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return {"model": model or platform.machine(), "flags": [f for f in NUMERIC_FLAGS if f in flags]}


def onednn() -> str:
    """TensorFlow's oneDNN setting as this process's environment gives it: ``"on"``, ``"off"``,
    or ``"default"`` (unset: on for x86-64 Linux builds since TensorFlow 2.9)."""
    value = os.environ.get(ONEDNN_VARIABLE, "").strip().lower()
    if value in ("0", "false", "off"):
        return "off"
    if value in ("1", "true", "on"):
        return "on"
    return "default"


def threads() -> dict:
    """TensorFlow's thread pools in this process.

    ``{"intra_op": int, "inter_op": int | None, "cores": int}``.

    ``intra_op`` is what :func:`lstm_lessons.cores.tensorflow_cores` gives (the environment's
    ``TF_NUM_INTRAOP_THREADS``, else every core this process may use), unless TensorFlow is
    already imported and set to another number with ``tf.config.threading``, which wins.
    ``inter_op`` is ``TF_NUM_INTEROP_THREADS`` (``None`` where unset: TensorFlow chooses).
    """
    import sys

    intra = tensorflow_cores()
    try:
        inter = int(os.environ[THREAD_VARIABLES[1]])
    except (KeyError, ValueError):
        inter = None
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            intra = tf.config.threading.get_intra_op_parallelism_threads() or intra
            inter = tf.config.threading.get_inter_op_parallelism_threads() or inter
        except Exception:  # noqa: BLE001 - a half-imported TensorFlow: keep the environment's word
            pass
    return {"intra_op": intra, "inter_op": inter, "cores": available_cores()}


def versions() -> dict:
    """``{"python": ..., "tensorflow": ..., "keras": ..., "numpy": ...}`` (``None`` where not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for distribution in DISTRIBUTIONS:
        try:
            found[distribution] = version(distribution)
        except PackageNotFoundError:
            found[distribution] = None
    return found


def describe() -> dict:
    """Everything a measurement's last digits depend on, as JSON-ready data.

    Returns:
        A dict with the keys ``"host"``, ``"machine"``, ``"cpu"`` (itself with ``"model"`` and
        ``"flags"``), ``"onednn"``, ``"threads"`` and ``"versions"`` (see :func:`cpu`,
        :func:`onednn`, :func:`threads`, :func:`versions`).
    """
    return {"host": platform.node(), "machine": platform.machine(), "cpu": cpu(), "onednn": onednn(),
            "threads": threads(), "versions": versions()}


def kind(description: dict) -> dict:
    """What two machines must share to give the same numbers, as JSON data: the CPU model and
    flags, the oneDNN setting, the intra-op threads and the versions of :func:`describe`'s
    ``description`` (the host's name and the core count are left out):
    ``{"cpu": {"model", "flags"}, "onednn", "threads": {"intra_op"}, "versions"}``."""
    cpu_ = description.get("cpu") or {}
    return {"cpu": {"model": cpu_.get("model"), "flags": list(cpu_.get("flags", ()))},
            "onednn": description.get("onednn"),
            "threads": {"intra_op": (description.get("threads") or {}).get("intra_op")},
            "versions": dict(description.get("versions") or {})}
