"""The wheel is a package a student can install anywhere: it carries every lesson and data set.

Built with ``python -m build`` from a copy of the project's files, installed into a fresh virtual
environment, used from a folder that is not the project's. The environment borrows the
dependencies (TensorFlow and the rest) of the one running the tests through a path file, so
nothing is downloaded; the package itself comes only from the wheel. Nothing trains.
"""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _project_files() -> list[str]:
    """The files a fresh clone has: tracked, or new and not ignored (links kept as links)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and os.path.lexists(ROOT / name)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(wheel, python of the fresh environment, a working folder outside the project, the copy of
    the project the wheel was built from)``."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    for name in _project_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_symlink():
            target.symlink_to(os.readlink(ROOT / name))
        else:
            target.write_bytes((ROOT / name).read_bytes())
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                            "--outdir", str(base / "dist"), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (base / "dist").glob("lstm_lessons-*-py3-none-any.whl")
    env = base / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    installing = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                 "--no-deps", "--no-index", "--quiet", str(wheel)],
                                capture_output=True, text=True, timeout=600)
    assert installing.returncode == 0, installing.stderr
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies, after the environment's own site-packages: a plain path line, so this
    # environment's editable-install finder (a .pth of its own) is not run there.
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    work = base / "somewhere"
    work.mkdir()
    return wheel, python, work, source


def _run(work: Path, *command) -> subprocess.CompletedProcess:
    """``command`` run in ``work`` with only the fresh environment's commands on the path."""
    environment = {"PATH": f"{Path(command[0]).parent}:/usr/bin:/bin", "HOME": str(work)}
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=work,
                          env=environment, timeout=600)


@pytest.mark.slow
def test_the_wheel_carries_the_lessons_and_the_data_and_nothing_of_the_instructors(installed):
    wheel, _, _, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    lessons = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    data = sorted(p.name for p in (ROOT / "data").iterdir())
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("lstm_lessons/course/notebooks/")) \
        == lessons
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("lstm_lessons/course/data/")) == data
    outside = ("solutions", "tests", "benchmarks", "notebooks", "data")
    assert not [n for n in names if n.split("/")[0] in outside]


@pytest.mark.slow
def test_from_the_wheel_every_data_set_and_lesson_loads_from_any_folder(installed):
    _, python, work, source = installed
    run = _run(work, python, "-c", textwrap.dedent("""
        import inspect, json, sys
        from pathlib import Path
        import nbformat
        import lstm_lessons as ll
        from lstm_lessons import data, runner
        from lstm_lessons.instructor.integrity import PackageSnapshot
        loaders = {name: f() for name, f in inspect.getmembers(data, inspect.isfunction)
                   if name.startswith("load_")}
        lessons = runner.available_lessons()
        for path in lessons.values():
            nbformat.validate(nbformat.read(path, as_version=4))
        print(json.dumps({"package": ll.__file__, "prefix": sys.prefix, "data": str(data.DATA_DIR),
                          "files": sorted(str(data.data_path(name)) for name in data.SHA256),
                          "loaders": sorted(loaders), "lessons": list(lessons),
                          "lesson_keys": ll.lessons.keys(), "checksum": PackageSnapshot.take().checksum}))
    """))
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    prefix = Path(seen["prefix"])
    assert Path(seen["package"]).is_relative_to(prefix)   # the wheel's copy, not the checkout's
    assert Path(seen["data"]).is_relative_to(prefix)
    assert len(seen["files"]) == 5 and all(Path(f).is_relative_to(prefix) for f in seen["files"])
    assert seen["loaders"] == ["load_co2", "load_italy_power_demand", "load_japanese_vowels", "load_msft",
                               "load_sunspots"]
    assert seen["lessons"] == seen["lesson_keys"] == sorted(
        p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    # The grader's package checksum is the same from the wheel as from the checkout it was built
    # from: a cluster's workers may install either (lstm_lessons.instructor.cluster).
    from lstm_lessons.instructor.integrity import PackageSnapshot
    assert seen["checksum"] == PackageSnapshot.take(source / "lstm_lessons").checksum


@pytest.mark.slow
def test_fetch_lessons_copies_the_notebooks_out_of_the_wheel_and_keeps_a_students_copy(installed):
    _, python, work, _ = installed
    (work / "mine").mkdir()
    (work / "mine" / "01_learning_rate_oscillation.ipynb").write_text("my work")
    run = _run(work, python.parent / "lstm-lessons", "fetch-lessons", "mine")
    assert run.returncode == 0, run.stderr
    assert (work / "mine" / "01_learning_rate_oscillation.ipynb").read_text() == "my work"
    assert "kept mine/01_learning_rate_oscillation.ipynb" in run.stdout
    for lesson in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))[1:]:
        assert (work / "mine" / lesson.name).read_bytes() == lesson.read_bytes()
    listed = _run(work, python.parent / "lstm-lessons", "list")
    assert listed.stdout.split() == sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
