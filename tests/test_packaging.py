"""The install files agree with each other, and the notebooks follow the course conventions."""

import re
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

from lstm_lessons.claims import CLAIM_MIME, read_claim_records
from lstm_lessons.runner import available_lessons

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9][0-9.]*)?")


def _parse(requirements):
    parsed = {}
    for text in requirements:
        match = REQUIREMENT.match(text.strip())
        parsed[match.group(1).lower()] = (match.group(2) or "").replace(" ", "")
    return parsed


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _parse(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = _parse(d for d in conda if not d.startswith(("python", "pip")))
    assert listed == wanted
    assert "conda-forge" in env["channels"]
    assert "python=3.11" in conda
    assert any("--editable" in p and ".[dev]" in p for p in pip)


def test_runtime_dependencies_have_lower_bounds():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement, bound in _parse(project["dependencies"]).items():
        assert bound.startswith(">="), f"{requirement} has no lower bound"
    assert _parse(project["dependencies"])["tensorflow"] == ">=2.16"


LESSONS = list(available_lessons().values())


def test_there_is_at_least_one_lesson():
    assert LESSONS


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_conventions(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be tagged"
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    # papermill.parameterize_notebook (used on solutions) reads every cell's tags: a cell added
    # by hand after the last execution has none. Re-execute with `make notebooks`.
    untagged = [i for i, c in enumerate(nb.cells) if "tags" not in c.metadata]
    assert untagged == [], f"cells without metadata.tags: {untagged}"
    # Committed executed, with figures, no errors, and verdict cells recording claims.
    assert all(c.execution_count is not None for c in code)
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    checked = [c for c in code if "# NBVAL_CHECK_OUTPUT" in c.source]
    # nbval compares the verdict lines with their numbers masked, never the raw record: that lives
    # in the output's metadata, which nbval does not compare.
    assert checked and all(any(CLAIM_MIME in o.get("metadata", {}) for o in c.outputs) for c in checked)
    assert not any(CLAIM_MIME in o.get("data", {}) for c in checked for o in c.outputs)
    # The validation helper runs before any training.
    # (Keras's fit, or a lesson module's train / train_many, which call it.)
    first_fit = next(i for i, c in enumerate(code) if re.search(r"\.fit\(|\.train(_many)?\(", c.source))
    first_check = next(i for i, c in enumerate(code) if "validate_parameters" in c.source)
    assert first_check < first_fit
    # Readers see only what the lesson means to show: no standard error at all (TensorFlow's
    # start-up lines, font fallbacks, warnings). A lesson that shows an error catches and prints it.
    stderr = ["".join(o.get("text", "")) for c in code for o in c.outputs if o.get("name") == "stderr"]
    assert stderr == [], stderr[:3]
    # Only public names: `import lstm_lessons as ll`, `ll.<module>`, `ll.keras`.
    private = [c.source for c in code if re.search(r"lstm_lessons\._|\bll\._", c.source)]
    assert private == [], private


def test_data_folder_has_every_file_and_a_readme():
    from lstm_lessons.data import SHA256

    readme = (ROOT / "data" / "README.md").read_text()
    for name in SHA256:
        assert (ROOT / "data" / name).is_file()
        assert f"| `{name}` |" in readme


def test_the_handout_has_the_lessons_package_and_data_and_no_solutions(tmp_path):
    import shutil
    import subprocess
    import tarfile

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("make handout archives the last commit: needs git and a clone")
    run = subprocess.run(["make", "--no-print-directory", "handout", f"OUT={tmp_path}"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    with tarfile.open(tmp_path / "lstm-lessons-handout.tar.gz") as archive:
        names = set(archive.getnames())
        links = {m.name: m.linkname for m in archive.getmembers() if m.issym()}
    # The package finds its lessons and data through its course/ links, as in a clone.
    assert links == {"lstm-lessons/lstm_lessons/course/notebooks": "../../notebooks",
                     "lstm-lessons/lstm_lessons/course/data": "../../data"}
    for required in ("README.md", "LICENSE", "Makefile", "pyproject.toml", "environment.yml",
                     "lstm_lessons/instructor/grader.py", "data/README.md", "data/SHA256SUMS",
                     "constraints.txt",
                     *(f"notebooks/{p.name}" for p in LESSONS)):
        assert f"lstm-lessons/{required}" in names, required
    for withheld in ("solutions", "tests", ".ci"):
        assert not any(n.startswith(f"lstm-lessons/{withheld}/") for n in names), withheld
    # Of benchmarks/, only the measured results the guides link to (no script, no stored margins).
    benchmarks = {n for n in names if n.startswith("lstm-lessons/benchmarks/")}
    assert "lstm-lessons/benchmarks/results/README.md" in benchmarks
    assert all(n.startswith("lstm-lessons/benchmarks/results") for n in benchmarks)


def test_the_version_is_kept_once_and_the_installed_metadata_agrees():
    from importlib.metadata import version

    import lstm_lessons

    assert "version =" not in (ROOT / "pyproject.toml").read_text().split("[project]")[1].split("\n[")[0]
    assert version("lstm-lessons") == lstm_lessons.__version__


def test_constraints_pin_every_requirement_within_pyprojects_ranges():
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = [Requirement(r) for r in [*project["dependencies"],
                                         *[r for extra in project["optional-dependencies"].values()
                                           for r in extra]]]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    for requirement in required:
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pinned), (requirement, pinned)
    # The Makefile installs with them, and the hand-out carries them.
    assert "--constraint constraints.txt" in (ROOT / "Makefile").read_text()


MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_is_a_front_door_and_every_guides_link_resolves():
    readme = ROOT / "README.md"
    assert len(readme.read_text().splitlines()) <= 150
    pages = [readme, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted((ROOT / "benchmarks" / "results").glob("*.md"))]
    broken = []
    for page in pages:
        for target in MARKDOWN_LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []
    # One evidence page a lesson, made by benchmarks/claims_margin.py --pages, not by hand, with a
    # row for every claim the committed notebook records (a renamed or new claim needs a new page).
    for lesson in LESSONS:
        page = (ROOT / "docs" / "evidence" / f"{lesson.stem}.md").read_text()
        assert "Generated by `benchmarks/claims_margin.py" in page
        table = page.split("| claim | held |", 1)[1].split("\n\n", 1)[0]
        claims = {line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("|")}
        assert claims == set(read_claim_records(nbformat.read(lesson, as_version=4))), lesson.stem


def test_no_docstring_names_our_issues_or_the_date_of_a_measurement():
    import ast

    # The data sets end in 2017; a later date in a docstring is when something was measured.
    stale = re.compile(r"\b[Ii]ssues? #?\d+\b|\b20(2[5-9]|[3-9]\d)-\d\d-\d\d\b")
    found = []
    for path in sorted((ROOT / "lstm_lessons").rglob("*.py")):
        tree = ast.parse(path.read_text())
        # A string standing alone as a statement: the docstring of a module, class or function,
        # or of an attribute (the string after an assignment).
        for node in ast.walk(tree):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in stale.finditer(node.value.value)]
    assert found == []
