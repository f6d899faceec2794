"""Shared fixtures. TensorFlow-heavy tests import it lazily so the fast tests stay fast."""

import functools
import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# No one watches the lessons nbval and the grader run here: each live view is drawn once, at its
# end, as `lstm-lessons run` does (the same image as redrawn live: tests/test_live.py). The
# JupyterLab test sets it back to "live" for its server.
os.environ.setdefault("LSTM_LESSONS_LIVE", "final")
# `make test` runs two pytest-xdist workers: each worker, and the kernels, graders and lessons it
# starts, gives TensorFlow its share of the cores instead of all of them (see ll.cores).
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    from lstm_lessons.cores import tensorflow_threads

    os.environ.update(tensorflow_threads(int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))

ROOT = Path(__file__).resolve().parent.parent
# The doctor's labelled synthetic histories live with the benchmark that scores them.
sys.path.insert(0, str(ROOT / "benchmarks"))

# The fake hand-ins are inputs of the grader's tests, not notebooks for nbval to run.
collect_ignore = ["grading_corpus"]

LONGEST_FIRST = ("tests/test_lab.py", "tests/test_lessons_over_seeds.py", "notebooks/")
"""The files that execute whole lessons, longest first (see :func:`pytest_collection_modifyitems`)."""


def pytest_collection_modifyitems(items):
    """Run the files that execute whole lessons first, the JupyterLab test and the seeds first of
    all, and the short files last. ``make test`` gives pytest-xdist ``--dist loadfile
    --no-loadscope-reorder``, so the workers take whole files in this order: a worker that
    finishes early then finds short files to fill its time, instead of the other worker
    starting a 15-minute file at the end (xdist's own order, by number of tests, put them last).
    The sort is stable: the order inside a file (a notebook's cells) is kept."""
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
                    len(LONGEST_FIRST))

    items.sort(key=rank)


@functools.cache
def sandbox_problem() -> str | None:
    """Why this machine cannot grade in the bubblewrap sandbox (``None`` when it can)."""
    from lstm_lessons.instructor.sandbox import SandboxUnavailable, find_sandbox

    try:
        find_sandbox()
    except SandboxUnavailable as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def sandbox():
    """Use in a test that needs the sandbox. Without one, the test is skipped with the reason
    (how to install bwrap); with ``CI`` set it fails instead: CI must test the sandbox."""
    problem = sandbox_problem()
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI must run the sandbox tests: {problem}")
    if problem:
        pytest.skip(f"sandbox test skipped: {problem}")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A copy of the project's data folder that a test may damage."""
    import shutil

    from lstm_lessons import data

    copy = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, copy)
    monkeypatch.setattr(data, "DATA_DIR", copy)
    return copy


@pytest.fixture
def package_guard():
    """The corpus's edits_package attacks lesson 01's check in this repository: make sure it is
    back as it was afterwards, whatever the grader did (and fail if the grader did not)."""
    from lstm_lessons.instructor import integrity

    path = integrity.PACKAGE_DIR / "lessons" / "lesson01_learning_rate_oscillation" / "exercises.py"
    original = path.read_bytes()
    yield
    restored_by_grader = path.read_bytes() == original
    path.write_bytes(original)
    assert restored_by_grader, "the grader left lesson 01's exercises.py edited"


# --- Chromium under Playwright (the JupyterLab test, the feedback pages' test) -----------------

INSTALL_HELP = ("No Chromium for the browser tests. Install the operating system's package "
                "(Debian/Ubuntu: `sudo apt-get install chromium`) or Playwright's own browser "
                "(`.venv/bin/playwright install chromium`), then run the tests again.")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def system_chromium() -> str | None:
    """The operating system's Chromium or Chrome, if one is on the PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    """Chromium under Playwright: the system's when present, else Playwright's download."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        executable = system_chromium()
        try:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                                  args=CHROMIUM_FLAGS)
        except Error as error:
            pytest.fail(f"{INSTALL_HELP}\n(Chromium at {executable or 'Playwright default'} failed to start: "
                        f"{str(error).splitlines()[0]})")
        yield chromium
        chromium.close()
