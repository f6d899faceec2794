import os
import stat

import pytest

from lstm_lessons.files import atomic_write, write_atomically


def test_a_write_replaces_the_file_whole_with_the_permissions_of_a_new_file(tmp_path):
    path = tmp_path / "sub" / "grades.csv"
    write_atomically(path, "old\n")
    write_atomically(path, "new, é\n")
    assert path.read_text(encoding="utf-8") == "new, é\n"
    write_atomically(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert os.listdir(path.parent) == ["grades.csv"]          # no temporary left behind
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask   # not mkstemp's 0o600


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, failure):
    path = tmp_path / "best.keras"
    path.write_bytes(b"good")
    with pytest.raises(type(failure)):
        with atomic_write(path, suffix=".tmp.keras") as temporary:
            assert temporary.parent == tmp_path and temporary.name.endswith(".tmp.keras")
            temporary.write_bytes(b"half")
            raise failure
    assert path.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["best.keras"]


def test_the_course_folders_are_found_through_a_link_or_gits_text_stand_in_for_one(tmp_path, monkeypatch):
    import importlib.resources

    from lstm_lessons import files

    package = tmp_path / "checkout" / "lstm_lessons"
    (package / "course").mkdir(parents=True)
    (tmp_path / "checkout" / "notebooks").mkdir()
    (tmp_path / "checkout" / "data").mkdir()
    (package / "course" / "notebooks").symlink_to("../../notebooks")
    # A clone without symbolic links (git's core.symlinks=false): the link's target as text.
    (package / "course" / "data").write_text("../../data")
    monkeypatch.setattr(importlib.resources, "files", lambda name: package)
    assert files.course_folder("notebooks") == (tmp_path / "checkout" / "notebooks").resolve()
    assert files.course_folder("data") == (tmp_path / "checkout" / "data").resolve()
    with pytest.raises(ValueError, match="name='solutions'.*notebooks"):
        files.course_folder("solutions")
