"""Build the course website into a folder of static pages: ``make site`` (``build/site/``).

The site is built with Sphinx, myst-nb and sphinx-book-theme (``website/conf.py``) from what is
committed: the executed notebooks, ``docs/``, ``benchmarks/results/`` and the top-level pages.
They are copied to a source folder (``build/site-src/`` by default) at their paths in the checkout,
so the relative links between them resolve on the site as they do on disk, and the landing page is
written there from ``website/index.md`` and the lessons themselves: each lesson's title (its
notebook's first heading), its line in the README's table of lessons, and one of its figures
(:func:`landing_figure`). Each lesson's page starts with a link to download its notebook, the
committed file as it is, and a link to its evidence page.
Nothing is executed and nothing is downloaded. The build is strict (Sphinx's ``-W``): a warning,
a broken link or a missing image fails it.

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

from lstm_lessons.grading.feedback import EXERCISE_MIME

ROOT = Path(__file__).resolve().parent.parent
WEBSITE = ROOT / "website"
PAGES = ("README.md", "CHANGELOG.md", "CONTRIBUTING.md", "LICENSE", "data/README.md")
"""Top-level files the site shows or links to, copied at their paths."""
FOLDERS = {"docs": "**/*.md", "benchmarks/results": "*.md", "notebooks": "[0-9][0-9]_*.ipynb"}
"""Folders the site shows: ``{folder: glob of the files copied from it}``."""
FIGURE_TAG = "landing-figure"
"""The tag of the code cell whose figure stands for its lesson on the landing page."""
DOWNLOADS = "downloads"
"""The source folder's copies of the committed notebooks as they are, offered for download (the
pages are built from copies with a header cell added)."""
LESSON_ROW = re.compile(r"^\| \[(?P<key>\d\d_[a-z0-9_]+)\]\([^)]*\) \| (?P<line>[^|]+) \|", re.MULTILINE)
"""A row of the README's table of lessons: the lesson's key and what fails in it."""


def lesson_keys() -> list[str]:
    """The lessons' keys, ``NN_slug``, from the committed notebooks, in lesson order."""
    return sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def lesson_summaries(readme: str) -> dict[str, str]:
    """``{key: what fails}`` from the README's table of lessons.

    Raises:
        ValueError: a lesson has no row in the table.
    """
    found = {match["key"]: match["line"].strip() for match in LESSON_ROW.finditer(readme)}
    missing = [key for key in lesson_keys() if key not in found]
    if missing:
        raise ValueError(f"README.md's table of lessons has no row for {missing}: the landing page "
                         f"takes each lesson's line from it.")
    return found


def landing_figure(notebook) -> bytes:
    """The PNG a lesson shows on the landing page: the figure of its cell tagged
    :data:`FIGURE_TAG` (its symptom, usually), else its first figure.

    Raises:
        ValueError: the notebook has no figure among its outputs (not executed?).
    """
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    tagged = [cell for cell in cells if FIGURE_TAG in cell.metadata.get("tags", [])]
    for cell in tagged + cells:
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                return base64.b64decode(output["data"]["image/png"])
    raise ValueError("the notebook has no figure among its outputs; the site shows the committed "
                     "executed notebooks (make notebooks)")


def title(notebook) -> str:
    """A notebook's first heading, without its ``#``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    raise ValueError("the notebook has no top-level heading")


def drop_grader_outputs(notebook) -> None:
    """Remove the exercise feedback's JSON (for the grader) from a notebook's outputs, keeping the
    text a reader sees: Sphinx has no renderer for it."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(EXERCISE_MIME, None)


def lesson_header(key: str) -> dict:
    """The markdown cell put at the top of a lesson's page: the download and the evidence."""
    return nbformat.v4.new_markdown_cell(
        f"{{download}}`Download the notebook <../{DOWNLOADS}/{key}.ipynb>` · "
        f"[Evidence: its claims over seeds](../docs/evidence/{key}.md)")


def assemble(source: Path) -> None:
    """Write the site's source folder: the copies, the lessons' headers and the landing page."""
    if source.exists():
        shutil.rmtree(source)
    for name in PAGES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for folder, pattern in FOLDERS.items():
        for path in sorted((ROOT / folder).glob(pattern)):
            target = source / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    (source / DOWNLOADS).mkdir()
    for key in lesson_keys():
        shutil.copy2(ROOT / "notebooks" / f"{key}.ipynb", source / DOWNLOADS / f"{key}.ipynb")
    summaries = lesson_summaries((ROOT / "README.md").read_text(encoding="utf-8"))
    cards = []
    (source / "notebooks" / "figures").mkdir()
    for key in lesson_keys():
        path = source / "notebooks" / f"{key}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        try:
            figure = landing_figure(notebook)
        except ValueError as exc:
            raise ValueError(f"notebooks/{key}.ipynb: {exc}") from None
        (source / "notebooks" / "figures" / f"{key}.png").write_bytes(figure)
        drop_grader_outputs(notebook)
        notebook.cells.insert(1, lesson_header(key))
        nbformat.write(notebook, path)
        cards.append(f":::{{grid-item-card}} {title(notebook)}\n"
                     f":link: notebooks/{key}\n:link-type: doc\n:class-card: lesson-card\n\n"
                     f"![a figure of lesson {key[:2]}](notebooks/figures/{key}.png)\n\n"
                     f"{summaries[key]}\n:::\n")
    template = (WEBSITE / "index.md").read_text(encoding="utf-8")
    lessons = "::::{grid} 1 2 2 2\n:gutter: 3\n\n" + "\n".join(cards) + "::::\n"
    (source / "index.md").write_text(template.replace("{{ lessons }}", lessons), encoding="utf-8")


def build(out: Path, source: Path) -> int:
    """Assemble ``source`` and build the site into ``out``; Sphinx's exit status."""
    from sphinx.cmd.build import build_main

    assemble(source)
    return build_main(["-b", "html", "-W", "--keep-going", "-q", "-c", str(WEBSITE),
                       "-d", str(source / "_doctrees"), str(source), str(out)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="the site's folder")
    parser.add_argument("--source", type=Path, default=ROOT / "build" / "site-src",
                        help="the folder the sources are copied to (emptied first)")
    args = parser.parse_args(argv)
    status = build(args.out.resolve(), args.source.resolve())
    if status == 0:
        print(f"wrote {args.out}/index.html")
    return status


if __name__ == "__main__":
    sys.exit(main())
