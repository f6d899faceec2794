"""Atomic file writes (a file is either its old self or wholly new, never half written), and
where the course's own files are.

A write goes to a temporary file in the target's own folder; only when it is complete and on
disk (``os.fsync``) is it renamed over the target with ``os.replace``, which POSIX and Windows
perform atomically within one file system (Python's documentation of ``os.replace``). If the
write fails or is interrupted, the temporary file is removed and the target keeps its old
contents. Used for checkpoints (lesson 04), the grader's reports, the runner's summaries and the
package repairs.

The lessons' notebooks and data sets travel inside the package, in ``lstm_lessons/course/``
(:func:`course_folder`): a wheel carries the files themselves; a checkout has two links there,
to its ``notebooks/`` and ``data/``.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

COURSE_FOLDERS = ("notebooks", "data")
"""The folders of ``lstm_lessons/course/``: the lessons (``NN_slug.ipynb``) and the data sets."""


def course_folder(name: str) -> Path:
    """The absolute, resolved path of one of the course's folders that the package carries.

    Found with :func:`importlib.resources.files`, so it is the same call in a checkout (where it
    resolves the link to ``notebooks/`` or ``data/``) and in an installed wheel (the folder
    itself, in site-packages), whatever the current folder. pip installs a wheel unzipped, so
    the folder is on disk. A clone made without symbolic links (git's ``core.symlinks=false``,
    the default on Windows) has a small file there instead, holding the link's target as text:
    that target is followed too.

    Args:
        name: one of :data:`COURSE_FOLDERS`.

    Raises:
        ValueError: ``name`` is not one of :data:`COURSE_FOLDERS`.
    """
    if name not in COURSE_FOLDERS:
        raise ValueError(f"name={name!r} is not a folder of the course; expected one of {COURSE_FOLDERS}.")
    path = Path(importlib.resources.files("lstm_lessons") / "course" / name)
    if path.is_file() and not path.is_symlink():   # git's stand-in for a link: the target as text
        path = path.parent / path.read_text(encoding="utf-8").strip()
    return path.resolve()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error, that file is
    flushed to disk and renamed over ``path``.

    The caller writes the temporary file itself (``model.save(temporary)``, say), which is why
    ``suffix`` can be chosen: Keras decides the format by the file's ending. The temporary file
    is created empty, with the permissions a new file gets (``0o666`` less the umask), under a
    name no other writer uses.

    Args:
        path: the file to write; its folder is created if missing.
        suffix: ending of the temporary file's name, e.g. ``".tmp.keras"``.

    Raises:
        Whatever the block raises, after removing the temporary file (``path`` untouched).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        temporary = target.parent / f".{target.name}.{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` with :func:`atomic_write`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    with atomic_write(path) as temporary:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)
    return Path(path)
