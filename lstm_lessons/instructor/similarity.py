"""Hand-ins of one lesson whose own code is unusually similar: a report for the instructor to
read, never a change to a grade.

A hand-in's **own code** is its code cells that are not cells of the lesson's hand-out (compared
without trailing spaces), so the template a whole class shares is never evidence. Pairs are then
compared with copydetect (https://github.com/blingenf/copydetect), which implements winnowing,
the document fingerprinting of MOSS (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms
for document fingerprinting", SIGMOD 2003): the code is tokenised with its names of variables,
functions and objects replaced by one letter each (so renaming changes nothing), hashed in
overlapping runs of :data:`NOISE_CHARACTERS` characters of that token text, and a pair's
similarity is the share of one hand-in's fingerprinted text that the other holds too, in any
order (so reordering cells changes nothing). Two kinds of run are left out, as MOSS leaves them
out: those of the hand-out (MOSS's base file, copydetect's boilerplate: changed cells' template
lines included), and those that more than :data:`COMMON_IN` hand-ins hold (MOSS's ``-m``, whose
default is 10: "a passage of code that appears in many programs is probably legitimate sharing",
as when a whole class writes the same short, constrained answer).

A pair is **flagged** when the larger of its two shares is at least :data:`FLAG_SHARE` and the
code they share is at least :data:`MIN_SHARED_CHARACTERS` characters of token text. Both are this
project's choices, not a published rule: two hand-ins that both type the lesson's answers share a
line's worth and are not flagged; a copy with every name changed shares all of it.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

from lstm_lessons.files import write_atomically
from lstm_lessons.instructor.report import csv_table
from lstm_lessons.instructor.submissions import DEFAULT_MAX_MB, read_hand_in
from lstm_lessons.safe_text import csv_text

NOISE_CHARACTERS = 25
"""copydetect's noise threshold ``k``: the length of the runs of token text hashed, its default
(copydetect's ``defaults.NOISE_THRESHOLD``); shorter shared runs count as chance."""
COMMON_IN = 10
"""Runs that more than this many hand-ins of a lesson hold are left out: MOSS's ``-m`` and its
default (http://theory.stanford.edu/~aiken/moss/, the submission script's options)."""
FLAG_SHARE = 0.6
"""A pair is flagged when one hand-in's fingerprinted own code is at least this share of the other's."""
MIN_SHARED_CHARACTERS = 150
"""...and the shared token text is at least this long (a line of token text is about 10 to 30)."""
SHOWN_SHARE = 0.3
"""The HTML report shows the pairs of which one share is above this (copydetect's display
threshold, about its default 0.33), at most :data:`SHOWN_PAIRS` of them, most similar first."""
SHOWN_PAIRS = 50
MAX_OWN_CHARACTERS = 200_000
"""The most characters of a hand-in's own code compared (the rest is left out): a lesson's own
code is a few thousand; copydetect takes about 10 s a million characters, in memory a few hundred MB."""


@dataclass
class Pair:
    """Two hand-ins of one lesson and how much of their own code they share.

    Attributes:
        lesson: the lesson's full name.
        first, second: the students' keys, ``first`` before ``second``.
        first_share, second_share: the share of each one's fingerprinted own code found in the other.
        shared_characters: the length of the shared token text (copydetect's token overlap).
        flagged: at or above :data:`FLAG_SHARE` and :data:`MIN_SHARED_CHARACTERS`.
    """

    lesson: str
    first: str
    second: str
    first_share: float
    second_share: float
    shared_characters: int

    @property
    def flagged(self) -> bool:
        return max(self.first_share, self.second_share) >= FLAG_SHARE and \
            self.shared_characters >= MIN_SHARED_CHARACTERS


def order(pair: Pair) -> tuple:
    """Flagged pairs first, then by the length of the code they share, then by the larger share."""
    return (not pair.flagged, -pair.shared_characters, -max(pair.first_share, pair.second_share),
            pair.first, pair.second)


def _cell_text(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def code_cells(notebook) -> list[str]:
    """The non-empty code cells of a notebook, trailing spaces removed."""
    return [t for c in notebook.get("cells", []) if c.get("cell_type") == "code"
            and isinstance(c.get("source"), str) and (t := _cell_text(c["source"]))]


def own_code(notebook, template: set[str]) -> str:
    """The code cells of ``notebook`` that are not among the hand-out's cells ``template``
    (:func:`code_cells`), in order, joined by blank lines."""
    return "\n\n".join(c for c in code_cells(notebook) if c not in template)


def _read(path: Path, root: Path, max_mb: float) -> nbformat.NotebookNode | None:
    text, _ = read_hand_in(path, max_mb, root=root)
    try:
        return nbformat.reads(text, as_version=4) if text is not None else None
    except Exception:  # noqa: BLE001 - an unreadable hand-in is left out of the comparison
        return None


def _fingerprints(path: Path, boilerplate) -> set[int]:
    from copydetect import CodeFingerprint

    return set(CodeFingerprint(str(path), NOISE_CHARACTERS, 1, boilerplate, language="python").hashes)


def compare(lesson: str, own: dict[str, str], template_code: str) -> tuple[list[Pair], str]:
    """Every pair of ``own`` (``{student key: own code}``) in :func:`order`, and copydetect's
    HTML report of them (the pairs side by side, their shared code highlighted).

    ``template_code`` is the hand-out's code, whose runs are left out, as are those of more than
    :data:`COMMON_IN` hand-ins."""
    import numpy as np
    from copydetect import CopyDetector

    class Detector(CopyDetector):
        """copydetect's detector, whose boilerplate also holds the runs common to many hand-ins,
        and whose report shows at most :data:`SHOWN_PAIRS` pairs."""

        common = np.array([], dtype=np.int64)

        def _get_boilerplate_hashes(self):
            return np.union1d(super()._get_boilerplate_hashes(), self.common)

        def get_copied_code_list(self):
            listed = super().get_copied_code_list()
            # In this module's order (flagged first), not copydetect's (the first file's share).
            listed.sort(key=lambda c: order(Pair(lesson, Path(c[2]).stem, Path(c[3]).stem, c[0], c[1], c[6])))
            return listed[:SHOWN_PAIRS]

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "code").mkdir()
        (folder / "template").mkdir()
        # A lone surrogate (a JSON escape in a cell) is written as its escape: copydetect would
        # skip a file that is not UTF-8, and a hand-in could leave the comparison that way.
        (folder / "template" / "hand-out.py").write_text(template_code, encoding="utf-8",
                                                          errors="backslashreplace")
        for key, code in own.items():
            (folder / "code" / f"{key}.py").write_text(code[:MAX_OWN_CHARACTERS], encoding="utf-8",
                                                      errors="backslashreplace")
        detector = Detector(test_dirs=[str(folder / "code")], ref_dirs=[str(folder / "code")],
                            boilerplate_dirs=[str(folder / "template")], extensions=["py"],
                            noise_t=NOISE_CHARACTERS, guarantee_t=NOISE_CHARACTERS, display_t=SHOWN_SHARE,
                            autoopen=False, silent=True, force_language="python")
        template = CopyDetector._get_boilerplate_hashes(detector)
        counts: dict[int, int] = {}
        for key in own:
            for fingerprint in _fingerprints(folder / "code" / f"{key}.py", template):
                counts[fingerprint] = counts.get(fingerprint, 0) + 1
        detector.common = np.array(sorted(h for h, n in counts.items() if n > COMMON_IN), dtype=np.int64)
        detector.run()
        where = {Path(f).stem: i for i, f in enumerate(detector.test_files)}
        refs = {Path(f).stem: j for j, f in enumerate(detector.ref_files)}
        pairs = []
        keys = sorted(own)
        for a_index, a in enumerate(keys):
            for b in keys[a_index + 1:]:
                if a not in where or b not in refs or not len(detector.similarity_matrix):
                    continue
                first, second = detector.similarity_matrix[where[a], refs[b]]
                shared = int(max(detector.token_overlap_matrix[where[a], refs[b]], 0))
                pairs.append(Pair(lesson, a, b, float(max(first, 0)), float(max(second, 0)), shared))
        with warnings.catch_warnings():    # copydetect 0.5 reads its template with a deprecated call
            warnings.simplefilter("ignore", DeprecationWarning)
            html = detector.generate_html_report(output_mode="return") if len(own) > 1 else ""
        html = (html or "").replace(f"{folder / 'code'}/", "").replace(str(folder), "")
    pairs.sort(key=order)
    return pairs, html


def similarity_csv(pairs: list[Pair]) -> str:
    """``lesson, first, second, first_share, second_share, shared_characters, flagged`` a pair."""
    rows = [["lesson", "first", "second", "first_share", "second_share", "shared_characters", "flagged"]]
    for p in pairs:
        rows.append([p.lesson, csv_text(p.first), csv_text(p.second), f"{p.first_share:.2f}",
                     f"{p.second_share:.2f}", p.shared_characters, "yes" if p.flagged else ""])
    return csv_table(rows)


def write_similarity(hand_ins: dict[str, dict[str, Path]], out, notebooks_dir: Path,
                     root=None, max_mb: float = DEFAULT_MAX_MB) -> tuple[list[Pair], dict[str, str]]:
    """Compare the hand-ins of each lesson (``{lesson: {student key: path}}``, collected in the
    folder ``root``; none larger than ``max_mb`` MiB is read) and write ``out/similarity.csv``
    (every pair that shares any code, flagged ones first and marked) and
    ``out/similarity/<lesson>.html``.

    A hand-in that cannot be read as a notebook is left out (the grader gives it its status). A
    lesson whose comparison fails (copydetect raised) gets no report and does not stop the others.

    Returns:
        The flagged pairs, and ``{lesson: why its comparison failed}``.
    """
    out = Path(out)
    every, flagged, failed = [], [], {}
    for lesson, paths in hand_ins.items():
        if len(paths) < 2:
            continue
        template = nbformat.read(notebooks_dir / f"{lesson}.ipynb", as_version=4)
        cells = code_cells(template)
        notebooks = {key: nb for key, path in paths.items() if (nb := _read(path, root, max_mb)) is not None}
        own = {key: own_code(nb, set(cells)) for key, nb in notebooks.items()}
        try:
            pairs, html = compare(lesson, own, "\n\n".join(cells))
        except Exception as exc:  # noqa: BLE001 - a report that fails costs no grade and no other lesson
            failed[lesson] = f"{type(exc).__name__}: {exc}"
            (out / "similarity" / f"{lesson}.html").unlink(missing_ok=True)    # an earlier run's
            continue
        write_atomically(out / "similarity" / f"{lesson}.html", html)
        every += [p for p in pairs if p.shared_characters > 0]
        flagged += [p for p in pairs if p.flagged]
    write_atomically(out / "similarity.csv", similarity_csv(sorted(every, key=order)))
    return flagged, failed
