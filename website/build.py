"""Build the course website into a folder of static pages: ``make site`` (``build/site/``).

The site is built with Sphinx, myst-nb and sphinx-book-theme (``website/conf.py``) from what is
committed: the executed notebooks, ``docs/``, ``benchmarks/results/`` and the top-level pages.
They are copied to a source folder (``build/site-src/`` by default) at their paths in the checkout,
so the relative links between them resolve on the site as they do on disk, and the landing page is
written there from ``website/index.md`` and the lessons themselves: each lesson's title (its
notebook's first heading), its line in the README's table of lessons, and the figure of its cell
tagged :data:`FIGURE_TAG`. Each lesson's page starts with a link to download its notebook, the
committed file as it is, and a link to its evidence page. Nothing is executed and nothing is
downloaded. The build is strict (Sphinx's ``-W``): a warning, a broken link between pages or a
missing image fails it.

Usage: ``python website/build.py [--out build/site] [--source build/site-src]``.
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the checkout's package, the one the API reference documents
from lstm_lessons.claims import CLAIM_MIME  # noqa: E402
from lstm_lessons.grading.feedback import EXERCISE_MIME  # noqa: E402
from lstm_lessons.runner import available_lessons, lesson_title  # noqa: E402

WEBSITE = ROOT / "website"
PAGES = ("README.md", "CHANGELOG.md", "CONTRIBUTING.md", "LICENSE", "data/README.md")
"""Top-level files the site shows or links to, copied at their paths."""
FOLDERS = {"docs": "**/*.md", "benchmarks/results": "*.md", "notebooks": "[0-9][0-9]_*.ipynb"}
"""Folders the site shows: ``{folder: glob of the files copied from it}``."""
FIGURE_TAG = "landing-figure"
"""The tag of the one code cell of a lesson whose figure stands for it on the landing page."""
WRAPPED_TAG = "wrapped-output"
"""The tag the site's copy of a lesson gives the cells that print sentences rather than tables,
its verdicts and its exercises' feedback, whose lines ``website/_static/site.css`` wraps to the
page's width."""
DOWNLOADS = "downloads"
"""The source folder's copies of the committed notebooks as they are, offered for download (the
pages are built from copies with a header cell added)."""
SOURCE_MARK = ".lstm-lessons-site-source"
"""The file that marks a source folder as this script's: only such a folder is emptied."""
LESSON_ROW = re.compile(r"^\| \[(?P<key>\d\d_[a-z0-9_]+)\]\([^)]*\) \| (?P<line>[^|]+) \|", re.MULTILINE)
"""A row of the README's table of lessons: the lesson's key and what fails in it."""


def lesson_summaries(readme: str, keys) -> dict[str, str]:
    """``{key: what fails}`` for each of ``keys``, from the README's table of lessons.

    Raises:
        ValueError: a lesson has no row in the table.
    """
    found = {match["key"]: match["line"].strip() for match in LESSON_ROW.finditer(readme)}
    missing = [key for key in keys if key not in found]
    if missing:
        raise ValueError(f"README.md's table of lessons has no row for {missing}: the landing page "
                         f"takes each lesson's line from it.")
    return found


def landing_figure(notebook, name: str) -> bytes:
    """The PNG of the notebook's one code cell tagged :data:`FIGURE_TAG`: the last figure it
    shows (a training cell's live view comes first, the lesson's own figure after it).

    Raises:
        ValueError: no code cell, or more than one, has the tag, or the tagged cell shows no
            figure (the notebook ``name`` is not executed?).
    """
    tagged = [cell for cell in notebook.cells
              if cell.cell_type == "code" and FIGURE_TAG in cell.metadata.get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{name}: {len(tagged)} code cells are tagged {FIGURE_TAG!r}; tag exactly one, "
                         f"the cell whose figure stands for the lesson on the landing page")
    for output in reversed(tagged[0].get("outputs", [])):
        if "image/png" in output.get("data", {}):
            return base64.b64decode(output["data"]["image/png"])
    raise ValueError(f"{name}: the cell tagged {FIGURE_TAG!r} shows no figure; the site shows the "
                     f"committed executed notebooks (make notebooks)")


