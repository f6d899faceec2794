"""The grader's snapshot of its own package: changes are found, named and undone."""

import os

import pytest

from lstm_lessons.instructor.integrity import PACKAGE_DIR, PackageSnapshot


@pytest.fixture
def package(tmp_path):
    root = tmp_path / "pkg"
    (root / "grading").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "grading" / "__init__.py").write_text("")
    (root / "grading" / "lesson01.py").write_text("def verify(answer):\n    return answer == 0.01\n")
    (root / "grading" / "__pycache__").mkdir()
    (root / "grading" / "__pycache__" / "lesson01.cpython-311.pyc").write_bytes(b"compiled")
    return root


def test_an_untouched_package_has_no_changes_and_restore_writes_nothing(package):
    snapshot = PackageSnapshot.take(package)
    before = (package / "grading" / "lesson01.py").stat().st_mtime_ns
    assert snapshot.changes() == [] and snapshot.restore() == []
    assert (package / "grading" / "lesson01.py").stat().st_mtime_ns == before
    assert (package / "grading" / "__pycache__").is_dir()       # kept without bytecode=True


def test_edited_added_removed_and_shadowing_files_are_named_and_undone(package):
    snapshot = PackageSnapshot.take(package)
    original = (package / "grading" / "lesson01.py").read_text()
    (package / "grading" / "lesson01.py").write_text("def verify(answer):\n    return True\n")
    (package / "grading" / "lesson01").mkdir()                          # shadows lesson01.py
    (package / "grading" / "lesson01" / "__init__.py").write_text("def verify(answer):\n    return True\n")
    (package / "__init__.py").unlink()
    (package / "evil.py").symlink_to(package / "grading" / "lesson01.py")
    found = snapshot.changes()
    assert found == ["removed __init__.py", "added evil.py", "added grading/lesson01",
                     "changed grading/lesson01.py"]
    assert snapshot.restore() == found and snapshot.changes() == []
    assert (package / "grading" / "lesson01.py").read_text() == original
    assert not (package / "grading" / "lesson01").exists() and not os.path.lexists(package / "evil.py")
    assert (package / "__init__.py").read_text() == ""


def test_restore_returns_the_changes_it_undid(package):
    snapshot = PackageSnapshot.take(package)
    (package / "grading" / "lesson01.py").write_text("x = 1\n")
    assert snapshot.restore() == ["changed grading/lesson01.py"]
    assert snapshot.restore() == []


def test_a_file_replaced_by_a_link_or_a_folder_is_written_back(package):
    snapshot = PackageSnapshot.take(package)
    target = package.parent / "elsewhere.py"
    target.write_text("def verify(answer):\n    return True\n")
    (package / "grading" / "lesson01.py").unlink()
    (package / "grading" / "lesson01.py").symlink_to(target)
    (package / "grading" / "__init__.py").unlink()
    (package / "grading" / "__init__.py").mkdir()
    assert snapshot.restore() == ["changed grading/__init__.py", "changed grading/lesson01.py"]
    assert not (package / "grading" / "lesson01.py").is_symlink()
    assert (package / "grading" / "lesson01.py").read_text().endswith("answer == 0.01\n")
    assert (package / "grading" / "__init__.py").is_file()
    assert target.read_text().endswith("return True\n")                 # the link's target is left alone


def test_bytecode_is_not_compared_but_deleted_on_request(package):
    snapshot = PackageSnapshot.take(package)
    (package / "grading" / "__pycache__" / "lesson01.cpython-311.pyc").write_bytes(b"forged")
    assert snapshot.changes() == []
    assert snapshot.restore(bytecode=True) == []
    assert not (package / "grading" / "__pycache__").exists()


def test_the_default_snapshot_is_this_package():
    snapshot = PackageSnapshot.take()
    assert snapshot.root == PACKAGE_DIR
    assert "lessons/lesson01_learning_rate_oscillation/exercises.py" in snapshot.files
    assert "instructor/integrity.py" in snapshot.files and snapshot.changes() == []
    assert not any("__pycache__" in rel for rel in [*snapshot.files, *snapshot.folders])
