"""The course website: ``make site``'s build, opened in a real Chromium.

The site is built once (``website/build.py``, the code of ``make site``, strict) from the committed
notebooks into a temporary folder, without a network (so nothing is downloaded at build time),
served by a static file server on 127.0.0.1 and opened with Playwright: the landing page and
every lesson page load with no console error and no failed request, every figure is a loaded
image, search finds a lesson by a word of its title, and the landing page also works from
``file://``. Every internal link of every page is checked on disk. Screenshots of the landing
page and one lesson go to ``build/site-shots/``. No lesson is executed.
"""

import functools
import html
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import nbformat
import pytest

from lstm_lessons.runner import available_lessons

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "site-shots"
LESSONS = sorted(available_lessons())
SHOWN_LESSON = "07_padding_and_masking"
"""The lesson whose page is photographed, and which search must find by a word of its title."""


def offline() -> list[str]:
    """The command prefix that runs a command without a network: a bubblewrap network namespace
    with nothing in it but loopback (``bwrap --unshare-net``), the filesystem as it is. CI must
    have bubblewrap (.ci/run installs it); elsewhere, without it, the build runs online."""
    bwrap = shutil.which("bwrap")
    if bwrap is None and os.environ.get("CI"):
        pytest.fail("CI must build the site without a network, in bubblewrap: install bubblewrap")
    return [bwrap, "--unshare-user", "--unshare-net", "--dev-bind", "/", "/", "--"] if bwrap else []


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site's folder, built without a network: nothing may be downloaded."""
    folder = tmp_path_factory.mktemp("website")
    out = folder / "site"
    build = subprocess.run([*offline(), sys.executable, str(ROOT / "website" / "build.py"), "--out", str(out),
                            "--source", str(folder / "source")], capture_output=True, text=True)
    assert build.returncode == 0, f"the site's build failed:\n{build.stdout}\n{build.stderr}"
    assert build.stderr == "", f"the build printed warnings:\n{build.stderr}"
    return out


@pytest.fixture(scope="module")
def served(site):
    """The site's address on a static file server (the standard library's) on 127.0.0.1."""
    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Links(HTMLParser):
    """The ``href`` and ``src`` of a page, and the ``id`` of its elements."""

    def __init__(self):
        super().__init__()
        self.targets, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) and tag in ("a", "img", "link", "script"):
                self.targets.append(attrs[name])


@functools.cache
def parsed(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


def test_every_internal_link_of_every_page_resolves(site):
    # _static/ holds the theme's Jinja macros as .html files: templates, not pages.
    pages = sorted(page for page in site.rglob("*.html") if "_static" not in page.relative_to(site).parts)
    assert len(pages) > 50, f"only {len(pages)} pages were built"
    broken = []
    for page in pages:
        for target in parsed(page).targets:
            parts = urlsplit(target)
            if parts.scheme or target.startswith("//"):
                continue  # an external address: not checked (no network in the tests)
            path, fragment = urldefrag(parts.path + ("#" + parts.fragment if parts.fragment else ""))
            file = (page.parent / unquote(path)).resolve() if path else page
            if file.is_dir():
                file = file / "index.html"
            if not file.is_file() or not file.is_relative_to(site):
                broken.append(f"{page.relative_to(site)}: {target} (no such file)")
            elif fragment and file.suffix == ".html" and unquote(fragment) not in parsed(file).ids:
                broken.append(f"{page.relative_to(site)}: {target} (no element with that id)")
    assert not broken, f"{len(broken)} broken links, the first ones:\n" + "\n".join(broken[:20])


def test_the_lessons_come_in_order_with_previous_and_next(site):
    pages = [site / "notebooks" / f"{key}.html" for key in LESSONS]
    for page, following in zip(pages[:-1], pages[1:], strict=True):
        html = page.read_text(encoding="utf-8")
        found = re.search(r'<a class="right-next"\s+href="([^"]+)"', html)
        assert found and found[1] == following.name, f"{page.name}: the next page is {found and found[1]}"
        back = re.search(r'<a class="left-prev"\s+href="([^"]+)"', following.read_text(encoding="utf-8"))
        assert back and back[1] == page.name, f"{following.name}: the previous page is {back and back[1]}"


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


def test_the_landing_page_shows_every_lesson_with_its_line_and_its_figure(site):
    page = (site / "index.html").read_text(encoding="utf-8")
    shown = plain(page)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for key in LESSONS:
        notebook = nbformat.read(ROOT / "notebooks" / f"{key}.ipynb", as_version=4)
        title = notebook.cells[0].source.splitlines()[0]
        assert plain(title.removeprefix("# ")) in shown, f"the landing page lacks {key}'s title"
        line = re.search(rf"^\| \[{key}\]\([^)]*\) \| ([^|]+) \|", readme, re.MULTILINE)[1]
        assert plain(line.replace("`", "")) in shown, f"the landing page lacks {key}'s line from the README"
        assert f'href="notebooks/{key}.html"' in page, f"the landing page has no link to {key}"
    figures = re.findall(r'<img[^>]+alt="a figure of lesson (\d\d)"', page)
    assert figures == [key[:2] for key in LESSONS], figures


def watch(page) -> list[str]:
    """Collect what goes wrong on ``page`` from now on: console errors, failed requests, HTTP errors."""
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    return problems


def test_the_landing_page_and_every_lesson_load_in_chromium(served, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = watch(page)
    addresses = ["index.html", *(f"notebooks/{key}.html" for key in LESSONS)]
    for address in addresses:
        page.goto(f"{served}/{address}", wait_until="load")
        page.wait_for_load_state("networkidle")
        images = page.eval_on_selector_all(
            "article img", "images => images.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
        assert images, f"{address} shows no image"
        bad = [src for src, complete, width in images if not complete or width == 0]
        assert not bad, f"{address}: images not loaded: {bad}"
        if address == "index.html":
            page.screenshot(path=SHOTS / "landing.png")
        if address == f"notebooks/{SHOWN_LESSON}.html":
            page.screenshot(path=SHOTS / f"{SHOWN_LESSON}.png")
    page.close()
    assert not problems, "\n".join(problems)


def search(page, address: str) -> list[str]:
    """The result links of the site's search page at ``address`` (a ``search.html?q=...``)."""
    page.goto(address)
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for(timeout=20_000)
    return results.evaluate_all("links => links.map(a => a.getAttribute('href'))")


def finds(links: list[str], key: str) -> bool:
    return any(link.split("?")[0].endswith(f"notebooks/{key}.html") for link in links)


def test_search_finds_a_lesson_by_a_word_of_its_title(served, browser):
    page = browser.new_page()
    problems = watch(page)
    found = search(page, f"{served}/search.html?q=masking")
    page.close()
    assert finds(found, SHOWN_LESSON), found
    assert not problems, "\n".join(problems)


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
