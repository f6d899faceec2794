"""Every lesson in a real JupyterLab, in a real Chromium, driven by Playwright as a student would.

``make test-lab`` (and ``make test``) starts JupyterLab from this environment on a free loopback
port with a token, opens each lesson (a copy, its stored outputs removed so that everything
seen comes from this run, with seed :data:`SEED` set by papermill's injected-parameters cell),
chooses *Run > Run All Cells* from the menu and waits for every cell. In lesson 01 it watches
the first training cell while it runs: the cell's live view (``ll.live``) must change between
screenshots taken while the cell still runs, and hold one image at the end. It fails if a cell shows
an error or anything on standard error, if a claim reads anything but ``[holds]``, or if a cell
never finishes. It then types the reference answer of the lesson's first exercise into its
cell, runs the cell and its check with Shift+Enter, and waits for the feedback with full
points. A screenshot of each lesson goes to ``build/lab/``.

Chromium: the operating system's (``chromium`` on Debian and Ubuntu) when present, else
Playwright's own download. With neither, the test fails and says how to install one; it
never skips. This is the third and last whole-lesson execution in the suite, the one that
checks the claims for seed 3 (see ``test_lessons_over_seeds.py``). Lesson 01's run here also
leaves the ``CSVLogger`` files that ``lstm-lessons doctor`` is tested on.
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from papermill.parameterize import parameterize_notebook

from lstm_lessons.instructor import load_solution
from lstm_lessons.instructor.solutions import exercise_cells
from lstm_lessons.live import LIVE_ENV
from lstm_lessons.runner import available_lessons

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "lab"
LESSONS = sorted(available_lessons())
SEED = 3
"""The seed every lesson runs with here: nbval runs seed 1 and the grader seed 2, so each of the
three executions of a lesson checks its claims for another seed."""
LESSON_SECONDS = 600
"""How long Run All may take before the cells still running count as never finishing (the
lessons take under a minute headlessly; the browser adds little)."""
LIVE_CELLS = {"01_learning_rate_oscillation": 'll.live.LiveView("Too-high learning rate"'}
"""The training cell of a lesson whose live view is watched while it runs (a text in its source)."""
LIVE_SHOTS = 2
"""Different screenshots of the live view, each taken while its cell runs, that make it live (a
redraw every 2.5 s or so, during a fit of 7 s or more)."""
CHECK_SECONDS = 300
"""How long an exercise check may take to show its feedback (they train for 3 to 25 s)."""
SETTINGS = {
    # Every cell in the page, so that each cell's prompt and outputs can be read (JupyterLab 4
    # otherwise leaves cells outside the viewport out of the DOM).
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # No request to the news feed from a test machine, and no toast asking about it.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving copies of the lessons without their outputs:
    ``(base url, token, folder)``. Stopped (with its kernels) at the end of the module."""
    home = tmp_path_factory.mktemp("lab")
    folder = home / "notebooks"
    folder.mkdir()
    for lesson, path in available_lessons().items():
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(parameterize_notebook(notebook, {"seed": SEED}), folder / f"{lesson}.ipynb")
    for name, values in SETTINGS.items():
        (home / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "settings" / name).write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, LIVE_ENV: "live",         # a student watches: views redraw while they train
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "config")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={folder}", "--allow-root"]
    log = open(home / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (home / "jupyterlab.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "JupyterLab did not answer within 120 s"
            time.sleep(0.5)
        yield base, token, folder
    finally:
        server.terminate()           # JupyterLab shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def prompts(page) -> list[str]:
    """The execution prompt of every code cell, in order: ``"[3]:"``, ``"[*]:"`` or ``"[ ]:"``."""
    return [p.strip() for p in page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def run_all_from_the_menu(page) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def kernel_idle(page) -> bool:
    """The status bar names a kernel and says it is idle ("Python 3 (ipykernel) | Idle"; while
    the notebook loads it says "No Kernel | Initializing")."""
    return page.get_by_text(re.compile(r"^(?!No Kernel).+ \| Idle$")).count() > 0


def wait_until_ready(page, n_code_cells: int, seconds: float) -> None:
    """Wait until every code cell is on the page and the notebook's kernel is idle."""
    deadline = time.monotonic() + seconds
    while not (len(prompts(page)) == n_code_cells and kernel_idle(page)):
        assert time.monotonic() < deadline, (f"the notebook was not ready within {seconds:g} s: "
                                             f"{len(prompts(page))} of {n_code_cells} code cells shown")
        page.wait_for_timeout(500)


def watch_live_view(page, position: int, seconds: float) -> list[bytes]:
    """Screenshots, about a second apart, of the outputs of the cell at ``position`` taken while
    it runs (its prompt ``[*]`` before and after each), until it stops running; the distinct
    ones, in order."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(position)
    prompt, image = cell.locator(".jp-InputPrompt"), cell.locator(".jp-OutputArea-output img")
    deadline = time.monotonic() + seconds
    while prompt.inner_text().strip() != "[*]:" or image.count() == 0:   # running, first image shown
        assert time.monotonic() < deadline, f"cell {position} never showed its live view while running"
        assert not re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()), \
            f"cell {position} finished before its live view was seen while it ran"
        page.wait_for_timeout(200)
    shots: list[bytes] = []
    while time.monotonic() < deadline:
        shot = cell.locator(".jp-Cell-outputArea").screenshot()
        if prompt.inner_text().strip() != "[*]:":
            break
        if not shots or shot != shots[-1]:
            shots.append(shot)
        page.wait_for_timeout(1000)
    return shots


def wait_for_every_cell(page, n_code_cells: int, seconds: float) -> list[str]:
    """Wait until every code cell has run (a number in its prompt) and the kernel is idle;
    returns the prompts, with the unfinished ones still ``[*]`` or ``[ ]`` if time ran out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shown = prompts(page)
        if len(shown) == n_code_cells and all(re.fullmatch(r"\[\d+\]:", p) for p in shown) \
                and kernel_idle(page):
            return shown
        page.wait_for_timeout(1000)
    return prompts(page)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_jupyterlab_and_its_exercise_gets_feedback(lab, browser, lesson):
    base, token, folder = lab
    notebook = nbformat.read(folder / f"{lesson}.ipynb", as_version=4)
    n_code = sum(c.cell_type == "code" for c in notebook.cells)
    exercise, cell = next(iter(exercise_cells(notebook).items()))
    position = notebook.cells.index(cell)
    answer = load_solution(lesson)[exercise]

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        # `reset`: a clean workspace, not the previous lesson's tabs restored.
        page.goto(f"{base}/lab/tree/{lesson}.ipynb?reset&token={token}")
        wait_until_ready(page, n_code, 120)
        # papermill's injected-parameters cell, below the lesson's own (which says seed = 1)
        injected = page.locator(".jp-Notebook .jp-CodeCell", has_text=f"seed = {SEED}")
        assert injected.count() == 1, f"no cell sets seed = {SEED}"

        run_all_from_the_menu(page)
        if lesson in LIVE_CELLS:
            live = next(i for i, c in enumerate(notebook.cells) if LIVE_CELLS[lesson] in c.source)
            shots = watch_live_view(page, live, LESSON_SECONDS)
            assert len(shots) >= LIVE_SHOTS, f"{len(shots)} different views while the cell ran"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for k, shot in enumerate(shots[:LIVE_SHOTS]):
                (SCREENSHOTS / f"{lesson}-live-{k + 1}.png").write_bytes(shot)
        shown = wait_for_every_cell(page, n_code, LESSON_SECONDS)
        unfinished = [i for i, p in enumerate(shown) if not re.fullmatch(r"\[\d+\]:", p)]
        assert not unfinished, f"code cells {unfinished} never finished within {LESSON_SECONDS} s: {shown}"

        if lesson in LIVE_CELLS:    # the live view ends as one image, not one per redraw
            images = page.locator(".jp-Notebook .jp-Cell").nth(live).locator(".jp-OutputArea-output img")
            assert images.count() == 1, f"the live view's cell holds {images.count()} images"
        # What the student sees: no error, nothing on standard error, and every claim holds.
        red = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert red.count() == 0, red.all_inner_texts()[:3]
        outputs = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        verdicts = re.findall(r"^\[(\w+)\] (\w+):", outputs, flags=re.MULTILINE)
        assert {"symptom_reproduced", "fix_verified"} <= {name for _, name in verdicts}, verdicts
        assert all(verdict == "holds" for verdict, _ in verdicts), verdicts

        # The first exercise: type the reference answer, run the cell and its check.
        cells = page.locator(".jp-Notebook .jp-Cell")
        editor = cells.nth(position).locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(answer)
        assert editor.inner_text().split() == answer.split()
        page.keyboard.press("Shift+Enter")          # runs the answer, selects the check below
        page.keyboard.press("Shift+Enter")          # runs the check
        pattern = re.compile(rf"\[exercise {exercise}\] \d+/\d+ points")
        feedback = cells.nth(position + 1).locator(".jp-OutputArea-output", has_text=pattern)
        feedback.wait_for(timeout=CHECK_SECONDS * 1000)
        points = re.search(r"(\d+)/(\d+) points", feedback.inner_text())
        assert points and points.group(1) == points.group(2), feedback.inner_text()
        assert red.count() == 0, red.all_inner_texts()[:3]

        feedback.scroll_into_view_if_needed()
    finally:                                        # the screenshot also shows where a failure stopped
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{lesson}.png"))
        page.close()


@pytest.mark.slow
def test_doctor_command_reads_the_csvlogger_files_lesson_01_wrote_in_jupyterlab(lab):
    # Lesson 01 (run above, from JupyterLab) logs its two runs with Keras's CSVLogger into
    # logs/ beside the notebook; a student then asks the doctor about them from a terminal.
    _, _, folder = lab
    logs = folder / "logs"
    assert (logs / "01_failing.csv").is_file(), "lesson 01 did not run in JupyterLab (see its test)"
    doctor = [sys.executable, "-m", "lstm_lessons", "doctor"]
    failing = subprocess.run([*doctor, str(logs / "01_failing.csv")], capture_output=True, text=True)
    assert failing.returncode == 1, failing.stderr
    findings = [line.split(" from epoch")[0] for line in failing.stdout.splitlines()[1:]]
    assert "- unstable_training" in findings, failing.stdout   # the lesson's claim for every seed
    fixed = subprocess.run([*doctor, str(logs / "01_fixed.csv"), "--json"], capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stdout
    assert '"healthy": true' in fixed.stdout