def for_the_site(notebook, key: str) -> None:
    """Prepare the site's copy of a lesson: a header cell with the download and the evidence
    links; the cells whose output is a verdict (it records a claim, :data:`CLAIM_MIME`) or an
    exercise's feedback (:data:`EXERCISE_MIME`) tagged :data:`WRAPPED_TAG`; and no exercise
    feedback JSON (it is for the grader, and Sphinx has no renderer for it; the text a reader
    sees stays)."""
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        if any(CLAIM_MIME in output.get("metadata", {}) or EXERCISE_MIME in output.get("data", {})
               for output in outputs):
            cell.metadata.setdefault("tags", []).append(WRAPPED_TAG)
        for output in outputs:
            output.get("data", {}).pop(EXERCISE_MIME, None)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(
        f"[Download the notebook](path:../{DOWNLOADS}/{key}.ipynb) · "
        f"[Evidence: its claims over seeds](../docs/evidence/{key}.md)"))


def empty_folder(folder: Path, option: str, mark: str) -> None:
    """Empty ``folder`` for a build, or create it, only if it is new, empty or marked as ours by
    the file ``mark`` in it.

    Raises:
        ValueError: ``folder`` is not empty and has no ``mark``, or is ``ROOT`` or holds it: it
            is left as it is; the message names ``option``.
    """
    if folder.exists() and any(folder.iterdir()):
        if folder == ROOT or folder in ROOT.parents or not (folder / mark).is_file():
            raise ValueError(f"{option} {folder} is not empty and not a folder this script built before "
                             f"(no {mark} in it); give a new or empty folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def assemble(source: Path) -> None:
    """Write the site's source folder: the copies, the lessons' site copies and the landing page.

    Raises:
        ValueError: see :func:`empty_folder`, :func:`lesson_summaries` and :func:`landing_figure`.
    """
    lessons = available_lessons(ROOT / "notebooks")
    summaries = lesson_summaries((ROOT / "README.md").read_text(encoding="utf-8"), lessons)
    empty_folder(source, "--source", SOURCE_MARK)
    (source / SOURCE_MARK).touch()
    for name in PAGES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for folder, pattern in FOLDERS.items():
        for path in sorted((ROOT / folder).glob(pattern)):
            target = source / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    (source / DOWNLOADS).mkdir()
    (source / "notebooks" / "figures").mkdir()
    cards = []
    for key, path in lessons.items():
        shutil.copy2(path, source / DOWNLOADS / path.name)
        notebook = nbformat.read(path, as_version=4)
        (source / "notebooks" / "figures" / f"{key}.png").write_bytes(landing_figure(notebook, path.name))
        for_the_site(notebook, key)
        nbformat.write(notebook, source / "notebooks" / path.name)
        cards.append(f":::{{grid-item-card}} {lesson_title(path)}\n"
                     f":link: notebooks/{key}\n:link-type: doc\n:class-card: lesson-card\n\n"
                     f"![A figure of lesson {key[:2]}](notebooks/figures/{key}.png)\n\n"
                     f"{summaries[key]}\n:::\n")
    template = (WEBSITE / "index.md").read_text(encoding="utf-8")
    grid = "::::{grid} 1 2 2 2\n:gutter: 3\n\n" + "\n".join(cards) + "::::\n"
    (source / "index.md").write_text(template.replace("{{ lessons }}", grid), encoding="utf-8")


def build(out: Path, source: Path) -> int:
    """Assemble ``source`` and build the site into ``out``; Sphinx's exit status.

    ``out`` is emptied first when it holds a site built before (Sphinx's ``.buildinfo`` in it),
    so no page of a renamed or deleted document survives.

    Raises:
        ValueError: ``out`` or ``source`` is not empty and not built by this script before
            (:func:`empty_folder`), or a lesson lacks what the landing page takes from it.
    """
    from sphinx.cmd.build import build_main

    assemble(source)
    empty_folder(out, "--out", ".buildinfo")
    return build_main(["-b", "html", "-W", "-q", "-c", str(WEBSITE), "-d", str(source / "_doctrees"),
                       str(source), str(out)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="the site's folder")
    parser.add_argument("--source", type=Path, default=ROOT / "build" / "site-src",
                        help="the folder the sources are copied to (emptied first)")
    args = parser.parse_args(argv)
    try:
        status = build(args.out.resolve(), args.source.resolve())
    except ValueError as exc:
        parser.error(str(exc))
    if status == 0:
        print(f"wrote {args.out}/index.html")
    return status


if __name__ == "__main__":
    sys.exit(main())
