"""The course website: ``make site``'s build, opened in a real Chromium.

The site is built once (``website/build.py``, the code of ``make site``, strict) from the committed
notebooks into a temporary folder, in a bubblewrap network namespace with nothing but loopback (so
nothing can be downloaded at build time), served by a static file server on 127.0.0.1 and opened
with Playwright: the landing page and every lesson page load with no console error and no failed
request, every figure is a loaded image, search finds a lesson by a word of its title (served, and
from ``file://``), and a lesson opens from the landing page over ``file://``. Every internal link
of every page is checked on disk. Screenshots of the landing page and one lesson go to
``build/site-shots/``. No lesson is executed. The tests not marked ``slow`` check the build
script's rules on their own, without building.
"""

import base64
import functools
import html
import http.server
import importlib.util
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from lstm_lessons.runner import available_lessons, lesson_title

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "site-shots"
LESSONS = sorted(available_lessons())
SHOWN_LESSON = "07_padding_and_masking"
"""The lesson whose page is photographed, and which search must find by a word of its title."""


def build_script():
    """``website/build.py`` as a module (the website is not a package)."""
    spec = importlib.util.spec_from_file_location("website_build", ROOT / "website" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory, sandbox) -> Path:
    """The built site's folder, built without a network: nothing may be downloaded."""
    from lstm_lessons.instructor.sandbox import find_sandbox

    offline = [find_sandbox().bwrap, "--unshare-user", "--unshare-net", "--dev-bind", "/", "/", "--"]
    folder = tmp_path_factory.mktemp("website")
    out = folder / "site"
    build = subprocess.run([*offline, sys.executable, str(ROOT / "website" / "build.py"), "--out", str(out),
                            "--source", str(folder / "source")], capture_output=True, text=True)
    assert build.returncode == 0, f"the site's build failed:\n{build.stdout}\n{build.stderr}"
    assert build.stderr == "", f"the build printed warnings:\n{build.stderr}"
    return out


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    """The site's address on a static file server (the standard library's) on 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Links(HTMLParser):
    """The addresses a page refers to (``href``, ``src``, ``srcset``, a form's ``action``) and the
    ``id`` of its elements."""

    def __init__(self):
        super().__init__()
        self.targets, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src", "action"):
            if attrs.get(name):
                self.targets.append(attrs[name])
        for candidate in (attrs.get("srcset") or "").split(","):
            if candidate.strip():
                self.targets.append(candidate.split()[0])


@functools.cache
def parsed(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


@pytest.mark.slow
def test_every_internal_link_of_every_page_resolves(site):
    # _static/ holds the theme's Jinja macros as .html files: templates, not pages.
    pages = sorted(page for page in site.rglob("*.html") if "_static" not in page.relative_to(site).parts)
    assert len(pages) > 50, f"only {len(pages)} pages were built"
    broken = []
    for page in pages:
        for target in parsed(page).targets:
            parts = urlsplit(target)
            anchor = unquote(parts.fragment)
            if parts.scheme or target.startswith("//"):
                continue  # an external address: not checked (no network in the tests)
            file = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            # A folder is no page: from file:// a browser shows its listing, not an index.html.
            if not file.is_file() or not file.is_relative_to(site):
                broken.append(f"{page.relative_to(site)}: {target} (no such file)")
            elif anchor and file.suffix == ".html" and anchor not in parsed(file).ids:
                broken.append(f"{page.relative_to(site)}: {target} (no element with that id)")
    assert not broken, f"{len(broken)} broken links, the first ones:\n" + "\n".join(broken[:20])


@pytest.mark.slow
def test_the_lessons_come_in_order_with_previous_and_next(site):
    pages = [site / "notebooks" / f"{key}.html" for key in LESSONS]
    for page, following in zip(pages[:-1], pages[1:], strict=True):
        found = re.search(r'<a class="right-next"\s+href="([^"]+)"', page.read_text(encoding="utf-8"))
        assert found and found[1] == following.name, f"{page.name}: the next page is {found and found[1]}"
        back = re.search(r'<a class="left-prev"\s+href="([^"]+)"', following.read_text(encoding="utf-8"))
        assert back and back[1] == page.name, f"{following.name}: the previous page is {back and back[1]}"


@pytest.mark.slow
def test_each_lesson_links_its_committed_notebook_and_its_evidence_page(site):
    for key in LESSONS:
        page = site / "notebooks" / f"{key}.html"
        targets = parsed(page).targets
        downloads = [t for t in targets if t.endswith(f"/{key}.ipynb") and "_downloads" in t]
        assert len(downloads) == 1, f"{page.name}: download links {downloads}"
        assert (page.parent / downloads[0]).read_bytes() == (ROOT / "notebooks" / f"{key}.ipynb").read_bytes()
        assert f"../docs/evidence/{key}.html" in targets, f"{page.name} has no link to its evidence page"


def plain(text: str) -> str:
    """Text as a reader sees it: no tags, entities decoded, straight quotes, single spaces."""
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    text = text.translate(str.maketrans("\u201c\u201d\u2018\u2019", "\"\"''"))
    return " ".join(text.split())


@pytest.mark.slow
def test_the_landing_page_shows_every_lesson_with_its_line_and_its_figure(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    shown = plain(page)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    script = build_script()
    lines = script.lesson_summaries(readme, LESSONS)
    for key in LESSONS:
        assert plain(lesson_title(ROOT / "notebooks" / f"{key}.ipynb")) in shown, f"no title of {key}"
        assert plain(lines[key].replace("`", "")) in shown, f"no README line of {key}"
        assert f'href="notebooks/{key}.html"' in page, f"the landing page has no link to {key}"
        figure = re.search(rf'<img alt="A figure of lesson {key[:2]}" src="([^"]+)"', page)
        notebook = nbformat.read(ROOT / "notebooks" / f"{key}.ipynb", as_version=4)
        assert figure, f"the landing page shows no figure of {key}"
        assert (site / figure[1]).read_bytes() == script.landing_figure(notebook, key), \
            f"{key}'s card shows another figure than its cell tagged {script.FIGURE_TAG!r}"


@pytest.mark.slow
def test_the_api_reference_documents_the_package_but_not_the_exercises(site):
    api = site / "api" / "lstm_lessons"
    assert "TrainingDoctor" in (api / "doctor" / "callback" / "index.html").read_text(encoding="utf-8")
    # Keras's names as students write them, not through the package's private import module.
    assert "keras.Model" in plain((api / "models" / "index.html").read_text(encoding="utf-8"))
    # The exercises' checks work out their answers in their docstrings: not on a public site.
    assert not list(api.rglob("exercises")), "the API reference has pages of the exercises' checks"
    assert not [p for p in site.rglob("*.html") if "lstm_lessons._tf" in p.read_text(encoding="utf-8")]


def watch(page) -> list[str]:
    """Collect what goes wrong on ``page`` from now on: console errors, failed requests, HTTP errors."""
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    return problems


@pytest.mark.slow
def test_the_landing_page_and_every_lesson_load_in_chromium(served, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = watch(page)
    for address in ["index.html", *(f"notebooks/{key}.html" for key in LESSONS)]:
        page.goto(f"{served}/{address}", wait_until="load")
        images = page.eval_on_selector_all(
            "article img", "images => images.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
        assert images, f"{address} shows no image"
        bad = [src for src, complete, width in images if not complete or width == 0]
        assert not bad, f"{address}: images not loaded: {bad}"
        # Nothing wider than the window: long verdict lines wrap, names break.
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{address} is {width[0]} px wide in a {width[1]} px window"
        if address == "index.html":
            page.screenshot(path=SHOTS / "landing.png")
        if address == f"notebooks/{SHOWN_LESSON}.html":
            page.screenshot(path=SHOTS / f"{SHOWN_LESSON}.png")
    page.close()
    assert not problems, "\n".join(problems)


def search(page, address: str) -> list[str]:
    """The result links of the site's search page at ``address`` (``search.html?q=...``), read
    once the search has finished (Sphinx adds the results one by one)."""
    page.goto(address)
    page.locator("#search-results p.search-summary", has_text="Search finished").wait_for(timeout=30_000)
    return page.locator("#search-results ul.search li a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")


def finds(links: list[str], key: str) -> bool:
    return any(link.split("?")[0].endswith(f"notebooks/{key}.html") for link in links)


@pytest.mark.slow
def test_search_finds_a_lesson_by_a_word_of_its_title(served, browser):
    page = browser.new_page()
    problems = watch(page)
    found = search(page, f"{served}/search.html?q=masking")
    page.close()
    assert finds(found, SHOWN_LESSON), found
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_the_site_works_from_file_urls(site, browser):
    page = browser.new_page()
    problems = watch(page)
    page.goto((site / "index.html").as_uri(), wait_until="load")
    with page.expect_navigation():
        page.locator(".lesson-card").first.click()  # a card is a link to its lesson
    assert page.url.endswith(f"notebooks/{LESSONS[0]}.html")
    widths = page.eval_on_selector_all("article img", "images => images.map(i => i.naturalWidth)")
    assert widths and min(widths) > 0, widths
    assert not problems, "\n".join(problems)
    # Search works from file:// too; only the snippets under its results are missing there, since
    # browsers do not let a file:// page read other files (docs/instructors.md says so).
    found = search(page, (site / "search.html").as_uri() + "?q=masking")
    page.close()
    assert finds(found, SHOWN_LESSON), found


# --- The build script's rules, without building -------------------------------------------------

def test_every_lesson_tags_one_cell_whose_figure_stands_for_it():
    script = build_script()
    for key in LESSONS:
        notebook = nbformat.read(ROOT / "notebooks" / f"{key}.ipynb", as_version=4)
        assert script.landing_figure(notebook, key).startswith(b"\x89PNG"), key


def test_a_lesson_without_its_figure_tag_or_figure_is_refused():
    script = build_script()
    png = base64.b64encode(b"\x89PNG fake").decode()
    live = base64.b64encode(b"\x89PNG live view").decode()
    cell = nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": live, "text/plain": "<live view: training>"}),
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})])
    notebook = nbformat.v4.new_notebook(cells=[cell])
    with pytest.raises(ValueError, match=r"09_x.ipynb: 0 code cells are tagged 'landing-figure'"):
        script.landing_figure(notebook, "09_x.ipynb")
    cell.metadata["tags"] = [script.FIGURE_TAG]
    assert script.landing_figure(notebook, "09_x.ipynb") == b"\x89PNG fake"   # the cell's last figure
    cell.outputs = []
    with pytest.raises(ValueError, match="shows no figure"):
        script.landing_figure(notebook, "09_x.ipynb")


def test_the_build_empties_only_a_folder_it_built(tmp_path):
    script = build_script()
    theirs = tmp_path / "notes"
    theirs.mkdir()
    (theirs / "keep.md").write_text("mine")
    with pytest.raises(ValueError, match=r"--source .*notes is not empty and not a folder this script built"):
        script.empty_folder(theirs, "--source", script.SOURCE_MARK)
    assert (theirs / "keep.md").read_text() == "mine"
    with pytest.raises(ValueError, match="--out"):
        script.empty_folder(ROOT, "--out", ".buildinfo")
    ours = tmp_path / "site"
    ours.mkdir()
    (ours / ".buildinfo").write_text("")
    (ours / "old-page.html").write_text("a page of a deleted document")
    script.empty_folder(ours, "--out", ".buildinfo")
    assert ours.is_dir() and not any(ours.iterdir())
    script.empty_folder(tmp_path / "new" / "site", "--out", ".buildinfo")
    assert (tmp_path / "new" / "site").is_dir()
