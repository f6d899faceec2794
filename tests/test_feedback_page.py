"""A feedback page runs nothing from the hand-in and loads nothing from anywhere.

Each page is opened for real in Chromium (Playwright): the feedback page of a hand-in made of
the ways a page once ran a hand-in's script (a ```` ```mermaid ```` block, an output's ``width``
written into its ``<img>``, notebook ``widgets`` metadata that loads modules), of HTML and
JavaScript in cells and outputs, and of every hand-in of the grader's corpus. Every payload
sets ``window.pwned`` and calls a server on 127.0.0.1; none may do either, no dialog may open,
and no request may leave the page. Nothing trains: the pages are made from the notebooks as
they are (``feedback_html``), as the grader makes them after a run.
"""

import base64
import http.server
import threading
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from lstm_lessons.instructor.report import CONTENT_SECURITY_POLICY, Grade, feedback_html

CORPUS = Path(__file__).resolve().parent / "grading_corpus"
LESSON = "01_learning_rate_oscillation"
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


@pytest.fixture
def server():
    """A server on 127.0.0.1 that counts the requests it gets."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/javascript")
            self.end_headers()
            self.wfile.write(b"window.pwned = 'loaded from the server';")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", received
    httpd.shutdown()


def attack(url: str) -> nbformat.NotebookNode:
    """A hand-in whose every part tries to run a script or load something in the page."""
    run = f"window.pwned='{{}}';fetch('{url}/{{}}')"
    cells = [
        new_markdown_cell("```mermaid\n</pre><img src=x onerror=\"" + run.format("mermaid", "mermaid")
                          + "\">\n```"),
        new_markdown_cell(f"<script>{run.format('markdown', 'markdown')}</script>"
                          f"<img src=x onerror=\"{run.format('md-img', 'md-img')}\">"
                          " [link](javascript:alert(1))"),
        new_raw_cell(f"<script>{run.format('raw', 'raw')}</script>"),
        new_code_cell("show()", outputs=[
            new_output("display_data", data={"image/png": PNG, "text/plain": "a plot"},
                       metadata={"image/png": {"width": f"1 onload={run.format('width', 'width')}",
                                               "height": "1"},
                                 "width": f"1 onload={run.format('top-width', 'top-width')}"}),
            new_output("display_data", data={
                "text/html": f"<script>{run.format('html', 'html')}</script>"
                             f"<img src=x onerror=\"{run.format('html-img', 'html-img')}\">"
                             f"<iframe src='{url}/iframe'></iframe><link rel=stylesheet href='{url}/css'>",
                "application/javascript": run.format("js", "js"), "text/plain": "html"}),
            new_output("stream", text=f"<script>{run.format('stream', 'stream')}</script>")]),
    ]
    notebook = new_notebook(cells=cells)
    notebook.metadata.lstm_lessons = {"lesson": LESSON}
    notebook.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": {"w": {"model_name": "Evil", "model_module": f"{url}/widget.js", "model_module_version": "1",
                        "state": {}}}}}
    return notebook


def pages(tmp_path, url) -> dict[str, Path]:
    """The feedback page of the attack and of each corpus hand-in, as files."""
    grade = Grade("hand-in", LESSON, "graded", "ran to the end", {"01-stable-learning-rate": 0}, 0, 2)
    notebooks = {"attack": attack(url)}
    for path in sorted(CORPUS.glob("*.ipynb")):
        try:
            notebooks[path.stem] = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - a file that is no notebook has a page without one
            notebooks[path.stem] = None
    written = {}
    for name, notebook in notebooks.items():
        written[name] = tmp_path / f"{name}.html"
        written[name].write_text(feedback_html(grade, notebook))
    return written


def test_no_feedback_page_runs_a_script_or_loads_anything(tmp_path, browser, server):
    url, received = server
    found = pages(tmp_path, url)
    assert len(found) == len(list(CORPUS.glob("*.ipynb"))) + 1
    for name, path in found.items():
        text = path.read_text()
        assert f'content="{CONTENT_SECURITY_POLICY}"' in text[:600], name   # first in <head>
        page = browser.new_page()
        requests, dialogs = [], []
        page.on("request", lambda request, requests=requests: requests.append(request.url))
        page.on("dialog", lambda dialog, dialogs=dialogs: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        pwned = page.evaluate("() => window.pwned === undefined ? null : String(window.pwned)")
        shown = page.inner_text("body")
        page.close()
        assert pwned is None, (name, pwned)
        assert dialogs == [], (name, dialogs)
        left = [r for r in requests if not r.startswith(("file://", "data:"))]
        assert left == [], (name, left)
        assert "Grader feedback: hand-in" in shown, name
    assert received == []
    # The attack's words are on its page, as text: shown, not run.
    shown_as_text = found["attack"].read_text().replace("&lt;", "<").replace("&gt;", ">")
    assert "</pre><img src=x onerror=" in shown_as_text
