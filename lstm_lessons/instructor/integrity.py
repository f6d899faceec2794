"""Keeping the grader's trusted code trusted while submissions run beside it.

A submission runs as the instructor's user. The simplest way to cheat the grader is to edit
the exercise checks in ``lstm_lessons/`` (an editable install puts them in the repository),
which the grader imports *after* the kernels have ended, so that any answer passes.
:class:`PackageSnapshot` reads every file of the package into memory before the first
submission runs; :meth:`PackageSnapshot.restore` puts back every file that changed or
disappeared and removes every file or folder that appeared (an ``exercises/`` package beside
``exercises.py`` would shadow the module: Python's path finder tries a package directory
before a module file; a new lesson folder would add exercises), and returns what it
repaired. Compiled bytecode cannot be checked against a snapshot (Python rewrites it
legitimately), so :meth:`PackageSnapshot.restore` with ``bytecode=True`` deletes the
package's ``__pycache__`` folders: a forged ``.pyc`` whose header matches the source would
otherwise be loaded instead of the source.

What this does not cover: the rest of the Python environment (TensorFlow, Keras, a
``sitecustomize`` or ``.pth`` file in site-packages) and the course's notebooks and data sets in
``lstm_lessons/course/`` (:data:`COURSE_DIR`: links to the checkout's folders, or, from a wheel,
the files themselves; no check imports them, and the data files are checked against the SHA-256
sums in :mod:`lstm_lessons.data` whenever they are loaded; without the sandbox, a hand-in could
edit the files and the list alike). See the threat model (``docs/threat-model.md``).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from lstm_lessons.files import write_atomically

PACKAGE_DIR = Path(importlib.resources.files("lstm_lessons")).resolve()
"""The ``lstm_lessons`` package folder whose files the grader's checks import."""

BYTECODE_DIR = "__pycache__"

COURSE_DIR = "course"
"""The package's folder of notebooks and data (:func:`lstm_lessons.files.course_folder`), left out
of every snapshot."""


def _entries(root: Path) -> dict[str, str]:
    """Every entry below ``root`` except bytecode folders and :data:`COURSE_DIR`: ``{relative
    path: kind}`` with kind ``"dir"``, ``"file"`` or ``"other"`` (a link, a socket...). Links are
    not followed."""
    entries = {}
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        if base == root:
            dirs[:] = [d for d in dirs if d != COURSE_DIR]
            files = [f for f in files if f != COURSE_DIR]
        for name in [*dirs, *files]:
            path = base / name
            if name == BYTECODE_DIR and path.is_dir() and not path.is_symlink():
                continue
            kind = ("other" if path.is_symlink() else "dir" if path.is_dir()
                    else "file" if path.is_file() else "other")
            entries[path.relative_to(root).as_posix()] = kind
        dirs[:] = [d for d in dirs if d != BYTECODE_DIR and entries.get((base / d).relative_to(root)
                                                                        .as_posix()) == "dir"]
    return entries


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class PackageSnapshot:
    """The files of a package folder, held in memory.

    Attributes:
        root: the folder (default :data:`PACKAGE_DIR`).
        folders: relative paths of its folders (bytecode folders left out).
        files: ``{relative path: content}`` of its files.
    """

    root: Path
    folders: frozenset[str]
    files: dict[str, bytes]

    @classmethod
    def take(cls, root: Path = PACKAGE_DIR) -> PackageSnapshot:
        """Read every file below ``root`` (about 150 KiB for this package).

        Raises:
            OSError: a file cannot be read.
        """
        root = Path(root)
        entries = _entries(root)
        files = {rel: (root / rel).read_bytes() for rel, kind in entries.items() if kind == "file"}
        return cls(root, frozenset(rel for rel, kind in entries.items() if kind == "dir"), files)

    @property
    def checksum(self) -> str:
        """SHA-256 of the snapshot: every file's relative path and content, in path order; the
        same package files give the same checksum on any machine."""
        digest = hashlib.sha256()
        for rel in sorted(self.files):
            content = self.files[rel]
            digest.update(f"{rel}\0{len(content)}\0".encode())
            digest.update(content)
        return digest.hexdigest()

    def changes(self) -> list[str]:
        """What differs from the snapshot now, sorted by path; ``[]`` when nothing does.

        For example ``["changed grading/feedback.py", "added grading/feedback"]``."""
        entries, found = _entries(self.root), []
        for rel, kind in entries.items():
            if rel in self.files:
                if kind != "file" or (self.root / rel).read_bytes() != self.files[rel]:
                    found.append((rel, "changed"))
            elif rel not in self.folders or kind != "dir":
                found.append((rel, "added"))
        found += [(rel, "removed") for rel in [*self.files, *self.folders] if rel not in entries]
        # An added folder's own entries are all added too: name only the folder.
        added = {rel for rel, what in found if what == "added"}
        found = [(rel, what) for rel, what in found
                 if not any(rel.startswith(a + "/") for a in added if a != rel)]
        return [f"{what} {rel}" for rel, what in sorted(found)]

    def restore(self, bytecode: bool = False) -> list[str]:
        """Make the folder match the snapshot again; returns :meth:`changes` as found before.

        Changed or removed files are written back (:func:`lstm_lessons.files.write_atomically`,
        so a file is never half written); added files, folders and links are
        deleted. With ``bytecode=True`` every ``__pycache__`` folder below ``root`` is
        deleted as well (not reported: Python writes bytecode on its own).

        Raises:
            OSError: the folder cannot be repaired (for example, it is read-only).
        """
        changes = self.changes()
        for change in changes:
            what, rel = change.split(" ", 1)
            if what == "added":
                _remove(self.root / rel)
        for rel in sorted(self.folders):
            path = self.root / rel
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                _remove(path)
            path.mkdir(parents=True, exist_ok=True)
        for rel, content in self.files.items():
            path = self.root / rel
            if path.is_symlink() or not path.is_file() or path.read_bytes() != content:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                write_atomically(path, content)
        if bytecode:
            for folder, dirs, _ in os.walk(self.root):
                for name in [d for d in dirs if d == BYTECODE_DIR]:
                    shutil.rmtree(Path(folder) / name, ignore_errors=True)
                dirs[:] = [d for d in dirs if d != BYTECODE_DIR]
        return changes
